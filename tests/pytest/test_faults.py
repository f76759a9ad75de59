"""pytest suites that crash, hang or cannot be collected: every planned
test ends with a result, and bad input is one line with its exit code."""

import os
import sys

import testtools

from tests.cli.test_run import totals
from tests.fixtures import once_per_process
from tests.harness import testr
from tests.pytest.suites import (
    PytestProject,
    attachments,
    final_statuses,
    needs_pytest,
    pytest_ini,
    together,
)
from tests.streams import Result, failure, load_run

PLAIN = "".join(f"\n\ndef test_plain_{n}():\n    pass\n" for n in range(8))

CRASHES = f'''\
import os
import signal
import time


def test_segv():
    signal.signal(signal.SIGSEGV, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGSEGV)


def test_hang():
    time.sleep(600)
{PLAIN}'''


# pytest's faulthandler plugin re-arms faulthandler's one timer for each
# test (faulthandler_timeout) and cancels it whenever a test fails: before
# either, --timeout's timer must still be the one that fires.
SLOW_AFTER_FAILURE = '''\
import time

import pytest


@pytest.fixture
def slow_teardown():
    yield
    time.sleep(20)


def test_fails_then_hangs_in_teardown(slow_teardown):
    assert False


def test_hangs():
    time.sleep(20)
'''


OK = {"tests/test_ok.py": "def test_ok():\n    pass\n"}


def start_runs(runs):
    """The runs of the tests below, each in a project of its own."""
    timeout = ("run", "--concurrency", "2", "--timeout", "1")
    runs.testr("crash-and-hang", PytestProject({"tests/test_crash.py": CRASHES}), *timeout)
    runs.testr("faulthandler-timeout", PytestProject(
        {"tests/test_slow.py": SLOW_AFTER_FAILURE},
        ini=pytest_ini("", "faulthandler_timeout = 100")), *timeout, "--", "-k", "test_hangs")
    runs.testr("teardown", PytestProject({"tests/test_slow.py": SLOW_AFTER_FAILURE}),
               *timeout, "--", "-k", "teardown")
    runs.testr("collection-error", PytestProject(
        {**OK, "tests/test_broken.py": "def test_broken(:\n"}), "run")
    runs.testr("conftest-crashes", PytestProject(
        {**OK, "tests/conftest.py": "raise RuntimeError('conftest exploded')\n"}), "run")
    # -S: no site-packages, so no pytest; PYTHONPATH still finds testrepo.
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    runs.testr("no-pytest", PytestProject(OK), "run",
               env={"PYTHON": f"{sys.executable} -S", "PYTHONPATH": top})


@once_per_process
def fault_runs():
    """The runs of start_runs(), started together."""
    return together(start_runs)


@needs_pytest
class TestCrashAndHang(testtools.TestCase):

    def test_crash_and_hang_are_failures_and_the_rest_runs(self):
        project, code, out, err = fault_runs().answer("crash-and-hang")
        self.assertEqual(1, code, err)
        statuses = final_statuses(project.path)
        expected = {f"tests/test_crash.py::test_plain_{n}": "success" for n in range(8)}
        expected.update({"tests/test_crash.py::test_segv": "fail",
                         "tests/test_crash.py::test_hang": "fail"})
        self.assertEqual(expected, statuses)
        segv = attachments(project.path, "tests/test_crash.py::test_segv")["traceback"]
        self.assertIn(b"SIGSEGV", segv)
        hang = attachments(project.path, "tests/test_crash.py::test_hang")["traceback"]
        self.assertIn(b"timed out after 1 s", hang)
        self.assertIn(b"time.sleep(600)", hang)  # the hung test's stack


@needs_pytest
class TestTimeoutAndPytestsFaulthandler(testtools.TestCase):

    def assertTimedOut(self, project, test_id):
        traceback = attachments(project.path, test_id)["traceback"]
        self.assertIn(b"timed out after 1 s", traceback)
        self.assertIn(b"time.sleep(20)", traceback)

    def test_timeout_fires_with_faulthandler_timeout_configured(self):
        project, code, out, err = fault_runs().answer("faulthandler-timeout")
        self.assertEqual(1, code, out + err)
        self.assertTimedOut(project, "tests/test_slow.py::test_hangs")

    def test_timeout_covers_the_teardown_of_a_failed_test(self):
        project, code, out, err = fault_runs().answer("teardown")
        self.assertEqual(1, code, out + err)
        self.assertTimedOut(project, "tests/test_slow.py::test_fails_then_hangs_in_teardown")


@needs_pytest
class TestBadInput(testtools.TestCase):

    def assertOneLine(self, name, expected_code, fragment):
        _, code, out, err = fault_runs().answer(name)
        self.assertEqual(expected_code, code, out + err)
        first = err.splitlines()[0]
        self.assertTrue(first.startswith("testr: "), err)
        self.assertIn(fragment, first)
        self.assertNotIn("Traceback (most recent call last)", err.split("\n", 1)[0])
        return err

    def test_collection_error(self):
        err = self.assertOneLine("collection-error", 5, "listing tests failed")
        self.assertIn("test_broken.py", err)  # pytest's report of the error follows

    def test_conftest_that_crashes(self):
        err = self.assertOneLine("conftest-crashes", 5, "listing tests failed")
        self.assertIn("conftest exploded", err)

    def test_pytest_not_importable(self):
        _, code, out, err = fault_runs().answer("no-pytest")
        self.assertEqual(5, code, out + err)
        self.assertTrue(err.startswith("testr: listing tests failed"), err)
        self.assertIn("pytest cannot be imported", err)

    def test_failing_test_that_no_longer_exists(self):
        # The stored run: test_gone failed, in a module since removed.
        project = self.useFixture(PytestProject(OK))
        self.assertEqual(1, load_run(project, [failure("tests/test_gone.py::test_gone"),
                                               Result("tests/test_ok.py::test_ok")])[0])
        code, out, err = testr(project.path, "run", "--failing")
        self.assertEqual(0, code, err)
        self.assertIn("None of the 1 failing test(s) is in the current test listing", out)
        code, out, err = testr(project.path, "run")
        self.assertEqual(0, code, err)
        self.assertEqual((1, 0, 0), totals(out))
