"""The read-side commands: ``last``, ``failing``, ``slowest``, ``stats``,
``history`` (list, show, remove) and ``run --slowest``.  They read the
repository's index (and a run's failures), never re-run anything."""

from __future__ import annotations

import dataclasses
import shutil
from typing import Dict, List, Optional, Sequence, TextIO, Tuple

from testrepo import history as run_history
from testrepo import repository
from testrepo.api.project import RunOutcome, filter_tags, open_repository, repository_url
from testrepo.errors import EXIT_SUCCESS, EXIT_TESTS_FAILED
from testrepo.options import OutputOptions, Project
from testrepo.reports import trace
from testrepo.repository import RunRecord
from testrepo.results import stream


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
    """Show the latest run: its failures and summary (exit 1 if it failed);
    first merge a ``--queue`` build whose merging node died."""
    repo = open_repository(project, out=None if output.subunit else out)
    try:
        if repository.is_sql_url(repository_url(project)):
            # A --queue build whose merging node died: its run is made first.
            from testrepo.api import queue_mode

            queue_mode.complete_orphaned(repo, filter_tags(project), output, out)
        run = repo.get_run(repo.latest_id())
        return RunOutcome(run.run_id, run.record, _show_run(run, output, out))
    finally:
        # A database's pooled connections go now, not when garbage collected.
        repo.close()


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


def write_slowest(project: Project, run_id: int, out: TextIO, count: int = 10) -> None:
    """``run --slowest``: the ``count`` slowest tests that run ``run_id``
    timed, as a table."""
    durations = open_repository(project).run_durations(run_id)
    rows = sorted(durations.items(), key=lambda item: (-item[1], item[0]))[:count]
    trace.write_slowest(out, rows)


def history(project: Project) -> List[RunRecord]:
    """Every stored run's record, oldest first, from the index alone (no
    stream is read, so the cost does not grow with the runs' size)."""
    return open_repository(project).runs()


def history_table(project: Project, show_metadata: bool = False) -> Tuple[tuple, List[tuple]]:
    """(columns, rows) of ``testr history list``: id, counts, runtime, start
    (and metadata), one row per run, oldest first; from the index alone."""
    return run_history.rows(history(project), show_metadata)


def history_show(project: Project, run_id: Optional[int], output: OutputOptions,
                 out: TextIO) -> RunOutcome:
    """Show a stored run like ``last`` (the latest if ``run_id`` is None),
    headed by its start, duration and metadata; exit 1 if it failed."""
    repo = open_repository(project)
    run = repo.get_run(repo.latest_id() if run_id is None else run_id)
    if not output.subunit:
        out.write(run_history.heading(run.record))
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
