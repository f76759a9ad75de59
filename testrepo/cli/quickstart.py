"""``testr quickstart``: a short tour."""

from testrepo.cli.base import TestrepoCommand

TOUR = """\
testr runs your unittest (or any subunit-emitting) tests in parallel and
keeps every run in a repository (.testrepository/), so you can ask what
failed, rerun just that, and look back.

1. Configure (optional). With a tests/ directory, or test*.py files in a
   package, `testr run` works without configuration. To pin it down:

       testr init --write-config     # writes .testr.conf for this project

   An existing testr .testr.conf (test_command=...) or stestr .stestr.conf
   is used as it is.

2. Run tests:

       testr run                     # everything, one worker per CPU
       testr run login -j 4          # tests whose id matches 'login', 4 workers
       testr list login              # which tests that would run

3. Look at the results:

       testr last                    # failures and totals of the latest run
       testr failing --list          # the tests failing now
       testr run --failing           # rerun only those
       testr slowest                 # the slowest tests of the latest run

4. Look back:

       testr history list            # every run: counts, runtime, start
       testr history show 3          # run 3, like `testr last`
       testr history remove 3        # forget run 3

5. Coming from testrepository or stestr? Bring the history along:

       mv .testrepository .testrepository.v1 && testr import .testrepository.v1
       testr import .stestr

Defaults for any command go in ~/.config/testr.yaml, e.g.

    run:
      concurrency: 4

`testr help` lists the commands, `testr help COMMAND` explains one; doc/ in
the source has the details.
"""


class Quickstart(TestrepoCommand):
    """A short tour of testr: configure, run, inspect, look back, migrate."""

    def take_action(self, parsed_args):
        self.app.stdout.write(TOUR)
        return 0
