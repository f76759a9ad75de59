"""Find flaky tests: tests whose result changes between recent runs.

For each test that ran (passed or failed; skips do not count) in one of the
``runs`` most recent runs, its *window* is its results in the ``runs`` most
recent runs that ran it, looking back at most ``runs * LOOKBACK`` runs (a
``--failing`` rerun runs only some tests, so their windows reach further
back). The window's attempts, oldest first, form a pass/fail sequence;
a retried test contributes every attempt of its run::

    run 5: P   run 6: F   run 7: F then P (retried)   run 8: P
    sequence P F F P P  ->  flips 2, flip rate 2/4 = 0.50, fail rate 2/5 = 0.40

* ``flips``: changes between consecutive results (pass <-> fail).
* ``flip rate``: flips / (results - 1): 0 is stable (always passing, or
  always failing: broken, not flaky), 1 alternates on every result.
* ``fail rate``: failed results / results.
* ``retried``: runs in which the test failed and then passed (a retry).

A test is reported when it has at least ``min_flips`` flips (default 2: a
test that broke or was fixed once and stayed so changed state but is not
flaky) or was retried into passing in any run.
"""

from __future__ import annotations

import dataclasses
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

from testrepo.options import FLAKY_COLUMNS
from testrepo.reports.outcomes import TestAttempts

LOOKBACK = 4
DEFAULT_RUNS = 10
DEFAULT_MIN_FLIPS = 2

COLUMNS = FLAKY_COLUMNS


@dataclasses.dataclass(frozen=True)
class FlakyTest:
    test_id: str
    runs: int
    results: int
    failures: int
    flips: int
    retried: int
    last_failing_run: Optional[int]

    @property
    def flip_rate(self) -> float:
        return self.flips / (self.results - 1) if self.results > 1 else 0.0

    @property
    def fail_rate(self) -> float:
        return self.failures / self.results if self.results else 0.0

    def row(self) -> tuple:
        return (self.test_id, self.runs, self.results, self.failures, self.flips,
                round(self.flip_rate, 2), round(self.fail_rate, 2), self.retried,
                self.last_failing_run)


Window = List[Tuple[int, TestAttempts]]


def collect_windows(history: Iterable[Tuple[int, Mapping[str, TestAttempts]]],
                    runs: int = DEFAULT_RUNS) -> Dict[str, Window]:
    """Each test's window (newest first) from ``history``: ``(run id,
    outcomes)`` pairs, newest run first. Stops pulling from ``history`` as
    soon as every window is full, so a lazy history parses few streams."""
    windows: Dict[str, Window] = {}
    for scanned, (run_id, outcomes) in enumerate(history, 1):
        for test_id, outcome in outcomes.items():
            if not outcome.ran:
                continue
            window = windows.get(test_id)
            if window is None:
                if scanned > runs:
                    continue  # did not run in the `runs` most recent runs
                window = windows[test_id] = []
            if len(window) < runs:
                window.append((run_id, outcome))
        if scanned >= runs * LOOKBACK:
            break
        if scanned >= runs and all(len(window) >= runs for window in windows.values()):
            break
    return windows


def measure(test_id: str, window: Window) -> FlakyTest:
    """Flips, rates and the last failing run of one test's window."""
    results: List[bool] = []  # True = failed, oldest first
    retried = 0
    last_failing_run = None
    for run_id, outcome in reversed(window):
        attempts = [attempt for attempt in outcome.attempts if not attempt.skipped]
        results.extend(attempt.failed for attempt in attempts)
        retried += outcome.retried_flaky
        if any(attempt.failed for attempt in attempts):
            last_failing_run = run_id
    flips = sum(1 for before, after in zip(results, results[1:]) if before != after)
    return FlakyTest(test_id, len(window), len(results), sum(results), flips, retried,
                     last_failing_run)


def find_flaky(history: Iterable[Tuple[int, Mapping[str, TestAttempts]]],
               runs: int = DEFAULT_RUNS, min_flips: int = DEFAULT_MIN_FLIPS) -> List[FlakyTest]:
    """The flaky tests of ``history`` (newest run first), flakiest first:
    by flip rate, then flips, then test id."""
    found = []
    for test_id, window in collect_windows(history, runs).items():
        measured = measure(test_id, window)
        if measured.flips >= min_flips or measured.retried:
            found.append(measured)
    return sorted(found, key=lambda t: (-t.flip_rate, -t.flips, t.test_id))
