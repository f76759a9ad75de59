"""Per-test outcomes rebuilt from a run's events."""

import testtools

from testrepo.reports.outcomes import exception_line, split_test_id
from tests.streams import Result, failure, run_results


class TestAttemptCollector(testtools.TestCase):

    def test_each_final_status_is_one_attempt_with_its_duration(self):
        results = run_results(Result("a.T.test_one", duration=0.25),
                              failure("a.T.test_two", duration=1.5))
        self.assertEqual(["a.T.test_one", "a.T.test_two"], list(results.outcomes))
        one, two = results.outcomes.values()
        self.assertEqual((True, 0.25), (one.passed, one.duration))
        self.assertEqual((True, 1.5), (two.failed, two.duration))
        self.assertIn("AssertionError: it broke", two.final.attachments["traceback"])

    def test_fail_then_success_in_one_run_is_retried_flaky(self):
        results = run_results(failure("a.T.test_x"), Result("a.T.test_x"))
        outcome = results.outcomes["a.T.test_x"]
        self.assertEqual(2, len(outcome.attempts))
        self.assertTrue(outcome.passed)
        self.assertTrue(outcome.retried_flaky)

    def test_success_then_fail_is_a_failure_not_a_retry(self):
        outcome = run_results(Result("a.T.test_x"), failure("a.T.test_x")).outcomes["a.T.test_x"]
        self.assertTrue(outcome.failed)
        self.assertFalse(outcome.retried_flaky)

    def test_skip_is_neither_passed_nor_failed_and_did_not_run(self):
        outcome = run_results(Result("a.T.test_s", "skip", reason="later")).outcomes["a.T.test_s"]
        self.assertEqual((False, False, True, False),
                         (outcome.passed, outcome.failed, outcome.skipped, outcome.ran))
        self.assertEqual("later", outcome.final.attachments["reason"])

    def test_uxsuccess_counts_as_failure(self):
        outcome = run_results(Result("a.T.test_u", "uxsuccess")).outcomes["a.T.test_u"]
        self.assertTrue(outcome.failed)

    def test_attempts_are_ordered_by_start_time(self):
        results = run_results(Result("a.T.late", start=5.0), Result("a.T.early", start=1.0))
        self.assertEqual(["a.T.early", "a.T.late"], [a.test_id for a in results.attempts])


class TestHelpers(testtools.TestCase):

    def test_exception_line_is_the_last_non_blank_line(self):
        traceback = "Traceback (most recent call last):\n  x\nRuntimeError: boom\n\n"
        self.assertEqual("RuntimeError: boom", exception_line(traceback))
        self.assertEqual("", exception_line(""))

    def test_split_test_id_ignores_dots_in_parameters(self):
        self.assertEqual(("pkg.mod.Class", "test_a(x.y)"),
                         split_test_id("pkg.mod.Class.test_a(x.y)"))
        self.assertEqual(("pkg.T", "test_b[1.5]"), split_test_id("pkg.T.test_b[1.5]"))
        self.assertEqual(("", "process-returncode"), split_test_id("process-returncode"))
