"""CI reports: ``compare``, ``flaky``, JUnit XML, the HTML report and
``report --history``.  The logic lives in testrepo.reports.{outcomes,
compare,flaky,junit,html,trends,history_html}, imported by the functions
that use them; these functions resolve runs and files and do the I/O."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import TYPE_CHECKING, List, Optional, TextIO

from testrepo import errors, repository
from testrepo.api.project import open_repository
from testrepo.errors import EXIT_SUCCESS, EXIT_TESTS_FAILED
from testrepo.options import (
    COMPARE_CATEGORIES,
    CompareOptions,
    FlakyOptions,
    HistoryReportOptions,
    Project,
)

if TYPE_CHECKING:
    from testrepo.reports.compare import Comparison, Thresholds
    from testrepo.reports.flaky import FlakyTest
    from testrepo.reports.outcomes import RunResults


@dataclasses.dataclass(frozen=True)
class CompareOutcome:
    comparison: Comparison
    exit_code: int


def compare(project: Project, options: CompareOptions, out: TextIO) -> CompareOutcome:
    """Compare two runs, write the report (text or JSON) to ``out``; exit 1
    when a category named in ``options.fail_on`` is not empty."""
    from testrepo.reports import compare as compare_report

    thresholds = _thresholds(options)
    unknown = [name for name in options.fail_on if name not in COMPARE_CATEGORIES]
    if unknown:
        raise errors.UsageError(
            f"--fail-on {unknown[0]!r} is not a category; use one of "
            + ", ".join(COMPARE_CATEGORIES))
    new = _compare_new(project, options.new)
    old = _compare_old(project, options, new)
    comparison = compare_report.compare(old, new, thresholds)
    if options.json:
        compare_report.write_json(comparison, out)
    else:
        compare_report.write_text(comparison, out)
    failed = compare_report.gate(comparison, options.fail_on)
    return CompareOutcome(comparison, EXIT_TESTS_FAILED if failed else EXIT_SUCCESS)


def _thresholds(options: CompareOptions) -> Thresholds:
    from testrepo.reports.compare import Thresholds

    if options.ratio < 1:
        raise errors.UsageError(f"--ratio must be at least 1, got {options.ratio:g}")
    if options.absolute < 0:
        raise errors.UsageError(f"--min-seconds must be 0 or more, got {options.absolute:g}")
    return Thresholds(options.ratio, options.absolute)


def _is_run_id(spec: str) -> bool:
    return spec.isdigit()


def _compare_new(project: Project, spec: Optional[str]) -> RunResults:
    from testrepo.reports import outcomes

    if spec is not None and not _is_run_id(spec):
        return outcomes.read_stream_results(spec, "NEW")
    repo = open_repository(project)
    return outcomes.read_run_results(repo, repo.latest_id() if spec is None else int(spec))


def _compare_old(project: Project, options: CompareOptions,
                 new: RunResults) -> RunResults:
    from testrepo.reports import outcomes

    spec = options.old
    if spec is not None and not _is_run_id(spec):
        return outcomes.read_stream_results(spec, "OLD")
    if options.old_repo:
        repo = repository.open_repository(options.old_repo)
        run_id = repo.latest_id() if spec is None else int(spec)
        return outcomes.read_run_results(repo, run_id, f"run {run_id} of {repo.path}")
    repo = open_repository(project)
    if spec is not None:
        return outcomes.read_run_results(repo, int(spec))
    earlier = [run_id for run_id in repo.run_ids() if new.run_id is None or run_id < new.run_id]
    if not earlier:
        raise errors.NoRunsError(
            f"No run before {new.label} in the repository at {repo.path} to compare with; "
            "run the tests again, or name OLD (a run id or a subunit v2 file)")
    return outcomes.read_run_results(repo, earlier[-1])


def flaky(project: Project, options: FlakyOptions) -> List[FlakyTest]:
    """Flaky tests, flakiest first (see :mod:`testrepo.reports.flaky`).
    Streams are parsed newest first and only as far back as needed."""
    from testrepo.reports import flaky as flaky_report, outcomes

    if options.runs < 1:
        raise errors.UsageError(f"--runs must be 1 or more, got {options.runs}")
    if options.min_flips < 1:
        raise errors.UsageError(f"--min-flips must be 1 or more, got {options.min_flips}")
    repo = open_repository(project)
    repo.latest_id()  # NoRunsError on an empty repository
    history = ((run_id, outcomes.read_run_results(repo, run_id).outcomes)
               for run_id in reversed(repo.run_ids()))
    return flaky_report.find_flaky(history, options.runs, options.min_flips)


def write_junit(project: Project, run_id: Optional[int], path: str) -> None:
    """Write stored run ``run_id`` as JUnit XML to ``path`` (replacing it
    atomically). ``run_id`` None (the command stored no run, e.g. ``run
    --failing`` with nothing failing) writes a document with no tests."""
    from testrepo.reports import junit as junit_report, outcomes

    if run_id is None:
        tree = junit_report.empty_junit()
    else:
        results = outcomes.read_run_results(open_repository(project), run_id)
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
    from testrepo.reports import html as html_report, outcomes

    repo = open_repository(project)
    run_id = repo.latest_id() if run_id is None else run_id
    results = outcomes.read_run_results(repo, run_id)
    history = [record for record in repo.runs() if record.run_id <= run_id][-HISTORY_RUNS:]
    document = html_report.render(results, history)
    _write_file(path, document.encode("utf-8"), "HTML report")
    return run_id


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
    from testrepo.reports import history_html, trends

    if options.runs < 1:
        raise errors.UsageError(f"--runs must be 1 or more, got {options.runs}")
    repo = open_repository(project)
    repo.latest_id()  # NoRunsError on an empty repository
    records = repo.runs()[-options.runs:]
    oldest, newest = trends.sample_ids(records)
    samples = {run_id: repo.test_results(run_id) for run_id in oldest + newest}
    failed = repo.failed_tests(record.run_id for record in records)
    document = history_html.render(trends.build(records, failed, samples))
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
