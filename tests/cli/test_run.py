"""End-to-end tests of `testr run`, `failing`, `last` on generated projects."""

import io
import re

import subunit
import testtools
from testtools.testresult.doubles import StreamResult as RecordingResult

from testrepo import api
from testrepo.options import Project
from tests.fixtures import (SAMPLE_FAILURES, ProjectCopy, SampleProject, once_per_process,
                            run_testrepo)
from tests.harness import run_cli, testr

TOTALS = re.compile(r"^Totals: (\d+) passed, (\d+) failed, (\d+) skipped$", re.M)


def totals(stdout):
    matches = TOTALS.findall(stdout)
    return tuple(int(n) for n in matches[-1]) if matches else None


def stored_events(project_path, run_id=None):
    repo = api.open_repository(Project(directory=project_path))
    run = repo.get_run(repo.latest_id() if run_id is None else run_id)
    recorder = RecordingResult()
    run.replay(recorder)
    return run, [event for event in recorder._events if event[0] == "status"]


@once_per_process
def run_once(config, package):
    """A sample project (``config``, ``package``) after one `testr run
    --concurrency 2`, made once per test process; ``answer`` is the run's
    (exit code, stdout, stderr).  Tests that run more copy it."""
    project = SampleProject(config=config, package=package)
    project.setUp()
    project.answer = run_testrepo(project.path, "run", "--concurrency", "2")
    return project


class RunContract:
    """The core run/failing/rerun cycle; each subclass picks a config style.
    The tests share one first run (:func:`run_once`)."""

    config = None
    package = "sample"

    def setUp(self):
        super().setUp()
        self.ran = run_once(self.config, self.package)
        self.project = self.useFixture(ProjectCopy(self.ran.path))

    def cli(self, *args, **kwargs):
        return testr(self.project.path, *args, **kwargs)

    def failing_ids(self):
        return [f.replace("sample.", self.package + ".", 1) for f in SAMPLE_FAILURES]

    def test_run_reports_counts_and_exits_1(self):
        code, out, err = self.ran.answer
        self.assertEqual(1, code, out + err)
        self.assertEqual((4, 2, 1), totals(out))
        self.assertEqual("Totals: 4 passed, 2 failed, 1 skipped", out.rstrip().splitlines()[-1])
        self.assertIn(f"{self.package}.test_sample.TestAlpha.test_fail", out)
        self.assertIn("AssertionError: alpha is broken", out)
        self.assertIn("RuntimeError: boom", out)
        self.assertNotIn("Traceback (most recent call last)", err)

    def test_results_are_stored_with_worker_tags(self):
        run, events = stored_events(self.project.path)
        self.assertEqual((4, 2, 1), (run.record.passed, run.record.failed, run.record.skipped))
        workers = {tag for event in events for tag in (event[3] or ()) if tag.startswith("worker-")}
        self.assertEqual({"worker-0", "worker-1"}, workers)

    def test_failing_lists_exactly_the_failures(self):
        code, out, _ = self.cli("failing", "--list")
        self.assertEqual(1, code)
        self.assertEqual(self.failing_ids(), out.split())

    def test_run_failing_reruns_only_failures_and_set_shrinks(self):
        self.project.write("fixed", "")
        code, out, err = self.cli("run", "--failing")
        self.assertEqual(1, code, out + err)
        self.assertEqual((1, 1, 0), totals(out))
        self.assertNotIn("test_pass ", out)
        code, out, _ = self.cli("failing", "--list")
        self.assertEqual([self.failing_ids()[0]], out.split())

    def test_last_slowest_and_stats(self):
        code, out, _ = self.cli("last")
        self.assertEqual(1, code)
        self.assertEqual((4, 2, 1), totals(out))
        self.assertIn("RuntimeError: boom", out)
        code, out, _ = self.cli("slowest")
        self.assertEqual(0, code)
        self.assertIn(f"{self.package}.test_sample.TestBeta.test_slow", out.splitlines()[3])
        code, out, _ = self.cli("stats")
        self.assertEqual(0, code)
        self.assertRegex(out, r"runs\s*\|\s*1\b")


class TestBuiltinZeroConfig(RunContract, testtools.TestCase):
    """No config file at all: discovery from ``tests/``."""

    package = "tests"


class TestTestrConf(RunContract, testtools.TestCase):
    config = "testr"


class TestStestrConf(RunContract, testtools.TestCase):
    config = "stestr"


class TestRunBehaviour(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config="stestr"))

    def cli(self, *args, **kwargs):
        return testr(self.project.path, *args, **kwargs)

    def test_run_failing_with_nothing_failing_exits_0(self):
        self.project.write("fixed", "")
        self.cli("run", "TestBeta")
        code, out, _ = run_cli(self.project.path, "run", "--failing")
        self.assertEqual(0, code)
        self.assertIn("No failing tests", out)

    def test_filtered_run_keeps_failures_it_did_not_run(self):
        self.project = self.useFixture(ProjectCopy(run_once("stestr", "sample").path))
        code, out, _ = self.cli("run", "TestBeta")
        self.assertEqual(0, code)
        self.assertEqual((3, 0, 0), totals(out))
        _, out, _ = self.cli("failing", "--list")
        self.assertEqual(SAMPLE_FAILURES, out.split())

    def test_full_run_replaces_failing_set(self):
        self.project = self.useFixture(ProjectCopy(run_once("stestr", "sample").path))
        self.project.write("sample/test_sample.py", "import unittest\n\n"
                           "class T(unittest.TestCase):\n    def test_ok(self):\n        pass\n")
        code, _, _ = self.cli("run")
        self.assertEqual(0, code)
        code, out, _ = self.cli("failing", "--list")
        self.assertEqual((0, ""), (code, out))

    def test_random_seed_is_reproducible_and_stored(self):
        orders = []
        for _ in range(2):
            code, out, _ = self.cli("run", "--serial", "--random", "--seed", "7")
            self.assertIn("seed 7", out)
            run, events = stored_events(self.project.path)
            self.assertEqual("7", run.record.metadata["seed"])
            orders.append([e[1] for e in events if e[2] == "inprogress"])
        self.assertEqual(orders[0], orders[1])
        code, out, _ = self.cli("run", "--serial")
        _, events = stored_events(self.project.path)
        unshuffled = [e[1] for e in events if e[2] == "inprogress"]
        self.assertEqual(sorted(unshuffled), sorted(orders[0]))
        self.assertNotEqual(unshuffled, orders[0])

    def test_subunit_output_is_v2(self):
        code, out, _ = self.cli("run", "--subunit", binary=True)
        self.assertEqual(1, code)
        recorder = RecordingResult()
        subunit.ByteStreamToStreamResult(io.BytesIO(out)).run(recorder)
        finished = [e for e in recorder._events if e[0] == "status" and e[2] in ("success", "fail", "skip")]
        self.assertEqual(7, len(finished))

    def test_worker_crash_is_a_failure(self):
        self.project.write("sample/test_crash.py", "import os, unittest\n\n"
                           "class TestCrash(unittest.TestCase):\n"
                           "    def test_exit(self):\n        os._exit(3)\n")
        code, out, _ = self.cli("run", "TestCrash", "--serial")
        self.assertEqual(1, code)
        self.assertIn("worker 0 exited with code 3 while running sample.test_crash.TestCrash.test_exit", out)
        self.assertEqual((0, 1, 0), totals(out))

    def test_no_test_matching_filter_is_usage_error(self):
        code, out, err = self.cli("run", "nothing-matches-this")
        self.assertEqual(2, code)
        self.assertIn("no test matched", err)

    def test_bad_regex_is_usage_error(self):
        code, _, err = self.cli("run", "(unclosed")
        self.assertEqual(2, code)
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertIn("invalid regular expression '(unclosed'", err)

    def test_import_error_while_listing_exits_5_with_traceback(self):
        self.project.write("sample/test_broken.py", "import no_such_module_here\n")
        code, out, err = self.cli("run")
        self.assertEqual(5, code)
        self.assertIn("listing tests failed", err)
        self.assertIn("No module named 'no_such_module_here'", err)

    def test_stdout_noise_does_not_break_the_run(self):
        code, out, _ = self.cli("run", "--serial", "TestBeta")
        self.assertEqual(0, code)
        self.assertEqual((3, 0, 0), totals(out))


class TestCommandMode(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config="testr"))

    def test_arguments_after_double_dash_reach_the_test_command(self):
        self.project.write(".testr.conf", "[DEFAULT]\ntest_command=${PYTHON:-python} "
                           "-m subunit.run discover -t . sample $LISTOPT $IDOPTION\n"
                           "test_id_option=--load-list $IDFILE\ntest_list_option=--list\n")
        code, out, err = testr(self.project.path, "run", "--serial", "--", "--failfast")
        # subunit.run --failfast stops after the first failure: fewer than 7 results.
        self.assertEqual(1, code, out + err)
        self.assertLess(sum(totals(out)), 7)

    def test_non_subunit_output_of_the_test_command_is_kept(self):
        code, out, _ = testr(self.project.path, "run", "--serial", "TestBeta")
        self.assertEqual(0, code)
        self.assertIn("hello from a test", out)

    def test_listing_failure_exits_5(self):
        self.project.write("sample/test_broken.py", "import no_such_module_here\n")
        code, _, err = run_cli(self.project.path, "run")
        self.assertEqual(5, code)
        self.assertIn("no_such_module_here", err)
