"""Per-test results of one run, rebuilt from its stored events.

This is what the CI reports (compare, flaky, JUnit XML, HTML) read. A run's
events are collected into one :class:`Attempt` per final status event, so a
test retried within a run (fail, then success) keeps both attempts, and
grouped by test id into a :class:`TestAttempts` whose status is its last
attempt's::

    sample.test_x.TestX.test_a  inprogress ... fail     -> attempt 1 (fail)
    sample.test_x.TestX.test_a  inprogress ... success  -> attempt 2 (success)
    => TestAttempts(status="success", retried_flaky=True)
"""

from __future__ import annotations

import dataclasses
import datetime
import types
from typing import Dict, List, Mapping, Optional, Tuple

from testrepo.errors import UsageError
from testrepo.reports.trace import worker_label
from testrepo.repository.abstract import NON_FINAL_STATUSES, PASSING_STATUSES, SKIPPED_STATUS
from testrepo.results.stream import StreamResult, show


def is_failure(test_status: str) -> bool:
    """fail and uxsuccess count as failures, as in ``RunRecord``."""
    return test_status not in PASSING_STATUSES and test_status != SKIPPED_STATUS


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One execution of a test: its final status, when it ran, on which
    worker, and its text attachments (``traceback``, ``stdout``, ``reason`` …)."""

    test_id: str
    status: str
    start: Optional[datetime.datetime]
    stop: Optional[datetime.datetime]
    worker: str
    attachments: Mapping[str, str] = dataclasses.field(default_factory=dict, hash=False)

    def __post_init__(self):
        object.__setattr__(self, "attachments", types.MappingProxyType(dict(self.attachments)))

    @property
    def duration(self) -> Optional[float]:
        """Seconds from ``inprogress`` to the final status (None if unknown)."""
        if self.start is None or self.stop is None:
            return None
        return max(0.0, (self.stop - self.start).total_seconds())

    @property
    def failed(self) -> bool:
        return is_failure(self.status)

    @property
    def skipped(self) -> bool:
        return self.status == SKIPPED_STATUS


@dataclasses.dataclass(frozen=True)
class TestAttempts:
    """Every attempt of one test id in one run, in the order they ended."""

    __test__ = False  # not a unittest class

    test_id: str
    attempts: Tuple[Attempt, ...]

    @property
    def final(self) -> Attempt:
        return self.attempts[-1]

    @property
    def status(self) -> str:
        return self.final.status

    @property
    def failed(self) -> bool:
        return self.final.failed

    @property
    def skipped(self) -> bool:
        return self.final.skipped

    @property
    def passed(self) -> bool:
        return not (self.failed or self.skipped)

    @property
    def ran(self) -> bool:
        """True when some attempt passed or failed (not only skips)."""
        return any(not attempt.skipped for attempt in self.attempts)

    @property
    def duration(self) -> Optional[float]:
        return self.final.duration

    @property
    def retried_flaky(self) -> bool:
        """A failed attempt followed by a passing one in the same run (a
        retry that succeeded): the test is flaky by its own account."""
        seen_failure = False
        for attempt in self.attempts:
            if attempt.failed:
                seen_failure = True
            elif seen_failure and not attempt.skipped:
                return True
        return False


@dataclasses.dataclass(frozen=True)
class RunResults:
    """One run's per-test outcomes. ``label`` names it for people ("run 3"
    or a stream file's path); ``record`` is its index entry when stored;
    ``output`` is text that belonged to no test."""

    label: str
    run_id: Optional[int]
    record: Optional[object]
    outcomes: Mapping[str, TestAttempts]
    output: str = ""

    @property
    def attempts(self) -> List[Attempt]:
        """Every attempt of every test, ordered by start time (then id)."""
        attempts = [a for outcome in self.outcomes.values() for a in outcome.attempts]
        return sorted(attempts, key=_start_key)


def _start_key(attempt: Attempt):
    start = attempt.start or attempt.stop
    return (start is None, start or datetime.datetime.min, attempt.test_id)


class _Pending:
    __slots__ = ("start", "first_seen", "attachments")

    def __init__(self):
        self.start = None
        self.first_seen = None
        self.attachments: Dict[str, List[bytes]] = {}


class AttemptCollector(StreamResult):
    """Collects a run's events into attempts.

    Events are keyed by (test id, route code), as ``RunTally`` does, so
    the same id on two workers does not mix. Only text attachments are kept.
    """

    def __init__(self):
        super().__init__()
        self.attempts: List[Attempt] = []
        self._pending: Dict[Tuple[str, Optional[str]], _Pending] = {}
        self._output: List[bytes] = []

    def status(self, test_id=None, test_status=None, test_tags=None, file_name=None,
               file_bytes=None, mime_type=None, route_code=None, timestamp=None, **kwargs):
        if test_id is None:
            if file_bytes and _is_text(mime_type):
                self._output.append(bytes(file_bytes))
            return
        if test_status == "exists":
            return
        key = (test_id, route_code)
        pending = self._pending.setdefault(key, _Pending())
        if pending.first_seen is None:
            pending.first_seen = timestamp
        if test_status == "inprogress":
            pending.start = timestamp
        if file_bytes and file_name and _is_text(mime_type):
            pending.attachments.setdefault(file_name, []).append(bytes(file_bytes))
        if test_status not in NON_FINAL_STATUSES:
            del self._pending[key]
            self.attempts.append(_attempt(test_id, test_status, test_tags, route_code,
                                          timestamp, pending))

    def results(self, label: str, run_id: Optional[int] = None, record=None) -> RunResults:
        grouped: Dict[str, List[Attempt]] = {}
        for attempt in self.attempts:
            grouped.setdefault(attempt.test_id, []).append(attempt)
        outcomes = {test_id: TestAttempts(test_id, tuple(attempts))
                    for test_id, attempts in grouped.items()}
        output = b"".join(self._output).decode("utf-8", "replace")
        return RunResults(label, run_id, record, outcomes, output)


def _attempt(test_id, test_status, test_tags, route_code, timestamp, pending) -> Attempt:
    attachments = {name: b"".join(chunks).decode("utf-8", "replace")
                   for name, chunks in pending.attachments.items()}
    start = pending.start if pending.start is not None else pending.first_seen
    return Attempt(test_id=test_id, status=test_status, start=start, stop=timestamp,
                   worker=worker_label(test_tags, route_code), attachments=attachments)


def _is_text(mime_type) -> bool:
    return not mime_type or mime_type.startswith("text/")


def exception_line(traceback_text: str) -> str:
    """The last non-blank line of a traceback: ``RuntimeError: boom``."""
    lines = [line for line in traceback_text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def split_test_id(test_id: str) -> Tuple[str, str]:
    """(class part, method part) at the last dot before any parameters:
    ``pkg.mod.Class.test_a(x.y)`` → (``pkg.mod.Class``, ``test_a(x.y)``)."""
    base = test_id.split("(", 1)[0].split("[", 1)[0]
    index = base.rfind(".")
    if index <= 0:
        return "", test_id
    return test_id[:index], test_id[index + 1:]


# --- reading runs ----------------------------------------------------------------

def read_run_results(repo, run_id: int, label: Optional[str] = None) -> RunResults:
    """The per-test results of stored run ``run_id`` (its stream replayed)."""
    run = repo.get_run(run_id)
    collector = AttemptCollector()
    run.replay(collector)
    return collector.results(label or f"run {run_id}", run_id, run.record)


def read_stream_results(path: str, role: str = "stream") -> RunResults:
    """The per-test results of a subunit v2 file (``role`` names it in
    errors, e.g. ``OLD``); :class:`UsageError` if unreadable or test-less."""
    collector = AttemptCollector()
    try:
        with open(path, "rb") as stream:
            show(stream.read(), collector)
    except OSError as err:
        raise UsageError(
            f"{role} '{path}' is neither a run id nor a readable file ({err.strerror}); "
            "give a run id (see `testr stats`) or a subunit v2 stream file") from err
    if not collector.attempts:
        raise UsageError(
            f"{role} file '{path}' holds no test results; give a subunit v2 stream "
            "(e.g. from `testr last --subunit`)")
    return collector.results(path)
