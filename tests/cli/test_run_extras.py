"""End-to-end tests of run's extras: --metadata, --slowest, --abbreviate,
--suppress-attachments/--all-attachments, --combine and load --id."""

import os
import subprocess
import sys

import testtools

from testrepo import api
from testrepo.options import Project
from tests.cli.test_run import run_once, stored_events, totals
from tests.fixtures import SAMPLE_BETA, SAMPLE_FAILURES, ProjectCopy, SampleProject, testrepo_env
from tests.harness import run_cli, testr
from tests.streams import Result, load_run

DETAIL_TESTS = '''\
import unittest

import testtools
from testtools.content import text_content


class TestNotes(testtools.TestCase):

    def test_with_note(self):
        self.addDetail("note", text_content("a note for the curious"))
        print("printed by the test")
'''


def class_stream(project, test_class):
    """A v2 stream of one class of the sample, made by subunit.run."""
    proc = subprocess.run(
        [sys.executable, "-m", "subunit.run", f"sample.test_sample.{test_class}"],
        cwd=project.path, capture_output=True, env=testrepo_env(),
        stdin=subprocess.DEVNULL, check=True)
    return proc.stdout


def records(project_path):
    return api.history(Project(directory=project_path))


class TestRunExtras(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config="stestr"))

    def cli(self, *args, **kwargs):
        return testr(self.project.path, *args, **kwargs)

    def test_metadata_is_stored_and_shown_by_last_and_history(self):
        code, out, err = self.cli("run", "TestBeta", "--metadata", "git_sha=1a2b3c",
                                    "--metadata", "job=nightly build")
        self.assertEqual(0, code, out + err)
        self.assertIn("Metadata: concurrency=", out)
        (record,) = records(self.project.path)
        self.assertEqual("1a2b3c", record.metadata["git_sha"])
        self.assertEqual("nightly build", record.metadata["job"])
        _, out, _ = self.cli("last")
        self.assertIn("git_sha=1a2b3c", out)
        _, out, _ = self.cli("history", "list", "--show-metadata", "-f", "csv")
        self.assertIn("git_sha=1a2b3c", out)

    def test_metadata_without_equals_is_a_usage_error(self):
        code, out, err = run_cli(self.project.path, "run", "--metadata", "git_sha")
        self.assertEqual(2, code)
        self.assertEqual(["testr: --metadata 'git_sha': expected KEY=VALUE, e.g. --metadata "
                          "git_sha=1a2b3c"], err.splitlines())
        self.assertFalse(os.path.exists(self.project.repository_path()))

    def test_metadata_may_not_replace_what_testrepo_records(self):
        code, _, err = run_cli(self.project.path, "run", "--metadata", "seed=4")
        self.assertEqual(2, code)
        self.assertIn("'seed' is recorded by testrepo itself", err)

    def test_slowest_shows_the_runs_slowest_tests_after_the_summary(self):
        code, out, _ = self.cli("run", "--slowest")
        self.assertEqual(1, code)
        tail = out[out.index("Totals: 4 passed"):]
        lines = tail.splitlines()
        self.assertEqual("Slowest tests:", lines[2])
        self.assertTrue(lines[5].startswith("sample.test_sample.TestBeta.test_slow "), lines)
        self.assertEqual(6, len(lines[5:]))  # every timed test (skips are not timed)

    def test_abbreviate_prints_one_mark_per_test_then_the_failures(self):
        code, out, _ = self.cli("run", "--serial", "--abbreviate")
        self.assertEqual(1, code)
        marks = out.splitlines()[0]
        self.assertEqual(sorted("..FF..S"), sorted(marks))
        self.assertNotIn("... ok", out)
        self.assertIn("sample.test_sample.TestAlpha.test_error", out)
        self.assertIn("RuntimeError: boom", out)
        self.assertEqual((4, 2, 1), totals(out))

    def test_captured_output_of_a_passing_test_can_be_suppressed(self):
        _, shown, _ = self.cli("run", "test_pass_two")
        self.assertIn("hello from a test", shown)
        _, suppressed, _ = self.cli("run", "test_pass_two", "--suppress-attachments")
        self.assertNotIn("hello from a test", suppressed)
        self.assertIn("test_pass_two", suppressed)

    def test_suppress_and_all_attachments_exclude_each_other(self):
        code, _, err = run_cli(self.project.path, "run", "--suppress-attachments",
                               "--all-attachments")
        self.assertEqual(2, code)
        self.assertIn("not allowed with argument", err)

    def test_combine_adds_to_the_latest_run(self):
        self.cli("run", "TestAlpha")
        code, out, err = self.cli("run", "--combine", "TestBeta")
        self.assertEqual(1, code, out + err)  # the combined run has Alpha's failures
        (record,) = records(self.project.path)
        self.assertEqual((4, 2, 1), (record.passed, record.failed, record.skipped))
        _, events = stored_events(self.project.path)
        started = {event[1] for event in events if event[2] == "inprogress"}
        self.assertEqual(7, len(started))
        _, failing, _ = self.cli("failing", "--list")
        self.assertEqual(SAMPLE_FAILURES, failing.split())

    def test_combined_results_update_the_failing_set(self):
        self.project = self.useFixture(ProjectCopy(run_once("stestr", "sample").path))
        self.project.write("fixed", "")
        self.cli("run", "--combine", "test_fail")
        self.assertEqual([0], api.open_repository(Project(self.project.path)).run_ids())
        _, failing, _ = self.cli("failing", "--list")
        self.assertEqual([SAMPLE_FAILURES[0]], failing.split())
        _, events = stored_events(self.project.path)
        results = [event[2] for event in events if event[1] == SAMPLE_FAILURES[1]]
        self.assertEqual(["inprogress", "fail", "inprogress", "success"],
                         [status for status in results if status])


class TestLoadIntoRun(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config="testr"))

    def stream_of(self, test_class):
        return class_stream(self.project, test_class)

    def test_load_id_adds_the_stream_to_that_run(self):
        # Run 0: TestBeta's three tests passed; run 1: TestAlpha.test_pass.
        self.assertEqual(0, load_run(self.project, [Result(t) for t in SAMPLE_BETA])[0])
        self.assertEqual(0, load_run(self.project,
                                     [Result("sample.test_sample.TestAlpha.test_pass")])[0])
        code, out, err = testr(self.project.path, "load", "--id", "0",
                                      stdin=self.stream_of("TestAlpha"))
        self.assertEqual(1, code, out + err)
        first, second = records(self.project.path)
        self.assertEqual((4, 2, 1), (first.passed, first.failed, first.skipped))
        self.assertEqual((1, 0, 0), (second.passed, second.failed, second.skipped))
        _, failing, _ = testr(self.project.path, "failing", "--list")
        self.assertEqual(SAMPLE_FAILURES, failing.split())

    def test_load_id_of_an_unknown_run_stores_nothing(self):
        self.project = self.useFixture(ProjectCopy(run_once("testr", "sample").path))
        code, _, err = testr(self.project.path, "load", "--id", "7",
                                    stdin=self.stream_of("TestAlpha"))
        self.assertEqual(4, code)
        self.assertIn("No run 7", err)
        self.assertEqual(1, len(records(self.project.path)))


class TestAllAttachments(testtools.TestCase):

    def test_all_attachments_shows_every_text_attachment_of_a_pass(self):
        project = self.useFixture(SampleProject(config="testr", tests=DETAIL_TESTS))
        _, default, _ = testr(project.path, "run", "--serial")
        self.assertNotIn("a note for the curious", default)
        code, everything, err = testr(project.path, "run", "--serial",
                                             "--all-attachments")
        self.assertEqual(0, code, everything + err)
        self.assertIn("Captured note:", everything)
        self.assertIn("a note for the curious", everything)


ALPHA_WITHOUT_ERROR = '''\
import unittest


class TestAlpha(unittest.TestCase):

    def test_fail(self):
        self.fail("still broken")
'''


class TestPartialAndForceInit(testtools.TestCase):
    """testr's --partial (run and load) and --force-init, verified (with the
    built-in runner: what a partial run stores does not depend on the mode)."""

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config="stestr"))

    def failing(self):
        return testr(self.project.path, "failing", "--list")[1].split()

    def test_run_partial_keeps_failures_of_tests_it_did_not_run(self):
        self.project = self.useFixture(ProjectCopy(run_once("stestr", "sample").path))
        self.project.write("sample/test_sample.py", ALPHA_WITHOUT_ERROR)
        testr(self.project.path, "run", "--partial")
        self.assertEqual(SAMPLE_FAILURES, self.failing())  # test_error did not run
        testr(self.project.path, "run")
        self.assertEqual([SAMPLE_FAILURES[1]], self.failing())  # a full run forgets it

    def test_load_partial_keeps_failures_of_tests_not_in_the_stream(self):
        self.project = self.useFixture(ProjectCopy(run_once("stestr", "sample").path))
        beta = class_stream(self.project, "TestBeta")
        testr(self.project.path, "load", "--partial", stdin=beta)
        self.assertEqual(SAMPLE_FAILURES, self.failing())
        testr(self.project.path, "load", stdin=beta)
        self.assertEqual([], self.failing())

    def test_force_init(self):
        beta = class_stream(self.project, "TestBeta")
        code, _, err = testr(self.project.path, "load", stdin=beta)
        self.assertEqual(4, code)
        self.assertIn("No repository", err)
        code, _, _ = testr(self.project.path, "load", "--force-init", stdin=beta)
        self.assertEqual(0, code)
        other = self.useFixture(SampleProject(config="stestr"))
        code, _, _ = testr(other.path, "run", "--force-init", "TestBeta")
        self.assertEqual(0, code)
        self.assertTrue(os.path.isdir(other.repository_path()))
