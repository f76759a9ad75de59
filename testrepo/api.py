"""The library API: everything a ``testr`` command does, callable from
Python (Tempest-style embedding).  Functions take a :class:`Project`, an
options object and the streams to write to, and return result objects; they
never print to ``sys.stdout``, call ``sys.exit`` or read ``input``.
"""

from __future__ import annotations

import dataclasses
import io
import os
import random
import shutil
import subprocess
import tempfile
import time
from typing import BinaryIO, Dict, List, Optional, Sequence, TextIO

from testrepo import errors, repository
from testrepo._lazy import LazyModule
from testrepo.errors import EXIT_INTERRUPTED, EXIT_SUCCESS, EXIT_TESTS_FAILED
from testrepo.options import OutputOptions, Project, RunOptions, Selection
from testrepo.reports import trace
from testrepo.results import stream

# Imported on first use: reading commands (last, failing, stats, history)
# need none of these, and together they cost more than the rest of them.
config_module = LazyModule("testrepo.config")
isolation = LazyModule("testrepo.isolation")
scheduler = LazyModule("testrepo.scheduler")
selection_module = LazyModule("testrepo.selection")
commands = LazyModule("testrepo.execution.commands")
direct = LazyModule("testrepo.execution.direct")
instances = LazyModule("testrepo.execution.instances")
listing = LazyModule("testrepo.execution.listing")
pool = LazyModule("testrepo.execution.pool")
template = LazyModule("testrepo.execution.template")
workers = LazyModule("testrepo.execution.workers")
_filters = LazyModule("testrepo.results.filters")
_pipeline = LazyModule("testrepo.results.pipeline")
_retry = LazyModule("testrepo.retry")
worker_file = LazyModule("testrepo.scheduler.worker_file")
_pinned = LazyModule("testrepo.scheduler.pinned")
_queue = LazyModule("testrepo.scheduler.queue")


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """What a run or load produced: the stored run id (``None`` when nothing
    ran), its summary record and the exit code the CLI returns."""

    run_id: Optional[int]
    record: Optional[object]
    exit_code: int


def repository_url(project: Project) -> str:
    """``--repo-url``, else the config's ``repo_url`` (a relative path in it
    is relative to the project directory), else ``.testrepository``."""
    if project.repo_url:
        return project.repo_url
    configured = config_module.repository_url(project.directory, project.config_path)
    if configured:
        return _project_relative(project.directory, configured)
    return os.path.join(project.directory, repository.DEFAULT_DIRNAME)


def _project_relative(directory: str, url: str) -> str:
    """Anchor a relative path in a configured URL at the project directory."""
    sqlite_prefix = "sqlite:///"
    if url.startswith(sqlite_prefix) and not url.startswith(sqlite_prefix + "/"):
        return sqlite_prefix + os.path.join(directory, url[len(sqlite_prefix):])
    if repository.is_sql_url(url):
        return url
    return os.path.join(directory, repository.repository_path(url))


def repair(project: Project):
    """Rebuild the file repository's index from its stored runs (see
    :mod:`testrepo.repository.repair`); returns a ``RepairReport``."""
    from testrepo.repository.repair import repair as rebuild

    url = repository_url(project)
    if repository.is_sql_url(url):
        raise errors.UsageError(
            "testr repair rebuilds file repositories; %s is a SQL repository, which its "
            "database keeps consistent (every run is stored in one transaction)." % url)
    return rebuild(repository.repository_path(url))


def init(project: Project):
    """Create an empty repository; :class:`RepositoryExists` if there is one."""
    return repository.initialise_repository(repository_url(project))


def open_repository(project: Project, create: bool = False, out: Optional[TextIO] = None):
    """Open the project's repository, creating it when ``create`` is true
    and there is none yet.  With ``out``, runs left half-written by a killed
    testr are first stored as interrupted runs, and ``out`` is told."""
    url = repository_url(project)
    try:
        repo = repository.open_repository(url)
    except errors.RepositoryNotFound:
        if not create:
            raise
        try:
            return repository.initialise_repository(url)
        except errors.RepositoryExists:
            # Another process (a fleet's first jobs start together) created
            # it between our two calls: use theirs.
            repo = repository.open_repository(url)
    if out is not None:
        for record in repo.recover_orphans():
            out.write(f"Recovered run {record.run_id} ({record.total} results) that a killed "
                      "testr process left half-written; it is stored as an interrupted, "
                      "partial run.\n")
    return repo


def load_config(project: Project):
    return config_module.load(project.directory, project.config_path)


# --- listing and selection -------------------------------------------------

def list_tests(project: Project, selection: Selection, test_args: Sequence[str] = ()) -> List[str]:
    """The ids ``run`` would run with the same selection, in run order."""
    config = load_config(project)
    failing_ids = None
    if selection.failing:
        failing_ids = open_repository(project).failing_ids()
    listed = listing.read_test_ids(commands.list_command(config, project.directory, test_args))
    context = _Run(project, config, None, selection, RunOptions(), OutputOptions(), None,
                   failing_ids)
    return _filter(context, listed)


def _filter(context, listed: Sequence[str]) -> List[str]:
    """The listed ids the selection keeps (see :mod:`testrepo.selection`)."""
    selection = context.selection
    criteria = selection_module.read_criteria(selection, context.failing_ids,
                                              context.project.directory)
    selected = selection_module.select(listed, criteria)
    if not selected and listed and selection.restricted and not selection.failing:
        raise errors.UsageError(
            "no test matched the given filters/lists "
            f"({len(listed)} tests listed); check them with `testr list`")
    return selected


# --- running ---------------------------------------------------------------

def resolve_concurrency(options: RunOptions, config, directory: str) -> int:
    """CLI value, then ``test_run_concurrency``, then usable CPUs."""
    if options.serial:
        return 1
    if options.concurrency:
        if options.concurrency < 0:
            raise errors.UsageError(
                f"--concurrency must be 0 (auto) or a positive number, got {options.concurrency}")
        return options.concurrency
    if config.test_run_concurrency:
        return _callout_concurrency(config, directory)
    return _usable_cpus()


def _usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _callout_concurrency(config, directory: str) -> int:
    proc = subprocess.run(config.test_run_concurrency, shell=True, cwd=directory,
                          capture_output=True, stdin=subprocess.DEVNULL)
    first = (proc.stdout.decode("utf-8", "replace").splitlines() or [""])[0].strip()
    if proc.returncode != 0 or not first.isdigit():
        raise errors.ConfigError(
            f"{config.source}: test_run_concurrency `{config.test_run_concurrency}` "
            f"must print a non-negative integer (exit {proc.returncode}, printed {first!r})")
    # testr's documentation: 0 means one partition per test (resolved by
    # the caller once the test ids are known).
    return int(first)


@dataclasses.dataclass
class _Run:
    """What one ``run`` call works with, passed between its steps."""

    project: Project
    config: object
    repo: object
    selection: Selection
    options: RunOptions
    output: OutputOptions
    out: TextIO
    failing_ids: Optional[List[str]]
    worker_entries: Optional[list] = None  # --worker-file, read once
    instances: Optional[object] = None  # instance_* callouts (command mode)

    def say(self, text: str) -> None:
        if not self.output.subunit:
            self.out.write(text)

    def begin(self, test_ids, concurrency):
        """Seed, durations, grouping and the inserter for ``test_ids``."""
        metadata: Dict[str, str] = {"concurrency": str(concurrency)}
        metadata.update(origin_metadata(os.environ))
        metadata.update(_mode_metadata(self.options))
        rng = _random_order(self.options, metadata, self)
        config = self.config
        group_of = scheduler.group_function(config.group_regex, config.parallel_class)
        durations = self.repo.durations(test_ids) if test_ids else {}
        partial = self.options.partial or self.selection.restricted
        inserter = _open_inserter(self, partial, metadata)
        return inserter, rng, durations, group_of


def run(project: Project, selection: Selection, options: RunOptions,
        output: OutputOptions, out: TextIO) -> RunOutcome:
    """List, select, schedule, run in parallel, store and report.

    With ``output.subunit`` the merged v2 stream goes to ``out.buffer``.
    """
    special = _run_mode(project, selection, options, output, out)
    if special is not None:
        return special
    config = load_config(project)
    repo = open_repository(project, create=True, out=None if output.subunit else out)
    failing_ids = repo.failing_ids() if selection.failing else None
    context = _Run(project, config, repo, selection, options, output, out, failing_ids)
    if selection.failing and not failing_ids:
        context.say("No failing tests to run.\n")
        return RunOutcome(None, None, EXIT_SUCCESS)
    _check_supported(config, options, project.directory)
    concurrency = resolve_concurrency(options, config, project.directory)
    concurrency = _plan_workers(context, concurrency)
    if config.command_mode:
        with instances.provisioned(config, project.directory, concurrency) as context.instances:
            return _run_command_mode(context, concurrency)
    return _run_builtin(context, concurrency)


def _nothing_to_rerun(context: _Run, test_ids) -> Optional[RunOutcome]:
    if context.selection.failing and test_ids == []:
        context.say(f"None of the {len(context.failing_ids)} failing test(s) is in the current "
                    "test listing (e.g. process-returncode); a full `testr run` clears them.\n")
        return RunOutcome(None, None, EXIT_SUCCESS)
    return None


def _run_builtin(context: _Run, concurrency: int) -> RunOutcome:
    """The built-in runner: workers start at once and discover the suite
    while worker 0's listing is filtered; then they pull batches."""
    config = context.config
    workers = pool.WorkerPool(_builtin_argv(context), context.project.directory,
                              concurrency or 1, _timeout(context.options, config),
                              context.options.max_restarts, isolated=context.options.isolated)
    try:
        workers.start()
        test_ids = _filter(context, workers.listing())
        done = _nothing_to_rerun(context, test_ids)
        if done is not None:
            return done
        if not concurrency:  # test_run_concurrency printed 0: one worker per test
            concurrency = max(1, len(test_ids))
            workers.grow(concurrency)
        inserter, rng, durations, group_of = context.begin(test_ids, concurrency)
        work = _work_queue(context, test_ids, concurrency, durations, group_of, rng)

        def feed(sink):
            sink.expect(test_ids, durations)
            workers.run(work, sink)
            _retry.retry_failures(sink, inserter, test_ids, context.options.retry,
                           lambda failed, into: _rerun_builtin(context, failed, into))

        return _stream_run(inserter, context.output, context.out, feed)
    finally:
        workers.close()


def _rerun_builtin(context: _Run, test_ids: List[str], sink) -> None:
    """``--retry``: ``test_ids`` again, in a pool of fresh workers."""
    config, options = context.config, context.options
    fresh = pool.WorkerPool(_builtin_argv(context), context.project.directory,
                            min(_usable_cpus(), len(test_ids)), _timeout(options, config),
                            options.max_restarts)
    try:
        fresh.start()
        fresh.run(_queue.WorkQueue.build(test_ids, len(test_ids), {}), sink)
    finally:
        fresh.close()


def _run_command_mode(context: _Run, concurrency: int) -> RunOutcome:
    """testr's way: list once, split into static partitions, one
    ``test_command`` per partition."""
    config, selection = context.config, context.selection
    if not template.takes_ids(config):
        concurrency = 1
    test_ids = None
    if concurrency != 1 or selection.restricted or context.options.random or _needs_ids(context):
        listed = _read_listing(context)
        test_ids = _filter(context, listed)
        done = _nothing_to_rerun(context, test_ids)
        if done is not None:
            return done
        concurrency = concurrency or max(1, len(test_ids))
    inserter, rng, durations, group_of = context.begin(test_ids, concurrency)
    if rng is not None and _ids_in_a_file(config):
        context.say(_RANDOM_IN_A_FILE)
    if test_ids is None:
        partitions = [None]
    else:
        partitions = (_planned_partitions(context, test_ids, durations, group_of)
                      or scheduler.partition(test_ids, concurrency, durations, group_of))
        if rng is not None:
            partitions = scheduler.shuffle_within(partitions, rng, group_of)
        partitions = [part for part in partitions if part]
    return _run_partitions(context.project, config, partitions, inserter, context.output,
                           context.out, context.options, _command_extras(context, concurrency))


def _check_supported(config, options: RunOptions, directory: str) -> None:
    """Refuse, clearly, what would otherwise be silently ignored."""
    if not config.command_mode:
        if options.test_args:
            raise errors.UsageError(
                "arguments after `--` are passed to test_command; the built-in runner "
                "(test_path) takes none")
        test_path = os.path.join(directory, config.test_path or ".")
        if not os.path.isdir(test_path):
            raise errors.ConfigError(
                f"{config.source or 'zero-config'}: test_path: directory "
                f"'{config.test_path}' does not exist (relative to {directory})")


# Said once per run: the order a seed gives is not the order that runs.
_RANDOM_IN_A_FILE = (
    "--random: test_command gets its test ids in a file ($IDFILE), and subunit.run, "
    "testtools.run and stestr run such a load list in their own discovery order, not "
    "the file's: each worker may run its tests in listing order whatever the seed. "
    "Put $IDLIST in test_command to run the seed's order.\n")


def _ids_in_a_file(config) -> bool:
    """Whether test_command is given its ids as a file (``$IDFILE``, itself
    or through ``test_id_option``).  The common runners that take a file
    (``--load-list`` of subunit.run, testtools.run, stestr) use it as a
    filter on their discovered suite, so the file's order is lost; ids on
    the command line (``$IDLIST``) are loaded in the order given.  We
    cannot make a file's order real from outside the runner, so the run
    says so instead of pretending."""
    command, option = config.test_command or "", config.test_id_option or ""
    return "$IDFILE" in command or ("$IDOPTION" in command and "$IDFILE" in option)


def _random_order(options: RunOptions, metadata, context: _Run) -> Optional[random.Random]:
    """The seeded generator for ``--random`` (the seed goes into the run's
    metadata), or None."""
    if not options.random:
        return None
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(2 ** 32)
    metadata["seed"] = str(seed)
    context.say(f"Running in random order with seed {seed} (rerun: --random --seed {seed})\n")
    return random.Random(seed)


def _run_partitions(project, config, partitions, inserter, output, out, options,
                    extras=None) -> RunOutcome:
    """Command mode: one test command per partition, output parsed as v2;
    ``extras`` (a ``_CommandExtras``) wraps commands in instances and
    limits how many run at once."""
    id_dir = tempfile.mkdtemp(prefix="testrepo-ids-")
    launches = iter(range(1 << 30))
    extras = extras or _CommandExtras()

    def make_command(worker, test_ids):
        command = _worker_command(project, config, test_ids, id_dir, next(launches), options)
        return extras.wrap(command, worker)

    def run_partitions(parts, sink):
        workers.CommandRunner(parts, make_command, sink.result, _timeout(options, config),
                              options.max_restarts, idle=sink.flush,
                              max_live=extras.max_live, heartbeat=sink.heartbeat).run()

    def feed(sink):
        run_partitions(partitions, sink)
        planned = [test_id for part in partitions if part for test_id in part]
        _retry.retry_failures(sink, inserter, planned, options.retry,
                       lambda failed, into: run_partitions([failed], into))

    try:
        return _stream_run(inserter, output, out, feed)
    finally:
        shutil.rmtree(id_dir, ignore_errors=True)


def _timeout(options: RunOptions, config) -> Optional[float]:
    return options.timeout if options.timeout is not None else config.test_timeout


def _worker_command(project, config, test_ids, id_dir, index, options):
    id_file = None
    if test_ids is not None:
        id_file = os.path.join(id_dir, f"worker-{index}.list")
        with open(id_file, "w", encoding="utf-8") as handle:
            handle.write("".join(test_id + "\n" for test_id in test_ids))
    return commands.run_command(config, project.directory, test_ids, id_file, options.test_args)


def _stream_run(inserter, output, out, feed) -> RunOutcome:
    """Feed events through a fresh pipeline into the repository and report.

    Ctrl-C stores what ran as an interrupted run and returns exit 130.
    """
    subunit_out = None
    if output.subunit:
        out.flush()
        subunit_out = getattr(out, "buffer", out)
    else:
        out = _pipeline.TolerantOutput(out)
    pipeline = _pipeline.Pipeline(inserter, out, show_passes=not output.quiet,
                        color=bool(output.color), subunit_out=subunit_out,
                        abbreviate=output.abbreviate, attachments=output.attachments,
                        progress=output.progress)
    started = time.monotonic()
    pipeline.result.startTestRun()
    interrupted = False
    try:
        feed(pipeline)
    except KeyboardInterrupt:
        interrupted = True
        inserter.mark_interrupted()
        if subunit_out is None:
            pipeline.interrupted(time.monotonic())
    finally:
        pipeline.result.stopTestRun()
    record = inserter.record
    if subunit_out is not None:
        subunit_out.flush()
    else:
        if record.total == 0:
            out.write("No tests were run.\n")
        trace.write_summary(out, record, time.monotonic() - started, pipeline.balance)
    return RunOutcome(inserter.run_id, record, _exit_code(record, interrupted))


def _exit_code(record, interrupted: bool) -> int:
    """130 if interrupted; 1 if anything failed or nothing ran at all (a
    gate must not pass on an empty run); else 0."""
    if interrupted:
        return EXIT_INTERRUPTED
    if record.failed or record.total == 0:
        return EXIT_TESTS_FAILED
    return EXIT_SUCCESS


# --- loading streams -------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class LoadOptions:
    partial: bool = False
    force_init: bool = False
    run_id: Optional[int] = None  # add to this stored run (load --id) instead of a new one


def load(project: Project, streams: Sequence[BinaryIO], options: LoadOptions,
         output: OutputOptions, out: TextIO) -> RunOutcome:
    """Store v2 streams as one run; stream N is tagged ``worker-N``.

    Every stream is read and checked before anything is stored: a corrupt
    or truncated one is a :class:`UsageError` and the repository is left
    unchanged, unless ``options.partial`` asks to keep what came before the
    damage.
    """
    decoded = [_decode_stream(source, options.partial) for source in streams]
    repo = open_repository(project, create=options.force_init,
                           out=None if output.subunit else out)
    inserter = _load_inserter(repo, options, project)

    def feed(sink):
        for index, events in enumerate(decoded):
            tagger = _filters.WorkerTagger(sink.result, index)
            for event in events:
                tagger.status(**event.as_status())

    return _stream_run(inserter, output, out, feed)


def _decode_stream(source: BinaryIO, partial: bool) -> list:
    from testrepo import subunit_v2

    name = getattr(source, "name", "the stream")
    name = "standard input" if name == "<stdin>" else name
    try:
        data = source.read()
    except OSError as err:
        raise errors.UsageError(f"cannot read {name}: {err}") from err
    events = []
    for event in subunit_v2.iter_events(data):
        if event.test_id == "subunit.parser":
            if partial:
                break
            reason = event.file_bytes.decode("utf-8", "replace")
            raise errors.UsageError(
                f"{name} is not a valid subunit v2 stream ({reason} after "
                f"{len(events)} good events); nothing was stored. Pass --partial to "
                "store the events before the damage.")
        events.append(event)
    if not any(event.test_id and event.status for event in events):
        raise errors.UsageError(
            f"{name} holds no test results (is it subunit v2? v1 streams need "
            "`subunit-1to2` first); nothing was stored.")
    return events


# --- reading the repository ------------------------------------------------

def _show_run(run, output: OutputOptions, out: TextIO) -> int:
    if output.subunit:
        out.flush()
        with run.stream() as stored:
            shutil.copyfileobj(stored, getattr(out, "buffer", out))
        return EXIT_TESTS_FAILED if run.record.failed else EXIT_SUCCESS
    # Only the run's failures are shown, and the index holds them: a run of
    # 20,000 tests is never re-parsed.
    reporter = trace.TraceReporter(out, show_passes=False, color=bool(output.color))
    stream.show(run.failures(), reporter)
    trace.write_summary(out, run.record)
    return EXIT_TESTS_FAILED if run.record.failed else EXIT_SUCCESS


def last(project: Project, output: OutputOptions, out: TextIO) -> RunOutcome:
    """Show the latest run: its failures and summary (exit 1 if it failed)."""
    repo = open_repository(project, out=None if output.subunit else out)
    run = repo.get_run(repo.latest_id())
    return RunOutcome(run.run_id, run.record, _show_run(run, output, out))


def failing(project: Project, output: OutputOptions, list_only: bool, out: TextIO) -> int:
    """Show the current failing set; exit 1 when it is not empty."""
    repo = open_repository(project)
    failing_ids = repo.failing_ids()
    if list_only:
        out.write("".join(test_id + "\n" for test_id in failing_ids))
    elif output.subunit:
        out.flush()
        getattr(out, "buffer", out).write(repo.failing_stream())
    else:
        reporter = trace.TraceReporter(out, show_passes=False, color=bool(output.color))
        stream.show(repo.failing_stream(), reporter)
        out.write(f"{len(failing_ids)} failing test(s)\n")
    return EXIT_TESTS_FAILED if failing_ids else EXIT_SUCCESS


def slowest(project: Project, show_all: bool = False) -> List[tuple]:
    """(test id, seconds) of the latest run, slowest first (top 10 unless
    ``show_all``)."""
    repo = open_repository(project)
    return repo.slowest(repo.latest_id(), None if show_all else 10)


def stats(project: Project) -> Dict[str, object]:
    """Repository statistics, from the index only."""
    repo = open_repository(project)
    records = repo.runs()
    latest = records[-1] if records else None
    return {
        "runs": len(records),
        "latest run": latest.run_id if latest else None,
        "latest passed": latest.passed if latest else None,
        "latest failed": latest.failed if latest else None,
        "latest skipped": latest.skipped if latest else None,
        "failing tests": len(repo.failing_ids()),
        "tests with timings": len(repo.durations()),
    }


# =============================================================================
# CI reports: compare runs, flaky tests, JUnit XML, HTML report (issue 6).
# Logic lives in testrepo.reports.{outcomes,compare,flaky,junit,html}; these
# functions resolve runs and files and do the I/O.
# =============================================================================

from typing import Tuple  # noqa: E402

compare_report = LazyModule("testrepo.reports.compare")
flaky_report = LazyModule("testrepo.reports.flaky")
html_report = LazyModule("testrepo.reports.html")
junit_report = LazyModule("testrepo.reports.junit")
_outcomes = LazyModule("testrepo.reports.outcomes")
_trends = LazyModule("testrepo.reports.trends")
_history_html = LazyModule("testrepo.reports.history_html")


def __getattr__(name):
    # Module attributes that need the report modules, loaded on first use.
    if name == "COMPARE_CATEGORIES":
        return compare_report.CATEGORIES
    if name == "FLAKY_COLUMNS":
        return flaky_report.COLUMNS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclasses.dataclass(frozen=True)
class CompareOptions:
    """``old``/``new``: a run id or a subunit v2 file (None: NEW is the
    latest run and OLD the run before it, or the latest run of
    ``old_repo``). ``ratio``/``absolute`` are the slower/faster thresholds;
    ``fail_on`` names categories that make the exit code 1."""

    old: Optional[str] = None
    new: Optional[str] = None
    old_repo: Optional[str] = None
    ratio: float = 2.0  # reports.compare.Thresholds' defaults
    absolute: float = 0.5
    json: bool = False
    fail_on: Tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class CompareOutcome:
    comparison: compare_report.Comparison
    exit_code: int


def compare(project: Project, options: CompareOptions, out: TextIO) -> CompareOutcome:
    """Compare two runs, write the report (text or JSON) to ``out``; exit 1
    when a category named in ``options.fail_on`` is not empty."""
    thresholds = _thresholds(options)
    unknown = [name for name in options.fail_on if name not in compare_report.CATEGORIES]
    if unknown:
        raise errors.UsageError(
            f"--fail-on {unknown[0]!r} is not a category; use one of "
            + ", ".join(compare_report.CATEGORIES))
    new = _compare_new(project, options.new)
    old = _compare_old(project, options, new)
    comparison = compare_report.compare(old, new, thresholds)
    if options.json:
        compare_report.write_json(comparison, out)
    else:
        compare_report.write_text(comparison, out)
    failed = compare_report.gate(comparison, options.fail_on)
    return CompareOutcome(comparison, EXIT_TESTS_FAILED if failed else EXIT_SUCCESS)


def _thresholds(options: CompareOptions) -> compare_report.Thresholds:
    if options.ratio < 1:
        raise errors.UsageError(f"--ratio must be at least 1, got {options.ratio:g}")
    if options.absolute < 0:
        raise errors.UsageError(f"--min-seconds must be 0 or more, got {options.absolute:g}")
    return compare_report.Thresholds(options.ratio, options.absolute)


def _is_run_id(spec: str) -> bool:
    return spec.isdigit()


def _compare_new(project: Project, spec: Optional[str]) -> "_outcomes.RunResults":
    if spec is not None and not _is_run_id(spec):
        return _outcomes.read_stream_results(spec, "NEW")
    repo = open_repository(project)
    return _outcomes.read_run_results(repo, repo.latest_id() if spec is None else int(spec))


def _compare_old(project: Project, options: CompareOptions,
                 new: "_outcomes.RunResults") -> "_outcomes.RunResults":
    spec = options.old
    if spec is not None and not _is_run_id(spec):
        return _outcomes.read_stream_results(spec, "OLD")
    if options.old_repo:
        repo = repository.open_repository(options.old_repo)
        run_id = repo.latest_id() if spec is None else int(spec)
        return _outcomes.read_run_results(repo, run_id, f"run {run_id} of {repo.path}")
    repo = open_repository(project)
    if spec is not None:
        return _outcomes.read_run_results(repo, int(spec))
    earlier = [run_id for run_id in repo.run_ids() if new.run_id is None or run_id < new.run_id]
    if not earlier:
        raise errors.NoRunsError(
            f"No run before {new.label} in the repository at {repo.path} to compare with; "
            "run the tests again, or name OLD (a run id or a subunit v2 file)")
    return _outcomes.read_run_results(repo, earlier[-1])


@dataclasses.dataclass(frozen=True)
class FlakyOptions:
    """Look at each test's ``runs`` most recent runs; report it with at
    least ``min_flips`` pass/fail changes (or a retry that passed)."""

    runs: int = 10  # reports.flaky.DEFAULT_RUNS
    min_flips: int = 2  # reports.flaky.DEFAULT_MIN_FLIPS


def flaky(project: Project, options: FlakyOptions) -> List[flaky_report.FlakyTest]:
    """Flaky tests, flakiest first (see :mod:`testrepo.reports.flaky`).
    Streams are parsed newest first and only as far back as needed."""
    if options.runs < 1:
        raise errors.UsageError(f"--runs must be 1 or more, got {options.runs}")
    if options.min_flips < 1:
        raise errors.UsageError(f"--min-flips must be 1 or more, got {options.min_flips}")
    repo = open_repository(project)
    repo.latest_id()  # NoRunsError on an empty repository
    history = ((run_id, _outcomes.read_run_results(repo, run_id).outcomes)
               for run_id in reversed(repo.run_ids()))
    return flaky_report.find_flaky(history, options.runs, options.min_flips)


def write_junit(project: Project, run_id: Optional[int], path: str) -> None:
    """Write stored run ``run_id`` as JUnit XML to ``path`` (replacing it
    atomically). ``run_id`` None (the command stored no run, e.g. ``run
    --failing`` with nothing failing) writes a document with no tests."""
    if run_id is None:
        tree = junit_report.empty_junit()
    else:
        results = _outcomes.read_run_results(open_repository(project), run_id)
        tree = junit_report.build_junit(results, _hostname())
    _write_file(path, junit_report.to_bytes(tree), "JUnit XML")


def _hostname() -> str:
    import socket

    return socket.gethostname() or "localhost"


HISTORY_RUNS = 30


def write_html_report(project: Project, run_id: Optional[int], path: str) -> int:
    """Write a self-contained HTML report of run ``run_id`` (None: the
    latest) to ``path``, charting up to :data:`HISTORY_RUNS` runs up to it
    from the index. Returns the run id reported."""
    repo = open_repository(project)
    run_id = repo.latest_id() if run_id is None else run_id
    results = _outcomes.read_run_results(repo, run_id)
    history = [record for record in repo.runs() if record.run_id <= run_id][-HISTORY_RUNS:]
    document = html_report.render(results, history)
    _write_file(path, document.encode("utf-8"), "HTML report")
    return run_id


@dataclasses.dataclass(frozen=True)
class HistoryReportOptions:
    """``report --history``: chart the ``runs`` most recent runs."""

    runs: int = 100


@dataclasses.dataclass(frozen=True)
class HistoryReportOutcome:
    first_run: int
    last_run: int
    runs: int


def write_history_report(project: Project, options: HistoryReportOptions,
                         path: str) -> HistoryReportOutcome:
    """Write a self-contained HTML dashboard of the ``options.runs`` most
    recent runs to ``path`` (:mod:`testrepo.reports.history_html`): from the
    index (records and each run's failures) plus the streams of at most
    2 x ``trends.SAMPLE_RUNS`` runs, so its cost hardly grows with history."""
    if options.runs < 1:
        raise errors.UsageError(f"--runs must be 1 or more, got {options.runs}")
    repo = open_repository(project)
    repo.latest_id()  # NoRunsError on an empty repository
    records = repo.runs()[-options.runs:]
    oldest, newest = _trends.sample_ids(records)
    samples = {run_id: repo.test_results(run_id) for run_id in oldest + newest}
    failed = repo.failed_tests(record.run_id for record in records)
    document = _history_html.render(_trends.build(records, failed, samples))
    _write_file(path, document.encode("utf-8"), "HTML report")
    return HistoryReportOutcome(records[0].run_id, records[-1].run_id, len(records))


def _write_file(path: str, data: bytes, what: str) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        handle, temp = tempfile.mkstemp(dir=directory, prefix=".testrepo-", suffix=".tmp")
    except OSError as err:
        raise _write_error(path, what, err) from err
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except OSError as err:
        if os.path.exists(temp):
            os.unlink(temp)
        raise _write_error(path, what, err) from err


def _write_error(path: str, what: str, err: OSError) -> errors.UsageError:
    return errors.UsageError(
        f"cannot write the {what} to '{path}': {err.strerror}; "
        "check that its directory exists and is writable")


# =============================================================================
# History, project setup and migration (issue 3): history list/show/remove,
# init --write-config, import of testrepository/stestr repositories. Logic
# lives in testrepo.history, testrepo.config_writer and testrepo.migrate.
# =============================================================================

config_writer = LazyModule("testrepo.config_writer")
history_report = LazyModule("testrepo.history")
migrate = LazyModule("testrepo.migrate")
transfer = LazyModule("testrepo.transfer")
from testrepo.repository import RunRecord  # noqa: E402


def history(project: Project) -> List[RunRecord]:
    """Every stored run's record, oldest first, from the index alone (no
    stream is read, so the cost does not grow with the runs' size)."""
    return open_repository(project).runs()


def history_table(project: Project, show_metadata: bool = False) -> Tuple[tuple, List[tuple]]:
    """(columns, rows) of ``testr history list``: id, counts, runtime, start
    (and metadata), one row per run, oldest first; from the index alone."""
    return history_report.rows(history(project), show_metadata)


def history_show(project: Project, run_id: Optional[int], output: OutputOptions,
                 out: TextIO) -> RunOutcome:
    """Show a stored run like ``last`` (the latest if ``run_id`` is None),
    headed by its start, duration and metadata; exit 1 if it failed."""
    repo = open_repository(project)
    run = repo.get_run(repo.latest_id() if run_id is None else run_id)
    if not output.subunit:
        out.write(history_report.heading(run.record))
    return RunOutcome(run.run_id, run.record, _show_run(run, output, out))


@dataclasses.dataclass(frozen=True)
class RemoveOutcome:
    """The run ids removed, and the latest run left (None if none is)."""

    removed: Tuple[int, ...]
    latest_id: Optional[int]


def history_remove(project: Project, run_ids: Optional[Sequence[int]]) -> RemoveOutcome:
    """Remove the given runs (every run if ``run_ids`` is None).

    The failing set and durations become what the remaining runs make them
    (``Repository.remove_runs``); run ids are not reused.
    """
    repo = open_repository(project)
    removed = tuple(sorted(set(repo.run_ids() if run_ids is None else run_ids)))
    repo.remove_runs(removed)
    remaining = repo.run_ids()
    return RemoveOutcome(removed, remaining[-1] if remaining else None)


@dataclasses.dataclass(frozen=True)
class InitOutcome:
    """What ``init_project`` did: the config file written and its layout,
    the repository path and whether it was created (False: it existed)."""

    config: config_writer.Written
    repository_path: str
    created_repository: bool


def init_project(project: Project) -> InitOutcome:
    """Write a ``.testr.conf`` that fits the project (``config_writer``;
    refused if one exists) and create the repository if there is none."""
    written = config_writer.write(project.directory)
    try:
        repo = init(project)
        created = True
    except errors.RepositoryExists:
        repo = open_repository(project)
        created = False
    return InitOutcome(written, repo.path, created)


def import_repository(project: Project, source: str):
    """Import the history at ``source`` into the project's repository,
    created if needed; it must hold no runs yet.

    ``source`` is a testrepository/stestr (format 1) repository (its
    directory, or a project directory holding ``.testrepository/`` or
    ``.stestr/``): returns a ``migrate.ImportOutcome``. Otherwise it is a
    testrepo repository URL (or a project directory holding one), copied
    with :func:`testrepo.transfer.copy_history`: returns a
    ``transfer.TransferOutcome``."""
    if not migrate.is_legacy_source(source):
        history = _open_import_source(source)  # before creating a repository for it
        try:
            return transfer.copy_history(history, open_repository(project, create=True),
                                         _project_filter_tags(project))
        finally:
            history.close()
    legacy = migrate.find_legacy(source)  # before creating a repository for it
    return migrate.import_repository(legacy, open_repository(project, create=True))


def export_repository(project: Project, destination_url: str):
    """Copy the project's whole history (runs, failing set, durations) into
    the repository at ``destination_url``, created if needed; it must hold
    no runs yet. Returns a ``transfer.TransferOutcome``."""
    source = open_repository(project)
    try:
        destination = repository.open_repository(destination_url)
    except errors.RepositoryNotFound:
        destination = repository.initialise_repository(destination_url)
    try:
        return transfer.copy_history(source, destination, _project_filter_tags(project))
    finally:
        destination.close()


def _open_import_source(source: str):
    try:
        return repository.open_repository(source)
    except errors.RepositoryNotFound as err:
        if repository.is_sql_url(source):
            raise  # its message already names the database (password hidden)
        inner = os.path.join(source, repository.DEFAULT_DIRNAME)
        if os.path.isdir(inner):
            return repository.open_repository(inner)
        raise errors.RepositoryNotFound(
            f"No testrepo, testrepository or stestr repository at {source} (nor a "
            ".testrepository/ or .stestr/ in it); give the repository's directory or "
            "URL.") from err


def _project_filter_tags(project: Project):
    """The project's filter_tags, so that copied runs are counted as they
    were recorded; none if its configuration does not load."""
    try:
        return load_config(project).filter_tags
    except errors.ConfigError:
        return frozenset()


# =============================================================================
# Run modes and run extras (issue 3): --until-failure, --isolated,
# --analyze-isolation, --worker-file, --combine / load --id, --no-discover,
# --pdb, --metadata, --slowest, filter_tags and the instance_* callouts.
# The logic lives in testrepo.isolation, testrepo.scheduler.worker_file,
# testrepo.scheduler.pinned, testrepo.execution.instances and
# testrepo.execution.direct; these functions wire it into run().
# =============================================================================

# Metadata keys testrepo sets itself; --metadata may not override them.
RESERVED_METADATA = ("concurrency", "seed", "isolated", "worker_file")


def _run_mode(project: Project, selection: Selection, options: RunOptions,
              output: OutputOptions, out: TextIO) -> Optional[RunOutcome]:
    """Run the modes that wrap or replace an ordinary run; None for an
    ordinary run."""
    _check_run_modes(selection, options)
    if options.until_failure:
        return _until_failure(project, selection, options, output, out)
    if options.pdb:
        return _run_pdb(project, options, output, out)
    if options.analyze_isolation:
        return analyze_isolation(project, selection, options, output, out)
    return None


def _check_run_modes(selection: Selection, options: RunOptions) -> None:
    """Refuse combinations that cannot mean anything (usage errors)."""
    single = "--pdb" if options.pdb else "--no-discover" if options.no_discover else None
    conflicts = [
        (options.pdb and options.until_failure, "--pdb cannot be combined with --until-failure"),
        (options.pdb and options.no_discover, "--pdb and --no-discover both name the one test "
                                              "to run; give one of them"),
        (single and selection.restricted, f"{single} runs exactly the test it names; it takes "
                                          "no filters, lists or --failing"),
        (options.isolated and options.worker_file, "--isolated runs each test in its own "
                                                   "process; it cannot follow a --worker-file"),
        (options.until_failure and options.combine, "--until-failure stores each run on its "
                                                    "own; it cannot --combine them"),
        (options.analyze_isolation and (options.until_failure or options.combine or single),
         "--analyze-isolation cannot be combined with --until-failure, --combine, --pdb or "
         "--no-discover"),
    ]
    for conflict, message in conflicts:
        if conflict:
            raise errors.UsageError(message)
    for key, _ in options.metadata:
        if key in RESERVED_METADATA:
            raise errors.UsageError(
                f"--metadata {key}=...: '{key}' is recorded by testrepo itself; use another key")


def _until_failure(project: Project, selection: Selection, options: RunOptions,
                   output: OutputOptions, out: TextIO) -> RunOutcome:
    """Repeat ``run`` until a run fails, nothing runs, or Ctrl-C (exit
    130); each run is stored. Returns the last run's outcome."""
    once = dataclasses.replace(options, until_failure=False)
    iteration = 0
    while True:
        iteration += 1
        if not output.subunit:
            out.write(f"--until-failure: run {iteration}\n")
        outcome = run(project, selection, once, output, out)
        if outcome.exit_code != EXIT_SUCCESS or outcome.run_id is None:
            break
    if not output.subunit:
        if outcome.run_id is None:
            why = "no test ran"
        elif outcome.exit_code == EXIT_INTERRUPTED:
            why = f"interrupted (run {outcome.run_id} stored as interrupted)"
        else:
            why = f"run {outcome.run_id} failed"
        out.write(f"--until-failure: stopped after {iteration} run(s): {why}\n")
    return outcome


# CI variables that name the job a run belongs to, in the order they are
# tried: ours, then GitLab's, GitHub Actions' and Jenkins'.
JOB_VARIABLES = ("TESTREPO_JOB", "CI_JOB_NAME", "GITHUB_JOB", "JOB_NAME")


def origin_metadata(environ) -> Dict[str, str]:
    """Where a run ran: ``host`` (the host name) and ``job`` (from the first
    of JOB_VARIABLES that is set), so that ``flaky``, ``compare`` and
    ``history`` over a repository shared by a fleet can tell them apart.
    ``--metadata host=... job=...`` overrides both."""
    import socket

    metadata = {"host": socket.gethostname()}
    job = next((environ[name] for name in JOB_VARIABLES if environ.get(name)), None)
    if job:
        metadata["job"] = job
    return metadata


def _mode_metadata(options: RunOptions) -> Dict[str, str]:
    """What a run stores about how it ran, besides concurrency and seed."""
    metadata = dict(options.metadata)
    if options.isolated:
        metadata["isolated"] = "true"
    if options.worker_file:
        metadata["worker_file"] = options.worker_file
    return metadata


def _open_inserter(context: _Run, partial: bool, metadata: Dict[str, str]):
    """The run's inserter: a new run, or with ``--combine`` an append to the
    latest run (a new run if there is none yet). filter_tags are hidden."""
    repo = context.repo
    inserter = None
    # One named test (--pdb, --no-discover) says nothing about the others.
    partial = partial or bool(context.options.pdb or context.options.no_discover)
    if context.options.combine and repo.run_ids():
        inserter = repo.append(repo.latest_id())
        inserter.metadata.update(metadata)
    if inserter is None:
        inserter = repo.insert(partial=partial, metadata=metadata)
    inserter.hide_tags(context.config.filter_tags)
    return inserter


def _load_inserter(repo, options: LoadOptions, project: Project):
    """A new run, or with ``options.run_id`` an append to that run; the
    project's filter_tags (if its configuration loads) are hidden."""
    if options.run_id is not None:
        inserter = repo.append(options.run_id)
    else:
        inserter = repo.insert(partial=options.partial)
    try:
        inserter.hide_tags(load_config(project).filter_tags)
    except errors.ConfigError:
        pass  # load needs no configuration; only filter_tags come from it
    return inserter


def write_slowest(project: Project, run_id: int, out: TextIO, count: int = 10) -> None:
    """``run --slowest``: the ``count`` slowest tests that run ``run_id``
    timed, as a table."""
    durations = open_repository(project).run_durations(run_id)
    rows = sorted(durations.items(), key=lambda item: (-item[1], item[0]))[:count]
    trace.write_slowest(out, rows)


def _plan_workers(context: _Run, concurrency: int) -> int:
    """The number of workers once the run modes are applied: a worker
    file's entries decide it; --no-discover runs one test in one worker."""
    options = context.options
    if context.config.command_mode and _needs_ids(context) \
            and not template.takes_ids(context.config):
        raise errors.UsageError(
            "test_command has no $IDOPTION, $IDFILE or $IDLIST, so it cannot be told which "
            "tests to run; --isolated, --worker-file and --no-discover need one of them")
    if options.worker_file:
        context.worker_entries = worker_file.read_worker_file(
            options.worker_file, context.project.directory)
        return worker_file.worker_count(context.worker_entries)
    if options.no_discover:
        return 1
    return concurrency


def _needs_ids(context: _Run) -> bool:
    """Modes that must know the test ids (command mode lists for them)."""
    options = context.options
    return bool(options.isolated or options.worker_file or options.no_discover
                or options.retry)


def _builtin_argv(context: _Run) -> List[str]:
    argv = commands.builtin_argv(context.config)
    if context.options.no_discover:
        argv += ["--load-name", direct.dotted_name(context.options.no_discover)]
    return argv


def _read_listing(context: _Run) -> List[str]:
    """Command mode: the listed ids (in an instance, if configured);
    --no-discover names its test instead."""
    if context.options.no_discover:
        return [direct.dotted_name(context.options.no_discover)]
    command = commands.list_command(context.config, context.project.directory,
                                    context.options.test_args)
    if context.instances is not None:
        command = context.instances.wrap(command, 0)
    return listing.read_test_ids(command)


def _work_queue(context: _Run, test_ids, concurrency, durations, group_of, rng):
    """The built-in runner's queue: one test per fresh worker (--isolated),
    per-worker queues (--worker-file), or the shared dynamic queue."""
    if context.options.isolated:
        ordered = list(test_ids)
        if rng is not None:
            rng.shuffle(ordered)
        return _pinned.SingleTestQueue(ordered)
    if len(test_ids) <= concurrency and group_of is None and context.worker_entries is None:
        # A worker for every test (test_run_concurrency 0): one test each.
        return _pinned.SingleTestQueue(test_ids if rng is None else rng.sample(test_ids, len(test_ids)))
    if context.worker_entries is not None:
        assignment = worker_file.assign(test_ids, context.worker_entries)
        context.say(worker_file.describe(assignment, context.worker_entries))
        return worker_file.build_queue(assignment, context.worker_entries, durations,
                                       group_of, rng)
    return _queue.WorkQueue.build(test_ids, concurrency, durations, group_of, rng)


def _planned_partitions(context: _Run, test_ids, durations, group_of):
    """Command mode: one partition per test (--isolated) or the worker
    file's partitions; None for the ordinary static schedule."""
    if context.options.isolated:
        return [[test_id] for test_id in test_ids]
    if context.worker_entries is not None:
        assignment = worker_file.assign(test_ids, context.worker_entries)
        context.say(worker_file.describe(assignment, context.worker_entries))
        return worker_file.partition(assignment, context.worker_entries, durations, group_of)
    return None


@dataclasses.dataclass
class _CommandExtras:
    """How command mode starts its processes: in an instance (instance_*
    callouts) and at most ``max_live`` at once (--isolated)."""

    instances: Optional[object] = None
    max_live: Optional[int] = None

    def wrap(self, command, worker: int):
        return command if self.instances is None else self.instances.wrap(command, worker)


def _command_extras(context: _Run, concurrency: int) -> _CommandExtras:
    max_live = concurrency if context.options.isolated else None
    return _CommandExtras(context.instances, max_live)


def _run_pdb(project: Project, options: RunOptions, output: OutputOptions,
             out: TextIO) -> RunOutcome:
    """--pdb TEST: load TEST by name and run it in this process, in the
    foreground (no worker, no listing, no capture), so pdb works; the
    result is stored as a partial run."""
    config = load_config(project)
    repo = open_repository(project, create=True, out=None if output.subunit else out)
    context = _Run(project, config, repo, Selection(), options, output, out, None)
    name = direct.dotted_name(options.pdb)
    top = "." if config.command_mode else (config.top_dir or ".")
    top_dir = os.path.abspath(os.path.join(project.directory, top))
    with direct.in_project(top_dir, os.path.abspath(project.directory)):
        tests = direct.load_tests(name, top_dir)  # fails before anything is stored
        inserter, _, _, _ = context.begin([test.id() for test in tests], 1)
        return _stream_run(inserter, output, out,
                           lambda sink: direct.run_in_process(tests, sink))


def analyze_isolation(project: Project, selection: Selection, options: RunOptions,
                      output: OutputOptions, out: TextIO) -> RunOutcome:
    """--analyze-isolation: for each failing test of the latest run (those
    the selection keeps), find what makes it fail (see
    :mod:`testrepo.isolation`). The probes run serially in fresh processes
    and are not stored, so the failing set is unchanged. Exit 1 if a test
    fails only after others (or not reproducibly), else 0."""
    if output.subunit:
        raise errors.UsageError("--analyze-isolation writes a report; it has no subunit "
                                "stream to give (drop --subunit)")
    config = load_config(project)
    repo = open_repository(project)
    run = repo.get_run(repo.latest_id())
    with run.stream() as stream:
        order = isolation.read_run_order(stream.read())
    criteria = selection_module.read_criteria(selection, None, project.directory)
    failed = selection_module.select(order.failed, criteria)
    if not failed:
        out.write(f"Run {run.run_id} has no failing test to analyze.\n")
        return RunOutcome(run.run_id, None, EXIT_SUCCESS)
    with instances.provisioned(config, project.directory, 1) as provisioned:
        prober = _Prober(project, config, options, provisioned)
        findings = _analyze(prober, run, order, failed, out)
    out.write(isolation.summary(findings, run.run_id))
    problem = any(finding.kind in isolation.PROBLEMS for finding in findings)
    return RunOutcome(run.run_id, None, EXIT_TESTS_FAILED if problem else EXIT_SUCCESS)


def _analyze(prober: "_Prober", run, order, failed: List[str], out: TextIO) -> list:
    listed = set(prober.listing())
    # In an --isolated run no test ran after another in the same process.
    isolated_run = run.record.metadata.get("isolated") == "true"
    out.write(f"Analyzing the {len(failed)} failing test(s) of run {run.run_id}; each probe "
              "runs tests serially in a fresh process and is not stored.\n")
    findings = []
    for test_id in failed:
        if test_id not in listed:
            findings.append(isolation.Finding(test_id, isolation.NOT_LISTED))
            continue
        out.write(f"{test_id}:\n")
        earlier = [] if isolated_run else isolation.earlier_tests(order, test_id)
        earlier = [other for other in earlier if other in listed]
        findings.append(isolation.analyze(test_id, earlier, order.worker_of.get(test_id, "-"),
                                          prober, out.write))
    return findings


@dataclasses.dataclass
class _Prober:
    """Runs the isolation analysis's probes: given test ids, serially, in
    that order, in one fresh process (in instance 0 if the project has
    instances), into a throwaway in-memory repository."""

    project: Project
    config: object
    options: RunOptions
    provisioned: Optional[object] = None

    def listing(self) -> List[str]:
        if not self.config.command_mode:
            return listing.read_test_ids(commands.list_command(self.config,
                                                               self.project.directory))
        return _read_listing(self._context(None, Selection()))

    def __call__(self, test_ids: List[str]) -> bool:
        """True if the last of ``test_ids`` failed."""
        handle, path = tempfile.mkstemp(prefix="testrepo-probe-", suffix=".list")
        with os.fdopen(handle, "w", encoding="utf-8") as ids:
            ids.write("".join(test_id + "\n" for test_id in test_ids))
        from testrepo.repository.memory import MemoryRepository

        context = self._context(MemoryRepository(), Selection(load_list=path))
        try:
            if self.config.command_mode:
                _run_command_mode(context, 1)
            else:
                _run_builtin(context, 1)
        finally:
            os.unlink(path)
        return test_ids[-1] in context.repo.failing_ids()

    def _context(self, repo, selection: Selection) -> _Run:
        options = RunOptions(serial=True, test_args=self.options.test_args,
                             timeout=self.options.timeout, max_restarts=0)
        return _Run(self.project, self.config, repo, selection, options,
                    OutputOptions(quiet=True), io.StringIO(), None,
                    instances=self.provisioned)
