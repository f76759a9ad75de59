"""The run plan: what one ``testr run`` will do, decided before anything runs.

Pure: no process is started and no file is read.  :func:`check_options`
and :func:`plan_run` hold every run-mode conflict in one table
(:data:`CONFLICTS`); :func:`plan_run` turns the configuration, the options,
the selection, the resolved concurrency and the worker file's entries into
a :class:`RunPlan` (which runner, how many workers, whether to list and
what); :meth:`RunPlan.schedule` turns the selected ids and their durations
into the work: a queue for the built-in runner, partitions for command
mode.  The executors in :mod:`testrepo.api` carry a plan out::

    plan = plan_run(config, RunOptions(isolated=True), Selection(), 4)
    plan.command_mode, plan.workers, plan.isolated   -> False, 4, True
    plan.schedule(['a', 'b'], {}, None, None).work   -> SingleTestQueue(['a', 'b'])
"""

from __future__ import annotations

import dataclasses
from typing import Callable, List, Mapping, Optional, Sequence, Tuple

from testrepo import errors
from testrepo.execution import template
from testrepo.options import RunOptions, Selection
from testrepo.scheduler import file_queue, pinned, queue, static, worker_file
from testrepo.scheduler.file_queue import Collected

# Metadata keys testrepo sets itself; --metadata may not override them.
RESERVED_METADATA = ("concurrency", "seed", "isolated", "worker_file", "shard", "queue")

# Said once per run: the order a seed gives is not the order that runs.
RANDOM_IN_A_FILE = (
    "--random: test_command gets its test ids in a file ($IDFILE), and subunit.run, "
    "testtools.run and stestr run such a load list in their own discovery order, not "
    "the file's: each worker may run its tests in listing order whatever the seed. "
    "Put $IDLIST in test_command to run the seed's order.\n")


def _single(options: RunOptions) -> Optional[str]:
    """The flag naming the one test to run, if any."""
    return "--pdb" if options.pdb else "--no-discover" if options.no_discover else None


def _reserved_key(options: RunOptions) -> Optional[str]:
    return next((key for key, _ in options.metadata if key in RESERVED_METADATA), None)


# pytest-xdist's options that distribute tests (its workers inside ours).
_XDIST_OPTIONS = ("-n", "--numprocesses", "--dist", "-d", "--tx", "--maxprocesses")


def xdist_option(test_args: Sequence[str]) -> Optional[str]:
    """The first pytest-xdist distribution option in ``test_args``."""
    for arg in test_args:
        name = arg.split("=", 1)[0]
        if name in _XDIST_OPTIONS or (arg.startswith("-n") and arg[2:].isalnum()):
            return name if name in _XDIST_OPTIONS else "-n"
    return None


def needs_ids(options: RunOptions) -> bool:
    """Modes that must know the test ids (command mode lists for them)."""
    return bool(options.isolated or options.worker_file or options.no_discover
                or options.retry or options.shard)


# Every combination that cannot mean anything: (needs the config, applies
# to (config, selection, options), the usage error).  The rows that need no
# config are checked before anything is opened (check_options), the others
# once the config is loaded (plan_run).  Messages may name {single} (--pdb
# or --no-discover) and {key} (a reserved --metadata key).
Conflict = Tuple[bool, Callable[[object, Selection, RunOptions], object], str]
CONFLICTS: Tuple[Conflict, ...] = (
    (False, lambda c, s, o: o.pdb and o.until_failure,
     "--pdb cannot be combined with --until-failure"),
    (False, lambda c, s, o: o.pdb and o.no_discover,
     "--pdb and --no-discover both name the one test to run; give one of them"),
    (False, lambda c, s, o: _single(o) and s.restricted,
     "{single} runs exactly the test it names; it takes no filters, lists or --failing"),
    (False, lambda c, s, o: o.isolated and o.worker_file,
     "--isolated runs each test in its own process; it cannot follow a --worker-file"),
    (False, lambda c, s, o: o.until_failure and o.combine,
     "--until-failure stores each run on its own; it cannot --combine them"),
    (False, lambda c, s, o: o.analyze_isolation and (o.until_failure or o.combine or _single(o)),
     "--analyze-isolation cannot be combined with --until-failure, --combine, --pdb or "
     "--no-discover"),
    (False, lambda c, s, o: o.shard and (_single(o) or o.worker_file or o.combine
                                         or o.analyze_isolation),
     "--shard runs one part of the selected tests; it cannot be combined with --pdb, "
     "--no-discover, --worker-file, --combine or --analyze-isolation"),
    (False, lambda c, s, o: o.queue and (_single(o) or o.worker_file or o.combine or o.isolated
                                         or o.until_failure or o.analyze_isolation or o.random),
     "--queue shares one build's tests between nodes; it cannot be combined with --pdb, "
     "--no-discover, --worker-file, --combine, --isolated, --until-failure, "
     "--analyze-isolation or --random"),
    (False, lambda c, s, o: _reserved_key(o),
     "--metadata {key}=...: '{key}' is recorded by testrepo itself; use another key"),
    (True, lambda c, s, o: not c.takes_test_args and o.test_args,
     "arguments after `--` are passed to test_command (or to pytest, with runner = "
     "pytest); the built-in runner (test_path) takes none"),
    (True, lambda c, s, o: c.runner == "pytest" and _single(o),
     "{single} is not available with runner = pytest; run that test with pytest itself "
     "(pytest --pdb NODEID)"),
    (True, lambda c, s, o: c.runner == "pytest" and xdist_option(o.test_args),
     "arguments after `--`: {xdist} is pytest-xdist's; testr runs the workers itself "
     "(testr run --concurrency N), remove {xdist}"),
    (True, lambda c, s, o: c.command_mode and needs_ids(o) and not template.takes_ids(c),
     "test_command has no $IDOPTION, $IDFILE or $IDLIST, so it cannot be told which "
     "tests to run; --isolated, --worker-file, --no-discover and --shard need one of them"),
    (True, lambda c, s, o: c.command_mode and o.queue,
     "--queue needs the built-in runner (test_path), whose workers pull tests as they go; "
     "in command mode use --shard K/N"),
)


def _check(config, selection: Selection, options: RunOptions, with_config: bool) -> None:
    for needs_config, applies, message in CONFLICTS:
        if needs_config == with_config and applies(config, selection, options):
            raise errors.UsageError(message.format(single=_single(options),
                                                   key=_reserved_key(options),
                                                   xdist=xdist_option(options.test_args)))


def check_options(selection: Selection, options: RunOptions) -> None:
    """The conflicts the options alone show (before any config is read)."""
    _check(None, selection, options, with_config=False)


def check_config(config, selection: Selection, options: RunOptions) -> None:
    """The conflicts of the options with the config (plan_run checks them
    too; a run checks them before the I/O the plan needs)."""
    _check(config, selection, options, with_config=True)


@dataclasses.dataclass(frozen=True)
class Schedule:
    """The work of a run: ``work`` is a queue (built-in runner) or a list
    of partitions (command mode; ``[None]``: one command, no id list);
    ``note`` is said before the run (the worker file's assignment)."""

    work: object
    note: str = ""


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """How an ordinary run goes (the wrapping modes, --until-failure,
    --pdb and --analyze-isolation, call the ordinary run or replace it)."""

    command_mode: bool
    workers: int  # 0: one per test, once the ids are known
    list_first: bool  # command mode: list (or name the test) before running
    load_name: Optional[str] = None  # --no-discover: this test instead of a listing
    isolated: bool = False
    worker_entries: Optional[tuple] = None  # --worker-file
    random_note: str = ""  # said with --random when the order cannot be kept
    provision: int = 0  # command mode: instances to provision (instance_* callouts)
    runner: str = "unittest"  # the built-in runner's workers: "unittest" or "pytest"
    randomly_seed: Optional[int] = None  # runner = pytest: every worker's pytest-randomly seed

    def max_live(self, test_ids: Sequence[str]) -> Optional[int]:
        """Command mode --isolated: at most this many processes at once."""
        return self.workers_for(test_ids) if self.isolated else None

    def workers_for(self, test_ids: Sequence[str]) -> int:
        return self.workers or max(1, len(test_ids))

    def schedule(self, test_ids: Optional[List[str]], durations: Mapping[str, float],
                 group_of, rng, collected: Optional[Collected] = None) -> Schedule:
        """The queue or partitions for the selected ``test_ids``;
        ``collected``: what each pytest worker has collected (None: the
        whole suite; worker 0 alone, if not given)."""
        if self.command_mode:
            return self._partitions(test_ids, durations, group_of, rng)
        return self._queue(test_ids, durations, group_of, rng,
                           {0: None} if collected is None else collected)

    def retry_work(self, test_ids: List[str]):
        """The work of a --retry pass over ``test_ids``: a queue over one
        fresh worker per test, or one partition."""
        if self.command_mode:
            return [test_ids]
        return queue.WorkQueue.build(test_ids, len(test_ids), {})

    def _queue(self, test_ids, durations, group_of, rng, collected) -> Schedule:
        workers = self.workers_for(test_ids)
        if self.isolated:
            ordered = list(test_ids)
            if rng is not None:
                rng.shuffle(ordered)
            return Schedule(pinned.SingleTestQueue(ordered))
        if len(test_ids) <= workers and group_of is None and self.worker_entries is None:
            # A worker for every test (test_run_concurrency 0): one test each.
            ordered = test_ids if rng is None else rng.sample(test_ids, len(test_ids))
            return Schedule(pinned.SingleTestQueue(ordered))
        if self.worker_entries is not None:
            assignment = worker_file.assign(test_ids, self.worker_entries)
            return Schedule(worker_file.build_queue(assignment, self.worker_entries, durations,
                                                    group_of, rng),
                            worker_file.describe(assignment, self.worker_entries))
        if self.runner == "pytest":
            return Schedule(file_queue.FileQueue.build(test_ids, workers, durations, group_of,
                                                       rng, collected))
        return Schedule(queue.WorkQueue.build(test_ids, workers, durations, group_of, rng))

    def _partitions(self, test_ids, durations, group_of, rng) -> Schedule:
        if test_ids is None:
            return Schedule([None])
        note = ""
        if self.isolated:
            partitions = [[test_id] for test_id in test_ids]
        elif self.worker_entries is not None:
            assignment = worker_file.assign(test_ids, self.worker_entries)
            note = worker_file.describe(assignment, self.worker_entries)
            partitions = worker_file.partition(assignment, self.worker_entries, durations,
                                               group_of)
        else:
            partitions = static.partition(test_ids, self.workers_for(test_ids), durations,
                                          group_of)
        if rng is not None:
            partitions = static.shuffle_within(partitions, rng, group_of)
        return Schedule([part for part in partitions if part], note)


def plan_run(config, options: RunOptions, selection: Selection, concurrency: int,
             worker_entries: Optional[Sequence] = None) -> RunPlan:
    """The plan of an ordinary run.  ``concurrency`` is the resolved one
    (0: one worker per test); ``worker_entries`` the --worker-file's,
    already read.  Raises UsageError for a conflict of the config's."""
    check_config(config, selection, options)
    entries = tuple(worker_entries) if worker_entries is not None else None
    if entries is not None:
        concurrency = worker_file.worker_count(entries)
    elif options.no_discover:
        concurrency = 1
    load_name = options.no_discover or None
    if not config.command_mode:
        return RunPlan(False, concurrency, list_first=True, load_name=load_name,
                       isolated=options.isolated, worker_entries=entries,
                       runner=config.runner or "unittest")
    provision = concurrency
    if not template.takes_ids(config):
        concurrency = 1
    list_first = bool(concurrency != 1 or selection.restricted or options.random
                      or needs_ids(options))
    random_note = RANDOM_IN_A_FILE if options.random and ids_in_a_file(config) else ""
    return RunPlan(True, concurrency, list_first, load_name, options.isolated, entries,
                   random_note, provision)


def ids_in_a_file(config) -> bool:
    """Whether test_command is given its ids as a file (``$IDFILE``, itself
    or through ``test_id_option``).  The common runners that take a file
    (``--load-list`` of subunit.run, testtools.run, stestr) use it as a
    filter on their discovered suite, so the file's order is lost; ids on
    the command line (``$IDLIST``) are loaded in the order given.  We
    cannot make a file's order real from outside the runner, so the run
    says so instead of pretending."""
    command, option = config.test_command or "", config.test_id_option or ""
    return "$IDFILE" in command or ("$IDOPTION" in command and "$IDFILE" in option)
