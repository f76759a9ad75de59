"""find_flaky(): windows per test, flips, rates, retries, lazy history."""

import testtools

from testrepo.reports.flaky import collect_windows, find_flaky, measure
from tests.streams import Result, failure, run_results


def history(*runs):
    """(run id, outcomes) newest first, from runs given oldest first as
    ``{test_id: "P" | "F" | "S" | "FP" (retried)}``."""
    built = []
    for run_id, run in enumerate(runs):
        results = []
        for test_id, letters in run.items():
            for letter in letters:
                results.append({"P": Result(test_id), "F": failure(test_id),
                                "S": Result(test_id, "skip")}[letter])
        built.append((run_id, run_results(*results).outcomes))
    return list(reversed(built))


class TestFindFlaky(testtools.TestCase):

    def test_alternating_test_is_flaky_and_stable_ones_are_not(self):
        runs = history(*({"t.flaky": letter, "t.stable": "P", "t.broken": "F"}
                         for letter in "PFPFP"))
        (found,) = find_flaky(runs)
        self.assertEqual("t.flaky", found.test_id)
        self.assertEqual((5, 5, 2, 4, 3), (found.runs, found.results, found.failures,
                                           found.flips, found.last_failing_run))
        self.assertEqual(1.0, found.flip_rate)
        self.assertEqual(0.4, found.fail_rate)

    def test_one_breakage_that_stays_is_not_flaky_by_default(self):
        runs = history(*({"t.broke": letter} for letter in "PPPFF"))
        self.assertEqual([], find_flaky(runs))
        (found,) = find_flaky(runs, min_flips=1)
        self.assertEqual((1, 4), (found.flips, found.last_failing_run))

    def test_retry_that_passed_is_flaky_even_with_one_flip(self):
        runs = history({"t.retried": "P"}, {"t.retried": "FP"}, {"t.retried": "P"})
        (found,) = find_flaky(runs)
        self.assertEqual((3, 4, 1, 2, 1, 1), (found.runs, found.results, found.failures,
                                              found.flips, found.retried, found.last_failing_run))

    def test_skips_do_not_count_as_results(self):
        runs = history(*({"t.x": letter} for letter in "PSFSP"))
        (found,) = find_flaky(runs)
        self.assertEqual((3, 3, 2), (found.runs, found.results, found.flips))

    def test_window_is_the_n_most_recent_runs_that_ran_the_test(self):
        # t.rerun fails in old runs and runs alone in later partial runs.
        runs = history({"t.rerun": "F", "t.other": "P"}, {"t.rerun": "F", "t.other": "P"},
                       {"t.rerun": "P"}, {"t.rerun": "F"}, {"t.rerun": "P"})
        windows = collect_windows(runs, runs=3)
        self.assertEqual([4, 3, 2], [run_id for run_id, _ in windows["t.rerun"]])
        self.assertEqual(2, measure("t.rerun", windows["t.rerun"]).flips)

    def test_tests_that_did_not_run_recently_are_ignored(self):
        runs = history({"t.gone": "F"}, {"t.gone": "P"}, {"t.gone": "F"}, {"t.now": "P"})
        self.assertNotIn("t.gone", collect_windows(runs, runs=1))

    def test_history_is_read_only_as_far_as_needed(self):
        pulled = []

        def lazy():
            for run_id, outcomes in history(*({"t.a": "P"} for _ in range(20))):
                pulled.append(run_id)
                yield run_id, outcomes

        collect_windows(lazy(), runs=3)
        self.assertEqual([19, 18, 17], pulled)

    def test_flakiest_first(self):
        runs = history({"t.b": "P", "t.a": "P"}, {"t.b": "F", "t.a": "F"},
                       {"t.b": "P", "t.a": "P"}, {"t.b": "P", "t.a": "F"})
        self.assertEqual(["t.a", "t.b"], [t.test_id for t in find_flaky(runs)])
