"""`testr run --retry N`: failed tests run again on fresh workers; one that
fails and then passes is flaky, not a plain pass."""

import testtools

from tests.cli.test_run import stored_events, totals
from tests.fixtures import SampleProject, run_testrepo
from tests.harness import run_cli

RETRY_TESTS = '''\
import os
import unittest


class TestRetry(unittest.TestCase):

    def test_flaky(self):
        # Fails the first time it runs in this project, passes after.
        if not os.path.exists("ran-once"):
            open("ran-once", "w").close()
            self.fail("first attempt fails")

    def test_broken(self):
        self.fail("always")

    def test_fine(self):
        pass
'''


class RetryContract:
    config = None

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config=self.config, tests=RETRY_TESTS))

    def test_flaky_test_passes_on_retry_and_is_recorded_as_flaky(self):
        code, out, err = run_testrepo(self.project.path, "run", "--retry", "2",
                                      "test_flaky|test_fine")
        self.assertEqual(0, code, out + err)
        self.assertIn("Retrying 1 failed test(s)", out)
        self.assertIn("flaky=1", out)
        self.assertEqual((2, 0, 0), totals(out))
        run, events = stored_events(self.project.path)
        attempts = [e[2] for e in events
                    if e[1] == "sample.test_sample.TestRetry.test_flaky"
                    and e[2] in ("success", "fail")]
        self.assertEqual(["fail", "success"], attempts)
        self.assertEqual("1", run.record.metadata["flaky"])
        _, failing, _ = run_cli(self.project.path, "failing", "--list")
        self.assertEqual("", failing)

    def test_a_test_that_keeps_failing_is_tried_n_plus_one_times(self):
        code, out, _ = run_testrepo(self.project.path, "run", "--retry", "2", "test_broken")
        self.assertEqual(1, code)
        self.assertEqual((0, 1, 0), totals(out))
        _, events = stored_events(self.project.path)
        self.assertEqual(3, len([e for e in events if e[2] == "fail"]))

    def test_no_retry_by_default(self):
        code, out, _ = run_testrepo(self.project.path, "run", "test_flaky")
        self.assertEqual(1, code)
        self.assertNotIn("Retrying", out)


class TestBuiltinRetry(RetryContract, testtools.TestCase):
    config = "stestr"


class TestCommandModeRetry(RetryContract, testtools.TestCase):
    config = "testr"
