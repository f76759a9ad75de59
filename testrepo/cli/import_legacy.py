"""``testr import PATH``: bring a testrepository or stestr history along."""

from testrepo import api
from testrepo.cli.base import TestrepoCommand


class Import(TestrepoCommand):
    """Import a testrepository (.testrepository/) or stestr (.stestr/) repository.

    Copies its runs (subunit v1, converted to v2), its failing set and its
    timings (times.dbm) into this project's repository, which is created if
    needed and must hold no runs yet. A format 1 .testrepository/ sits where
    testrepo keeps its own repository, so move it aside first:

        mv .testrepository .testrepository.v1 && testr import .testrepository.v1
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("path", metavar="PATH",
                            help="The repository directory, or a project directory "
                                 "holding .testrepository/ or .stestr/.")
        return parser

    def take_action(self, parsed_args):
        outcome = api.import_repository(self.app.project, parsed_args.path)
        self.app.stdout.write(_describe(outcome))
        return 0


def _describe(outcome) -> str:
    if not outcome.run_ids:
        runs = "no runs"
    else:
        runs = (f"{len(outcome.run_ids)} runs ({_span(outcome.legacy_ids)}) "
                f"as runs {_span(outcome.run_ids)}")
    return (f"Imported {runs} from {outcome.source}.\n"
            f"Failing tests: {outcome.failing}. Durations only found in times.dbm: "
            f"{outcome.durations_from_times_db}.\n")


def _span(run_ids) -> str:
    if list(run_ids) == list(range(run_ids[0], run_ids[-1] + 1)):
        return f"{run_ids[0]}-{run_ids[-1]}" if len(run_ids) > 1 else str(run_ids[0])
    return ", ".join(str(run_id) for run_id in run_ids)
