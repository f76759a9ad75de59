"""Notices about tests that run far longer than usual, without ``--timeout``.

A hung test used to be invisible until the run was killed.  The watcher
gets what every worker runs (``heartbeat``) and, once a test has run past
its *patience*, writes a line naming the test, its worker and how long it
has been running; it repeats at doubling intervals (1 min, 2, 4, ...), so
a real hang is visible in a CI log without flooding it::

    testr: still running after 1m 0s: tests.test_x.T.test_hang on worker 1 (usually 0.2 s)

Patience: ``max(PATIENCE_FACTOR x recorded, recorded + PATIENCE_MARGIN)``
for a test with a recorded duration (so a 0.01 s test is reported after
30 s, a 60 s one after 5 min), ``NO_HISTORY_PATIENCE`` without one.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Mapping, Sequence, Tuple

from testrepo.results.running import RunningTest, Watcher

NO_HISTORY_PATIENCE = 60.0
PATIENCE_FACTOR = 5.0
PATIENCE_MARGIN = 30.0


def format_seconds(seconds: float) -> str:
    """``75.2`` -> ``1m 15s``; ``3.25`` -> ``3.2 s``; ``0.012`` -> ``0.012 s``."""
    if seconds < 1:
        return f"{seconds:.2g} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {rest}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m"


class HangWatcher(Watcher):
    """Writes ``note(line)`` for each test past its patience."""

    def __init__(self, note: Callable[[str], None]):
        self._note = note
        self._durations: Mapping[str, float] = {}
        # (worker, test id, started) -> elapsed seconds of the next notice
        self._next: Dict[Tuple[int, str, float], float] = {}
        self._running: Sequence[RunningTest] = ()

    def expect(self, test_ids, durations) -> None:
        self._durations = durations or {}

    def patience(self, test_id: str) -> float:
        recorded = self._durations.get(test_id)
        if recorded is None:
            return NO_HISTORY_PATIENCE
        return max(PATIENCE_FACTOR * recorded, recorded + PATIENCE_MARGIN)

    def heartbeat(self, running: Sequence[RunningTest], now: float) -> None:
        self._running = running
        current = {}
        for test in running:
            key = (test.worker, test.test_id, test.started)
            due = self._next.get(key)
            if due is None:
                due = self.patience(test.test_id)
            elapsed = now - test.started
            if elapsed >= due:
                self._note(f"testr: still running after {format_seconds(elapsed)}: "
                           f"{test.test_id} on worker {test.worker}{self._usual(test)}\n")
                due = 2 * elapsed
            current[key] = due
        self._next = current  # finished tests are forgotten

    def _usual(self, test: RunningTest) -> str:
        recorded = self._durations.get(test.test_id)
        return "" if recorded is None else f" (usually {format_seconds(recorded)})"

    def still_running(self, now: float) -> List[str]:
        """Lines naming the tests running at the last heartbeat (an
        interrupted run says what it cut short)."""
        return [f"testr: interrupted while {test.test_id} was running on worker "
                f"{test.worker} (for {format_seconds(now - test.started)})\n"
                for test in sorted(self._running, key=lambda test: test.worker)]
