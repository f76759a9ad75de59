"""End-to-end tests of `testr import` with repositories written by the real
testrepository and stestr (tests/data/legacy/), and of what every command
says when it meets a format 1 .testrepository/."""

import json
import os
import shutil

import testtools

from tests.fixtures import SampleProject
from tests.harness import testr
from tests.test_migrate import LEGACY, SAMPLE


class ImportTestCase(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config=None))

    def copy_legacy(self, name, dirname):
        shutil.copytree(os.path.join(LEGACY, name), os.path.join(self.project.path, dirname))

    def cli(self, *args):
        return testr(self.project.path, *args)


class TestFormat1Repository(ImportTestCase):
    def test_commands_say_how_to_import_it_and_that_works(self):
        self.copy_legacy("testrepository", ".testrepository")
        code, out, err = self.cli("last")
        self.assertEqual((4, ""), (code, out))
        advice = "`mv .testrepository .testrepository.v1 && testr import .testrepository.v1`"
        self.assertEqual("testr: ./.testrepository is a testrepository format 1 repository; "
                         f"testrepo uses format 2. Move it aside and import it: {advice}.\n",
                         err)
        os.rename(os.path.join(self.project.path, ".testrepository"),
                  os.path.join(self.project.path, ".testrepository.v1"))
        code, out, err = self.cli("import", ".testrepository.v1")
        self.assertEqual(0, code, err)
        source = os.path.join(self.project.path, ".testrepository.v1")
        self.assertEqual(f"Imported 4 runs (0-3) as runs 0-3 from {source}.\n"
                         "Failing tests: 1. Durations only found in times.dbm: 1.\n", out)

    def test_importing_it_in_place_is_refused_with_the_same_advice(self):
        self.copy_legacy("testrepository", ".testrepository")
        code, _, err = self.cli("import", ".testrepository")
        self.assertEqual(4, code)
        self.assertIn("Move it aside and import it", err)


class TestImportedHistory(ImportTestCase):
    def setUp(self):
        super().setUp()
        self.copy_legacy("testrepository", "old-testr")
        code, _, err = self.cli("import", "old-testr")
        self.assertEqual(0, code, err)

    def test_last_is_the_last_legacy_run(self):
        code, out, _ = self.cli("last")
        self.assertEqual(0, code)
        self.assertEqual("Totals: 1 passed, 0 failed, 0 skipped", out.splitlines()[-1])

    def test_failing_is_the_legacy_failing_set(self):
        code, out, _ = self.cli("failing")
        self.assertEqual(1, code)
        self.assertIn(SAMPLE + "TestAlpha.test_error", out)
        self.assertIn("RuntimeError: boom", out)

    def test_history_lists_the_runs_with_their_origin(self):
        code, out, _ = self.cli("history", "list", "--show-metadata", "-f", "json")
        self.assertEqual(0, code)
        rows = json.loads(out)
        self.assertEqual([(5, 2, 1), (4, 2, 1), (1, 1, 0), (1, 0, 0)],
                         [(r["Passed"], r["Failed"], r["Skipped"]) for r in rows])
        source = os.path.join(self.project.path, "old-testr")
        self.assertEqual(f"imported-from={source}, imported-run-id=2", rows[2]["Metadata"])

    def test_timings_are_kept(self):
        code, out, _ = self.cli("stats", "-f", "json")
        self.assertEqual(0, code)
        stats = {row["Statistic"]: row["Value"] for row in json.loads(out)}
        self.assertEqual((4, 3, 8), (stats["runs"], stats["latest run"],
                                     stats["tests with timings"]))

    def test_a_second_import_is_refused(self):
        code, _, err = self.cli("import", "old-testr")
        self.assertEqual(2, code)
        self.assertIn("already holds 4 runs", err)


class TestImportStestr(ImportTestCase):
    def test_project_directory_with_stestr_repository(self):
        self.copy_legacy("stestr", os.path.join("old", ".stestr"))
        code, out, err = self.cli("import", "old")
        self.assertEqual(0, code, err)
        self.assertIn("Imported 3 runs (1-3) as runs 0-2", out)
        code, out, _ = self.cli("history", "show", "2")
        self.assertEqual(1, code)
        self.assertEqual("Run 2: started 2026-11-23 15:20:05 UTC, 0.059 s", out.splitlines()[0])
        self.assertIn("imported-metadata=job=nightly-42", out)

    def test_nothing_to_import(self):
        code, _, err = self.cli("import", ".")
        self.assertEqual(4, code)
        self.assertIn("No testrepo, testrepository or stestr repository at .", err)
