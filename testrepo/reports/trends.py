"""What a window of stored runs says about each test: for ``report --history``.

Everything here is computed from what every repository backend answers
from its index, so 1,000 runs of 20,000 tests cost a few seconds:

* the runs' records (counts, duration, start, metadata such as host and job);
* each run's failed test ids (``Repository.failed_tests``);
* the full per-test results (status, seconds) of a few *sampled* runs only,
  the oldest and newest full runs of the window (``Repository.test_results``),
  for the tests that got slower.

A test's *results* in the window are one per counted run, oldest first:
failed where the run failed it, passed otherwise. The counted runs are the
full runs (not partial, not interrupted; they ran the whole suite) plus the
partial or interrupted runs that failed it: the index records which tests a
run failed, not which tests a partial run passed. So::

    full runs 3 4 5 7, partial run 6 failed t, runs 4 and 7 failed t too
    t: 3 P  4 F  5 P  6 F  7 F  ->  5 results, 3 failures, flips 3 (P-F, F-P, P-F)

Flips and flip rate mean what they mean in :mod:`testrepo.reports.flaky`
(``testr flaky``); a test with at least ``DEFAULT_MIN_FLIPS`` flips is
flaky (one flip is a test that broke, or was fixed, and stayed so).
"""

from __future__ import annotations

import bisect
import dataclasses
import statistics
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from testrepo.reports.compare import Thresholds
from testrepo.reports.flaky import DEFAULT_MIN_FLIPS, FlakyTest
from testrepo.repository.abstract import RunRecord

# How many full runs at each end of the window are read whole to measure
# slowdowns (median of each end; 3 so one unlucky run does not decide).
SAMPLE_RUNS = 3
UNKNOWN = "(none)"

Results = Mapping[str, Tuple[str, Optional[float]]]


@dataclasses.dataclass(frozen=True)
class TestTrend:
    """One test that failed at least once in the window."""

    test_id: str
    results: int
    failed_runs: Tuple[int, ...]  # oldest first
    flips: int

    @property
    def failures(self) -> int:
        return len(self.failed_runs)

    @property
    def fail_rate(self) -> float:
        return self.failures / self.results if self.results else 0.0

    @property
    def flip_rate(self) -> float:
        return self.flips / (self.results - 1) if self.results > 1 else 0.0

    def as_flaky(self) -> FlakyTest:
        return FlakyTest(self.test_id, self.results, self.results, self.failures, self.flips,
                         0, self.failed_runs[-1])


@dataclasses.dataclass(frozen=True)
class Slowdown:
    """A test whose median time in the newest sampled runs is significantly
    longer (:class:`~testrepo.reports.compare.Thresholds`) than in the oldest."""

    test_id: str
    before: float
    after: float
    points: Tuple[Tuple[int, float], ...]  # (run id, seconds) of every sampled run

    @property
    def ratio(self) -> Optional[float]:
        return self.after / self.before if self.before else None


@dataclasses.dataclass(frozen=True)
class GroupRow:
    """The runs of one (host, job) pair."""

    host: str
    job: str
    runs: int
    failed_runs: int
    median_duration: float
    latest_run: int
    latest_started: Optional[str]


@dataclasses.dataclass(frozen=True)
class Trends:
    records: Tuple[RunRecord, ...]  # the window, oldest first
    tests: Tuple[TestTrend, ...]  # most failures first
    flaky: Tuple[TestTrend, ...]  # flakiest first
    slower: Tuple[Slowdown, ...]  # largest slowdown first
    groups: Tuple[GroupRow, ...]  # most runs first
    sampled: Tuple[Tuple[int, ...], Tuple[int, ...]]  # (oldest, newest) sampled run ids


def full_runs(records: Sequence[RunRecord]) -> List[int]:
    """Ids of the runs that ran the whole suite (neither partial nor interrupted)."""
    return [record.run_id for record in records if not (record.partial or record.interrupted)]


def sample_ids(records: Sequence[RunRecord],
               size: int = SAMPLE_RUNS) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    """The (oldest, newest) runs to read whole for slowdowns: ``size`` full
    runs from each end of the window, disjoint; empty when there are fewer
    than two full runs."""
    ids = full_runs(records)
    if len(ids) < 2:
        return (), ()
    size = min(size, len(ids) // 2)
    return tuple(ids[:size]), tuple(ids[-size:])


def build(records: Sequence[RunRecord], failed: Mapping[int, Sequence[str]],
          samples: Mapping[int, Results], thresholds: Thresholds = Thresholds(),
          min_flips: int = DEFAULT_MIN_FLIPS) -> Trends:
    """The trends of the window ``records`` (oldest first), from each run's
    failed ids and the per-test results of the sampled runs (``samples``,
    keyed by run id, as chosen by :func:`sample_ids`)."""
    tests = test_trends(records, failed)
    flaky = sorted((test for test in tests if test.flips >= min_flips),
                   key=lambda t: (-t.flip_rate, -t.flips, t.test_id))
    oldest, newest = sample_ids(records)
    slower = slowdowns([samples[run_id] for run_id in oldest if run_id in samples],
                       [samples[run_id] for run_id in newest if run_id in samples],
                       [run_id for run_id in oldest + newest if run_id in samples],
                       samples, thresholds)
    return Trends(tuple(records), tuple(tests), tuple(flaky), tuple(slower),
                  tuple(groups(records)), (oldest, newest))


def test_trends(records: Sequence[RunRecord],
                failed: Mapping[int, Sequence[str]]) -> List[TestTrend]:
    """A :class:`TestTrend` per test failed in the window, most failures
    first (then fail rate, then test id). Costs O(failures x log(runs))."""
    full = full_runs(records)
    full_set = set(full)
    failed_runs: Dict[str, List[int]] = {}
    for record in records:
        for test_id in failed.get(record.run_id, ()):
            failed_runs.setdefault(test_id, []).append(record.run_id)
    trends = []
    for test_id, runs in failed_runs.items():
        extra = sum(1 for run_id in runs if run_id not in full_set)
        trends.append(TestTrend(test_id, len(full) + extra, tuple(runs),
                                _flips(runs, full)))
    trends.sort(key=lambda t: (-t.failures, -t.fail_rate, t.test_id))
    return trends


def _flips(failed_runs: List[int], full: List[int]) -> int:
    """Changes between consecutive results: each flip has exactly one
    failed end, so count, for every failed run, a passing neighbour on
    either side. A neighbour is the nearest counted run: a full run or
    another failed run."""
    failed_set = set(failed_runs)
    flips = 0
    for index, run_id in enumerate(failed_runs):
        position = bisect.bisect_left(full, run_id)
        before = full[position - 1] if position > 0 else None
        if index > 0 and (before is None or failed_runs[index - 1] > before):
            before = failed_runs[index - 1]
        after_position = position + (position < len(full) and full[position] == run_id)
        after = full[after_position] if after_position < len(full) else None
        if index + 1 < len(failed_runs) and (after is None or failed_runs[index + 1] < after):
            after = failed_runs[index + 1]
        flips += (before is not None and before not in failed_set)
        flips += (after is not None and after not in failed_set)
    return flips


def slowdowns(oldest: Sequence[Results], newest: Sequence[Results], point_runs: Sequence[int],
              samples: Mapping[int, Results], thresholds: Thresholds) -> List[Slowdown]:
    """Tests timed in both ends whose median time grew significantly,
    largest growth first."""
    before = _medians(oldest)
    after = _medians(newest)
    found = []
    for test_id in sorted(before.keys() & after.keys()):
        old, new = before[test_id], after[test_id]
        if new > old and thresholds.significant(old, new):
            points = tuple((run_id, samples[run_id][test_id][1]) for run_id in point_runs
                           if samples[run_id].get(test_id, (None, None))[1] is not None)
            found.append(Slowdown(test_id, old, new, points))
    found.sort(key=lambda s: (-(s.after - s.before), s.test_id))
    return found


def _medians(runs: Sequence[Results]) -> Dict[str, float]:
    times: Dict[str, List[float]] = {}
    for results in runs:
        for test_id, (_, seconds) in results.items():
            if seconds is not None:
                times.setdefault(test_id, []).append(seconds)
    return {test_id: statistics.median(values) for test_id, values in times.items()}


def groups(records: Sequence[RunRecord]) -> List[GroupRow]:
    """Runs per (host, job) from the run metadata, most runs first."""
    by_key: Dict[Tuple[str, str], List[RunRecord]] = {}
    for record in records:
        key = (record.metadata.get("host") or UNKNOWN, record.metadata.get("job") or UNKNOWN)
        by_key.setdefault(key, []).append(record)
    rows = [GroupRow(host, job, len(runs), sum(1 for r in runs if r.failed),
                     statistics.median(r.duration for r in runs), runs[-1].run_id,
                     runs[-1].started)
            for (host, job), runs in by_key.items()]
    rows.sort(key=lambda row: (-row.runs, row.host, row.job))
    return rows
