"""Faults during a run: crashed workers, hung tests, fixtures that fail.

Every planned test must end with a result or an explicit failure; none is
lost.  Each case runs the real CLI on a generated suite, in both the
built-in runner and command mode where the behaviour applies to both.
"""

import testtools

from tests.cli.test_run import stored_events, totals
from tests.fixtures import SampleProject
from tests.harness import testr

# 12 ordinary tests around the faulty one, so that a crash mid-partition
# has tests queued behind it.
PLAIN_TESTS = "".join(f"    def test_{n:02d}(self):\n        pass\n\n" for n in range(12))

CRASH_TESTS = f'''\
import ctypes
import os
import signal
import time
import unittest


class TestBefore(unittest.TestCase):

{PLAIN_TESTS}

class TestCrash(unittest.TestCase):

    def test_exit(self):
        os._exit(3)

    def test_segv(self):
        signal.signal(signal.SIGSEGV, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGSEGV)

    def test_hang(self):
        time.sleep(600)


class TestAfter(unittest.TestCase):

{PLAIN_TESTS}
'''

FIXTURE_TESTS = '''\
import unittest


class TestBrokenFixture(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        raise RuntimeError("no database")

    def test_one(self):
        pass

    def test_two(self):
        pass


class TestFine(unittest.TestCase):

    def test_ok(self):
        pass
'''


def result_ids(events, statuses=("success", "fail", "skip")):
    return [event[1] for event in events if event[2] in statuses]


class FaultContract:
    config = None

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config=self.config, tests=CRASH_TESTS))

    def cli(self, *args):
        return testr(self.project.path, *args)

    def assert_all_accounted(self, events, expected_failures):
        failed = sorted(result_ids(events, ("fail",)))
        self.assertEqual(sorted(expected_failures), failed)
        passed = result_ids(events, ("success",))
        self.assertEqual(24, len(passed), passed)
        self.assertEqual(len(passed), len(set(passed)))

    def test_os_exit_fails_that_test_and_the_rest_still_runs(self):
        code, out, err = self.cli("run", "Before|After|test_exit", "--concurrency", "2")
        self.assertEqual(1, code, out + err)
        self.assertIn("exited with code 3 while running sample.test_sample.TestCrash.test_exit",
                      out)
        self.assertEqual((24, 1, 0), totals(out))
        _, events = stored_events(self.project.path)
        self.assert_all_accounted(events, ["sample.test_sample.TestCrash.test_exit"])

    def test_segfault_is_named(self):
        code, out, _ = self.cli("run", "Before|After|test_segv", "--serial")
        self.assertEqual(1, code)
        self.assertIn("died with SIGSEGV while running sample.test_sample.TestCrash.test_segv",
                      out)
        self.assertEqual((24, 1, 0), totals(out))

    def test_hung_test_times_out_and_the_run_goes_on(self):
        # Half a second: a thousand times what the other tests take (the
        # timeout runs from each test's start), and the wait of the hung one.
        code, out, _ = self.cli("run", "Before|After|test_hang", "--serial", "--timeout", "0.5")
        self.assertEqual(1, code)
        self.assertIn("sample.test_sample.TestCrash.test_hang timed out after 0.5 s", out)
        self.assertEqual((24, 1, 0), totals(out))
        _, events = stored_events(self.project.path)
        self.assert_all_accounted(events, ["sample.test_sample.TestCrash.test_hang"])

    def test_restart_budget_reports_the_rest_as_not_run(self):
        code, out, _ = self.cli("run", "TestCrash.test_(exit|segv)|After", "--serial",
                                  "--max-worker-restarts", "0")
        self.assertEqual(1, code)
        self.assertIn("was not run", out)
        _, events = stored_events(self.project.path)
        self.assertEqual(14, len(result_ids(events)))


class TestBuiltinFaults(FaultContract, testtools.TestCase):
    config = "stestr"

    def test_timeout_shows_the_hung_tests_traceback(self):
        code, out, _ = self.cli("run", "test_hang", "--timeout", "0.5")
        self.assertEqual(1, code)
        self.assertIn("time.sleep(600)", out)

    def test_class_fixture_failure_fails_its_tests_explicitly(self):
        self.project.write("sample/test_sample.py", FIXTURE_TESTS)
        code, out, _ = self.cli("run", "--serial")
        self.assertEqual(1, code)
        self.assertIn("RuntimeError: no database", out)
        self.assertIn("TestBrokenFixture.test_one was handed to worker 0 but it reported no "
                      "result", out)
        _, failing, _ = self.cli("failing", "--list")
        self.assertIn("sample.test_sample.TestBrokenFixture.test_two", failing.split())

    def test_test_output_is_captured_and_stored(self):
        self.project.write("sample/test_sample.py",
                           "import sys, unittest\n\nclass T(unittest.TestCase):\n"
                           "    def test_talks(self):\n        print('to stdout')\n"
                           "        sys.stderr.write('to stderr')\n")
        code, out, _ = self.cli("run")
        self.assertEqual(0, code)
        self.assertIn("to stdout", out)
        _, events = stored_events(self.project.path)
        attached = {event[5]: event[6] for event in events if event[5]}
        self.assertEqual(b"to stdout\n", bytes(attached["stdout"]))
        self.assertEqual(b"to stderr", bytes(attached["stderr"]))


class TestCommandModeFaults(FaultContract, testtools.TestCase):
    config = "testr"
