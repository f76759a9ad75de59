"""End-to-end tests of `testr run --analyze-isolation` on a suite whose
failures each have a known cause, in both runners."""

import os

import testtools

from testrepo import api
from testrepo.options import Project
from tests.fixtures import ProjectCopy, SampleProject, check_exit, once_per_process
from tests.harness import run_cli, testr
from tests.streams import Result, load_run

# Run serially, in name order. test_5 fails after test_4, test_6 only after
# test_1 and test_4 together, test_7 always, test_8 only the first time.
ORDER_TESTS = '''\
import os
import unittest

STATE = set()


class TestOrder(unittest.TestCase):

    def test_1_first(self):
        STATE.add("first")

    def test_2_pad(self):
        pass

    def test_3_pad(self):
        pass

    def test_4_last(self):
        STATE.add("last")

    def test_5_victim(self):
        self.assertNotIn("last", STATE)

    def test_6_needs_two(self):
        self.assertFalse({"first", "last"} <= STATE)

    def test_7_broken(self):
        self.fail("broken whatever ran before")

    def test_8_flaky(self):
        if not os.path.exists("flaky.done"):
            open("flaky.done", "w").close()
            self.fail("fails the first time only")
'''

PREFIX = "sample.test_sample.TestOrder."


@once_per_process
def serial_run(config):
    """The ORDER_TESTS project after one serial run (run 0), made once per
    test process; each test analyses a copy."""
    project = SampleProject(config=config, tests=ORDER_TESTS)
    project.setUp()
    check_exit(1, testr(project.path, "run", "--serial"), ("run", "--serial"))
    return project


@once_per_process
def analysed_test_5(config):
    """A copy of serial_run(config) after `testr run --analyze-isolation
    test_5`, made once per test process for the tests that read its
    answer: ``answer`` is the analysis's, ``failing_before`` `testr failing
    --list`'s answer before it."""
    project = ProjectCopy(serial_run(config).path)
    project.setUp()
    project.failing_before = testr(project.path, "failing", "--list")
    project.answer = testr(project.path, "run", "--analyze-isolation", "test_5")
    return project


class AnalysisContract:
    config = None

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(ProjectCopy(serial_run(self.config).path))

    def analysis(self, *args):
        return testr(self.project.path, "run", "--analyze-isolation", *args)

    def test_each_failure_is_explained(self):
        code, out, err = self.analysis()
        self.assertEqual(1, code, out + err)
        report = out[out.index("Isolation analysis of run 0:"):].splitlines()[1:]
        self.assertEqual(4, len(report), report)
        self.assertEqual(f"  {PREFIX}test_5_victim fails when run after {PREFIX}test_4_last",
                         report[0])
        self.assertTrue(report[1].startswith(
            f"  {PREFIX}test_6_needs_two fails after the 5 tests that ran before it on worker "
            f"0, but after neither half of these 5: it needs more than one of them: "
            f"{PREFIX}test_1_first, "), report[1])
        self.assertEqual(f"  {PREFIX}test_7_broken fails on its own (run alone, in a fresh "
                         "process)", report[2])
        self.assertTrue(report[3].startswith(
            f"  {PREFIX}test_8_flaky passes alone and after the 7 tests that ran before it "
            "on worker 0: not reproducible"), report[3])

    def test_probes_are_not_stored(self):
        analysed = analysed_test_5(self.config)
        _, before, _ = analysed.failing_before
        _, after, _ = testr(analysed.path, "failing", "--list")
        self.assertEqual(before, after)
        self.assertEqual([0], api.open_repository(Project(analysed.path)).run_ids())

    def test_shows_each_probe(self):
        _, out, _ = analysed_test_5(self.config).answer
        self.assertIn(f"{PREFIX}test_5_victim:\n  alone: passes\n"
                      "  after the 4 tests before it on worker 0: fails\n", out)
        self.assertIn(f"  after {PREFIX}test_4_last: fails\n", out)

    def test_exits_0_when_every_failure_is_broken_on_its_own(self):
        code, out, err = self.analysis("test_7")
        self.assertEqual(0, code, out + err)
        self.assertIn("test_7_broken fails on its own", out)

    def test_nothing_to_analyze(self):
        os.unlink(os.path.join(self.project.path, "flaky.done"))
        self.project.write("sample/test_sample.py",
                           "import unittest\n\nclass T(unittest.TestCase):\n"
                           "    def test_ok(self):\n        pass\n")
        # Run 1: that test passed (stored with testr load).
        self.assertEqual(0, load_run(self.project, [Result("sample.test_sample.T.test_ok")])[0])
        code, out, _ = self.analysis()
        self.assertEqual(0, code)
        self.assertIn("Run 1 has no failing test to analyze.", out)


class TestAnalysisBuiltin(AnalysisContract, testtools.TestCase):
    config = "stestr"


class TestAnalysisCommandMode(AnalysisContract, testtools.TestCase):
    config = "testr"


class TestAnalysisErrors(testtools.TestCase):

    def test_without_runs_exits_4(self):
        project = self.useFixture(SampleProject(config="stestr"))
        testr(project.path, "init")
        code, _, err = run_cli(project.path, "run", "--analyze-isolation")
        self.assertEqual(4, code)
        self.assertIn("No runs", err)

    def test_cannot_be_combined_with_until_failure(self):
        project = self.useFixture(SampleProject(config="stestr"))
        code, _, err = run_cli(project.path, "run", "--analyze-isolation",
                               "--until-failure")
        self.assertEqual(2, code)
        self.assertIn("--analyze-isolation cannot be combined", err)
