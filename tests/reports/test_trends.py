"""Trends of a window of runs, data in, data out."""

import random

import testtools

from testrepo.reports import trends
from testrepo.repository.abstract import RunRecord


def record(run_id, partial=False, failed=0, host=None, job=None, duration=1.0):
    metadata = {key: value for key, value in (("host", host), ("job", job)) if value}
    return RunRecord(run_id, 10 - failed, failed, 0, duration, None, partial, False, metadata)


def brute_force_flips(records, failed_runs):
    """The flips of the result sequence written out run by run."""
    sequence = [run.run_id in failed_runs for run in records
                if not run.partial or run.run_id in failed_runs]
    return sum(1 for before, after in zip(sequence, sequence[1:]) if before != after)


class TestTestTrends(testtools.TestCase):

    def test_the_docstring_example(self):
        records = [record(3), record(4), record(5), record(6, partial=True), record(7)]
        (trend,) = trends.test_trends(records, {4: ["t"], 6: ["t"], 7: ["t"]})
        self.assertEqual((5, 3, 3), (trend.results, trend.failures, trend.flips))

    def test_flips_match_the_sequence_written_out(self):
        rng = random.Random(15)
        for _ in range(300):
            records = [record(run_id, partial=rng.random() < 0.3)
                       for run_id in sorted(rng.sample(range(40), rng.randint(1, 20)))]
            failed_runs = {run.run_id for run in records if rng.random() < 0.4}
            found = trends.test_trends(records, {run_id: ["t"] for run_id in failed_runs})
            if not failed_runs:
                self.assertEqual([], found)
                continue
            self.assertEqual(brute_force_flips(records, failed_runs), found[0].flips)

    def test_most_failures_first(self):
        records = [record(0), record(1), record(2)]
        found = trends.test_trends(records, {0: ["a", "b"], 1: ["b"], 2: ["c", "b"]})
        self.assertEqual(["b", "a", "c"], [trend.test_id for trend in found])


class TestSlowdowns(testtools.TestCase):

    def test_median_of_each_end_and_compare_thresholds(self):
        records = [record(run_id) for run_id in range(6)]
        self.assertEqual(((0, 1, 2), (3, 4, 5)), trends.sample_ids(records))
        samples = {run_id: {"slow": ("success", [1.0, 9.0, 1.0, 2.5, 2.5, 0.1][run_id]),
                            "noise": ("success", 0.001 * (run_id + 1)),
                            "skipped": ("skip", None)}
                   for run_id in range(6)}
        built = trends.build(records, {}, samples)
        (slower,) = built.slower
        self.assertEqual(("slow", 1.0, 2.5), (slower.test_id, slower.before, slower.after))
        self.assertEqual(6, len(slower.points))

    def test_no_samples_without_two_full_runs(self):
        self.assertEqual(((), ()), trends.sample_ids([record(0), record(1, partial=True)]))


class TestGroups(testtools.TestCase):

    def test_runs_by_host_and_job(self):
        records = [record(0, host="a", job="unit", failed=1), record(1, host="a", job="unit"),
                   record(2, host="b", duration=3.0)]
        self.assertEqual(
            [trends.GroupRow("a", "unit", 2, 1, 1.0, 1, None),
             trends.GroupRow("b", trends.UNKNOWN, 1, 0, 3.0, 2, None)],
            trends.groups(records))
