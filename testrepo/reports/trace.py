"""Live, per-test output in the style of subunit-trace (what stestr users
read), plus failure details as they happen and the closing summary.

``{0} tests.test_x.TestX.test_a [0.001234s] ... ok``
"""

from __future__ import annotations

import datetime
from typing import Dict, List, Optional, TextIO, Tuple

from testrepo.results.outcome import read_attachments
from testrepo.results.stream import StreamResult

_LABELS = {
    "success": "ok",
    "fail": "FAILED",
    "skip": "SKIPPED",
    "xfail": "XFAIL",
    "uxsuccess": "UNEXPECTED SUCCESS",
}
_COLORS = {"success": "32", "fail": "31", "skip": "33", "xfail": "33", "uxsuccess": "31"}
FAILED_STATUSES = frozenset(["fail", "uxsuccess"])
# Attachments worth showing for a test that passed (captured output); a
# failure shows every text attachment.
_OUTPUT_NAMES = frozenset(["stdout", "stderr"])
# --abbreviate: one character per test.
_MARKS = {"success": ".", "xfail": ".", "skip": "S", "fail": "F", "uxsuccess": "F"}


def worker_label(test_tags, route_code) -> str:
    for tag in test_tags or ():
        if tag.startswith("worker-"):
            return tag[len("worker-"):]
    if route_code:
        return route_code.split("/", 1)[0]
    return "-"


class _TestState:
    __slots__ = ("start", "attachments")

    def __init__(self):
        self.start: Optional[datetime.datetime] = None
        self.attachments: Dict[str, List[bytes]] = {}


class TraceReporter(StreamResult):
    """Writes one line per finished test, and failure details, to ``out``.

    ``show_passes=False`` (``--quiet``, ``testr last``) prints failures only.
    Non-test output (``test_id=None`` file events, e.g. stray bytes from a
    test command) is copied through as text.

    ``abbreviate`` writes one character per test (``.`` passed, ``F``
    failed, ``S`` skipped) and each failure's line and details when the run
    stops. ``attachments`` says which attachments of a test that passed are
    shown: ``"default"`` (stdout, stderr), ``"none"`` or ``"all"``; a
    failure always shows all of them. A test carrying one of
    ``hidden_tags`` (``filter_tags``) is shown only if it fails.
    """

    def __init__(self, out: TextIO, show_passes: bool = True, color: bool = False,
                 abbreviate: bool = False, attachments: str = "default",
                 hidden_tags=frozenset()):
        super().__init__()
        self._out = out
        self._show_passes = show_passes
        self._color = color
        self._abbreviate = abbreviate
        self._attachments = attachments
        self._hidden_tags = frozenset(hidden_tags)
        self._marks = 0
        # Every test gets one line of plain text (see add_outcome).
        self._plain_lines = show_passes and not color and not abbreviate
        self._deferred: List[tuple] = []
        self._tests: Dict[str, _TestState] = {}

    def status(self, test_id=None, test_status=None, test_tags=None, file_name=None,
               file_bytes=None, mime_type=None, route_code=None, timestamp=None, **kwargs):
        if test_id is None:
            if file_bytes:
                self._out.write(bytes(file_bytes).decode("utf-8", "replace"))
            return
        if test_status == "exists":
            return
        state = self._tests.get(test_id)
        if state is None:
            state = self._tests[test_id] = _TestState()
        if test_status == "inprogress":
            state.start = timestamp
        if file_bytes and _is_text(mime_type):
            state.attachments.setdefault(file_name, []).append(file_bytes)
        if test_status in _LABELS:
            del self._tests[test_id]
            if self._hidden(test_status, test_tags):
                return
            self._finish(test_id, test_status, test_tags, route_code, timestamp, state)

    def _hidden(self, test_status, test_tags) -> bool:
        return bool(self._hidden_tags and test_status not in FAILED_STATUSES
                    and not self._hidden_tags.isdisjoint(test_tags or ()))

    def _finish(self, test_id, test_status, test_tags, route_code, timestamp, state):
        duration = None
        if state.start is not None and timestamp is not None:
            duration = (timestamp - state.start).total_seconds()
        self._report(test_id, test_status, worker_label(test_tags, route_code), duration,
                     lambda: state.attachments)

    def add_outcome(self, outcome):
        """A test the built-in runner reported whole (no v2 parsing unless
        there is something to show)."""
        if self._plain_lines and not outcome.has_details:
            # Most tests: one uncoloured line and nothing else to show.
            start, stop = outcome.start, outcome.stop
            shown = "" if start is None or stop is None else f" [{max(0.0, stop - start):.6f}s]"
            self._out.write(f"{{{outcome.worker}}} {outcome.test_id}{shown} ... "
                            f"{_LABELS[outcome.status]}\n")
            return

        def attachments():
            return read_attachments(outcome.events) if outcome.has_details else {}

        self._report(outcome.test_id, outcome.status, str(outcome.worker),
                     outcome.duration, attachments)

    def flush(self):
        self._out.flush()

    def add_output(self, text: str):
        """Output that belongs to no test (e.g. a worker's stderr)."""
        self._out.write(text)

    def _report(self, test_id, test_status, worker, duration, attachments):
        failed = test_status in FAILED_STATUSES
        if not (failed or self._show_passes):
            return
        if self._abbreviate:
            self._out.write(self._paint(test_status, _MARKS[test_status]))
            self._marks += 1
            if failed:
                self._deferred.append((test_id, test_status, worker, duration, attachments()))
            return
        self._line(test_id, test_status, worker, duration, attachments())

    def stopTestRun(self):
        """With ``abbreviate``: end the line of marks, then show failures."""
        if self._marks:
            self._out.write("\n")
            self._marks = 0
        deferred, self._deferred = self._deferred, []
        for item in deferred:
            self._line(*item)

    def _line(self, test_id, test_status, worker, duration, attachments):
        failed = test_status in FAILED_STATUSES
        shown = "" if duration is None else f" [{duration:.6f}s]"
        label = self._paint(test_status, _LABELS[test_status])
        reason = ""
        if test_status == "skip" and "reason" in attachments:
            reason = ": " + _joined(attachments.pop("reason")).strip()
        self._out.write(f"{{{worker}}} {test_id}{shown} ... {label}{reason}\n")
        self._write_attachments(attachments, failed)

    def _write_attachments(self, attachments, failed):
        for name, chunks in attachments.items():
            if not (failed or self._shown_on_success(name)):
                continue
            text = _joined(chunks).rstrip("\n")
            if not text:
                continue
            title = "Traceback" if name == "traceback" else f"Captured {name}"
            self._out.write(f"\n{title}:\n{'~' * (len(title) + 1)}\n")
            self._out.write("".join(f"    {line}\n" for line in text.splitlines()))
            self._out.write("\n")

    def _shown_on_success(self, name) -> bool:
        if self._attachments == "all":
            return True
        return self._attachments == "default" and name in _OUTPUT_NAMES

    def _paint(self, test_status, text):
        if not self._color:
            return text
        return f"\x1b[{_COLORS[test_status]}m{text}\x1b[0m"


def _is_text(mime_type) -> bool:
    return not mime_type or mime_type.startswith("text/")


def _joined(chunks) -> str:
    return b"".join(chunks).decode("utf-8", "replace")


class WorkerBalance(StreamResult):
    """Per-worker test counts and busy time span, for the summary."""

    def __init__(self):
        super().__init__()
        self.workers: Dict[str, List] = {}
        # The same spans by worker number, for add_outcome (no str() per test).
        self._spans: Dict[int, List] = {}

    def status(self, test_id=None, test_status=None, test_tags=None,
               route_code=None, timestamp=None, **kwargs):
        if test_id is None or timestamp is None or test_status == "exists":
            return
        epoch = timestamp.timestamp()
        self._note(worker_label(test_tags, route_code), test_status in _LABELS, epoch, epoch)

    def add_outcome(self, outcome):
        start, stop = outcome.start, outcome.stop
        if start is None or stop is None:
            return
        span = self._spans.get(outcome.worker)
        if span is None:
            self._note(str(outcome.worker), True, start, stop)
            self._spans[outcome.worker] = self.workers[str(outcome.worker)]
            return
        span[0] += 1
        if start < span[1]:
            span[1] = start
        if stop > span[2]:
            span[2] = stop

    def _note(self, worker, finished, first, last):
        span = self.workers.get(worker)
        if span is None:
            span = self.workers[worker] = [0, first, last]
        span[0] += finished
        if first < span[1]:
            span[1] = first
        if last > span[2]:
            span[2] = last

    def rows(self) -> List[Tuple[str, int, float]]:
        return [(worker, span[0], span[2] - span[1])
                for worker, span in sorted(self.workers.items(), key=_worker_key)]


def _worker_key(item):
    worker = item[0]
    return (0, int(worker), "") if worker.isdigit() else (1, 0, worker)


def write_summary(out: TextIO, record, wall_time: Optional[float] = None,
                  balance: Optional[WorkerBalance] = None) -> None:
    """The closing block; its last line is ``Totals: N passed, N failed, N skipped``."""
    elapsed = record.duration if wall_time is None else wall_time
    state = "interrupted, " if record.interrupted else ""
    out.write(f"\n======\nTotals\n======\n"
              f"Ran: {record.total} tests in {elapsed:.4f} sec "
              f"({state}run id {record.run_id}).\n"
              f" - Passed: {record.passed}\n - Skipped: {record.skipped}\n"
              f" - Failed: {record.failed}\n")
    if record.metadata:
        shown = ", ".join(f"{key}={value}" for key, value in sorted(record.metadata.items()))
        out.write(f" - Metadata: {shown}\n")
    if balance is not None and balance.workers:
        out.write("\n==============\nWorker Balance\n==============\n")
        for worker, count, busy in balance.rows():
            out.write(f" - Worker {worker} ({count} tests) => {busy:.4f}s\n")
    out.write(f"\nTotals: {record.passed} passed, {record.failed} failed, "
              f"{record.skipped} skipped\n")


def write_slowest(out: TextIO, rows: List[Tuple[str, float]]) -> None:
    """``run --slowest``: a table of (test id, seconds), slowest first."""
    out.write("\nSlowest tests:\n")
    if not rows:
        out.write("(no test was timed)\n")
        return
    width = max(len("Test id"), *(len(test_id) for test_id, _ in rows))
    out.write(f"{'Test id':<{width}}  Runtime (s)\n{'-' * width}  -----------\n")
    for test_id, seconds in rows:
        out.write(f"{test_id:<{width}}  {seconds:11.3f}\n")
