"""End-to-end tests of `testr history list|show|remove` on stored runs."""

import json

import testtools

from testrepo import api
from testrepo.options import Project
from tests.fixtures import SampleProject
from tests.harness import testr
from tests.repository.test_contract import run_test


class HistoryTestCase(testtools.TestCase):
    """A project whose repository holds three runs, stored through the
    repository API (real file repository):

    run 0  a passes, b fails (2.0 s)            metadata job=nightly
    run 1  a fails, b passes, c skipped
    run 2  a passes, b fails again              partial
    """

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config=None))
        self.repo = api.open_repository(Project(directory=self.project.path), create=True)
        self.add_run([("a", "success"), ("b", "fail", 2.0)], metadata={"job": "nightly"})
        self.add_run([("a", "fail"), ("b", "success"), ("c", "skip")])
        self.add_run([("a", "success"), ("b", "fail")], partial=True)

    def add_run(self, tests, partial=False, metadata=None):
        inserter = self.repo.insert(partial=partial, metadata=metadata)
        inserter.startTestRun()
        start = 0.0
        for test_id, status, *seconds in tests:
            seconds = seconds[0] if seconds else 1.0
            traceback = f"{test_id} broke".encode() if status == "fail" else None
            run_test(inserter, test_id, status, start, seconds, traceback)
            start += seconds
        inserter.stopTestRun()

    def cli(self, *args):
        return testr(self.project.path, *args)

    def history_json(self, *args):
        code, out, err = self.cli("history", "list", "-f", "json", *args)
        self.assertEqual(0, code, err)
        return json.loads(out)


class TestHistoryList(HistoryTestCase):
    def test_lists_every_run_with_counts_runtime_and_start(self):
        rows = self.history_json()
        self.assertEqual(
            [{"Run ID": 0, "Passed": 1, "Failed": 1, "Skipped": 0, "Runtime (s)": 3.0,
              "Started (UTC)": "2024-05-01 12:00:00"},
             {"Run ID": 1, "Passed": 1, "Failed": 1, "Skipped": 1, "Runtime (s)": 3.0,
              "Started (UTC)": "2024-05-01 12:00:00"},
             {"Run ID": 2, "Passed": 1, "Failed": 1, "Skipped": 0, "Runtime (s)": 2.0,
              "Started (UTC)": "2024-05-01 12:00:00"}], rows)

    def test_show_metadata_adds_a_metadata_column(self):
        rows = self.history_json("--show-metadata")
        self.assertEqual(["job=nightly", "-", "-"], [row["Metadata"] for row in rows])

    def test_table_output(self):
        code, out, _ = self.cli("history", "list")
        self.assertEqual(0, code)
        self.assertIn("| Run ID | Passed | Failed | Skipped | Runtime (s) | Started (UTC)", out)

    def test_without_a_repository_exits_4(self):
        project = self.useFixture(SampleProject(config=None))
        code, _, err = testr(project.path, "history", "list")
        self.assertEqual(4, code)
        self.assertIn("No repository at", err)


class TestHistoryShow(HistoryTestCase):
    def test_shows_the_given_run_with_heading_failures_and_summary(self):
        code, out, _ = self.cli("history", "show", "0")
        self.assertEqual(1, code)
        lines = out.splitlines()
        self.assertEqual("Run 0: started 2024-05-01 12:00:00 UTC, 3.000 s", lines[0])
        self.assertIn(" - Metadata: job=nightly", lines)
        self.assertIn("b broke", out)
        self.assertEqual("Totals: 1 passed, 1 failed, 0 skipped", lines[-1])

    def test_defaults_to_the_latest_run(self):
        code, out, _ = self.cli("history", "show")
        self.assertEqual(1, code)
        self.assertEqual("Run 2 (partial): started 2024-05-01 12:00:00 UTC, 2.000 s",
                         out.splitlines()[0])

    def test_subunit_is_the_stored_stream(self):
        code, out, _ = testr(self.project.path, "history", "show", "1", "--subunit",
                                    binary=True)
        self.assertEqual(1, code)
        with self.repo.get_run(1).stream() as stream:
            self.assertEqual(stream.read(), out)

    def test_unknown_run_exits_4(self):
        code, _, err = self.cli("history", "show", "9")
        self.assertEqual(4, code)
        self.assertEqual("testr: No run 9 in the repository at ./.testrepository; "
                         "it holds runs 0 to 2.\n", err)


class TestHistoryRemove(HistoryTestCase):
    def test_removing_the_latest_run_leaves_last_failing_and_durations_consistent(self):
        code, out, err = self.cli("history", "remove", "2")
        self.assertEqual((0, "Removed run 2; the latest run is now 1.\n"), (code, out), err)
        code, out, _ = self.cli("last")
        self.assertEqual(1, code)
        self.assertIn("run id 1", out)
        code, out, _ = self.cli("failing", "--list")
        self.assertEqual(["a"], out.split())
        self.assertEqual({"a": 1.0, "b": 1.0}, self.repo.durations())

    def test_removed_ids_are_not_reused(self):
        self.cli("history", "remove", "2")
        self.add_run([("a", "success")])
        self.assertEqual([0, 1, 3], [row["Run ID"] for row in self.history_json()])

    def test_removing_several_runs(self):
        code, out, _ = self.cli("history", "remove", "0", "1")
        self.assertEqual((0, "Removed runs 0, 1; the latest run is now 2.\n"), (code, out))
        self.assertEqual(["b"], self.repo.failing_ids())

    def test_remove_all_empties_the_repository(self):
        code, out, _ = self.cli("history", "remove", "all")
        self.assertEqual((0, "Removed runs 0, 1, 2; the repository holds no runs now.\n"),
                         (code, out))
        self.assertEqual([], self.history_json())
        code, _, err = self.cli("last")
        self.assertEqual(4, code)
        self.assertIn("No runs in the repository", err)

    def test_unknown_run_exits_4_and_removes_nothing(self):
        code, _, err = self.cli("history", "remove", "1", "7")
        self.assertEqual(4, code)
        self.assertIn("No run 7", err)
        self.assertEqual([0, 1, 2], self.repo.run_ids())

    def test_a_word_that_is_not_a_run_id_exits_2(self):
        code, _, err = self.cli("history", "remove", "latest")
        self.assertEqual(2, code)
        self.assertEqual("testr: not a run id: 'latest'; give run ids (see `testr history "
                         "list`) or `all`\n", err)
