"""One generated pytest suite, run once through ``testr run`` (two
workers), and what the repository then holds."""

import collections

import testtools

from tests.cli.test_run import totals
from tests.harness import testr
from tests.pytest.suites import (
    EXPECTED_BASIC,
    PLAIN_MODULES,
    PytestProject,
    attachments,
    final_statuses,
    needs_pytest,
    together,
)


def start_runs(runs):
    """The class's first run, and the run of the --isolated test."""
    runs.testr("suite", PytestProject(), "run", "--concurrency", "2")
    # In a project of its own: its failing set is its own.
    runs.testr("isolated", PytestProject(), "run", "--isolated", "--", "-k", "test_order")


@needs_pytest
class TestPytestSuite(testtools.TestCase):
    """Shares one project and its first run (run 0), started with the
    run of another project (start_runs); tests that run again read their
    own run ids."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.runs = together(start_runs)
        cls.project, cls.code, cls.out, cls.err = cls.runs.answer("suite")
        cls.log = cls.project.log()

    @classmethod
    def tearDownClass(cls):
        cls.runs.cleanUp()
        super().tearDownClass()

    def expected(self):
        expected = dict(EXPECTED_BASIC)
        for index in range(PLAIN_MODULES):
            for n in range(3):
                expected[f"tests/test_plain_{index}.py::test_{n}"] = "success"
        return expected

    def test_every_outcome_is_stored_under_its_node_id(self):
        self.assertEqual(1, self.code, self.err)
        self.assertEqual(self.expected(), final_statuses(self.project.path, 0))

    def test_totals_line(self):
        # uxsuccess counts as a failure, as everywhere in testrepo.
        self.assertEqual((27, 4, 1), totals(self.out))  # xfail passes

    def test_failures_show_pytest_tracebacks(self):
        fail = attachments(self.project.path, "tests/test_basic.py::test_fail", 0)
        self.assertIn(b"assert 1 == 2", fail["traceback"])
        setup = attachments(self.project.path, "tests/test_basic.py::test_setup_error", 0)
        self.assertIn(b"[error in setup]", setup["traceback"])
        self.assertIn(b"fixture setup exploded", setup["traceback"])
        skip = attachments(self.project.path, "tests/test_basic.py::test_skipped", 0)
        self.assertEqual(b"not today", skip["reason"])

    def test_captured_output_is_attached(self):
        printed = attachments(self.project.path, "tests/test_basic.py::test_prints", 0)
        self.assertEqual(b"hello from the test\n", printed["stdout"])

    def test_session_fixture_runs_once_per_worker(self):
        setups = collections.Counter(entry["pid"] for entry in self.log
                                     if entry["event"] == "session-setup")
        self.assertTrue(setups)
        self.assertEqual({1}, set(setups.values()))
        self.assertLessEqual(len(setups), 2)
        teardowns = [entry for entry in self.log if entry["event"] == "session-teardown"]
        self.assertEqual(len(setups), len(teardowns))

    def test_workers_collect_only_the_files_they_run(self):
        """Every module is imported once for the listing (by worker 0 or
        the worker whose share it is in); beyond that, only by a worker
        that runs tests of it."""
        importers, runners = collections.defaultdict(set), collections.defaultdict(set)
        for entry in self.log:
            if entry["event"] == "import":
                importers[entry["module"]].add(entry["pid"])
            elif entry["event"] == "run":
                runners[entry["test_id"].split("::")[0][len("tests/"):-3]].add(entry["pid"])
        self.assertEqual(PLAIN_MODULES + 2, len(importers))
        for module, pids in importers.items():
            self.assertLessEqual(len(pids - runners[module]), 1, (importers, runners))

    def test_failing_and_rerun(self):
        code, out, _ = testr(self.project.path, "failing", "--list")
        self.assertEqual(1, code)
        self.assertEqual(sorted(["tests/test_basic.py::test_fail",
                                 "tests/test_basic.py::test_setup_error",
                                 "tests/test_basic.py::test_xpass",
                                 "tests/test_basic.py::test_xpass_strict"]),
                         sorted(out.split()))
        code, out, err = testr(self.project.path, "run", "--failing")
        self.assertEqual(1, code, err)
        self.assertEqual((0, 4, 0), totals(out))

    def test_arguments_after_dashes_reach_pytest(self):
        code, out, err = testr(self.project.path, "run", "--", "-m", "slow", "-k", "one")
        self.assertEqual(0, code, err)
        self.assertEqual((1, 0, 0), totals(out))
        # A run pytest filtered is partial: the failing set keeps its tests.
        code, out, _ = testr(self.project.path, "failing", "--list")
        self.assertIn("tests/test_basic.py::test_fail", out.split())

    def test_isolated_breaks_the_order_dependent_pair(self):
        _, code, out, err = self.runs.answer("isolated")
        self.assertEqual(1, code, err)
        self.assertEqual((1, 1, 0), totals(out))

    def test_xdist_option_is_refused_in_one_line(self):
        code, out, err = testr(self.project.path, "run", "--", "-n", "2")
        self.assertEqual(2, code)
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertIn("-n is pytest-xdist's", err)

    def test_list_honours_pytest_arguments(self):
        code, out, err = testr(self.project.path, "list", "--", "-m", "slow")
        self.assertEqual(0, code, err)
        self.assertEqual(["tests/test_basic.py::TestGroup::test_one",
                          "tests/test_basic.py::TestGroup::test_two"], out.split())
