"""`testr flaky`: stored runs with a known flaky test, end to end."""

import csv
import io
import json

import testtools

from tests.cli.test_run import run_once
from tests.fixtures import ProjectCopy, SampleProject
from tests.harness import testr
from tests.streams import Result, failure, load_run

PATTERN = "PFPFP"  # pkg.T.test_flaky, oldest run first


def run_of(index):
    results = [Result("pkg.T.test_stable"),
               Result("pkg.T.test_flaky") if PATTERN[index] == "P" else failure("pkg.T.test_flaky"),
               failure("pkg.T.test_broke") if index >= 3 else Result("pkg.T.test_broke")]
    if index == 4:  # failed, then passed when retried within the run
        results += [failure("pkg.T.test_retried"), Result("pkg.T.test_retried")]
    else:
        results.append(Result("pkg.T.test_retried"))
    return results


class TestFlakyStoredRuns(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject())
        for index in range(len(PATTERN)):
            load_run(self.project, run_of(index))

    def flaky(self, *args):
        code, out, err = testr(self.project.path, "flaky", "-f", "json", *args)
        self.assertEqual(0, code, err)
        return {row["Test id"]: row for row in json.loads(out)}

    def test_flaky_and_retried_tests_are_listed_with_rates(self):
        rows = self.flaky()
        self.assertEqual(["pkg.T.test_flaky", "pkg.T.test_retried"], list(rows))
        self.assertEqual({"Test id": "pkg.T.test_flaky", "Runs": 5, "Results": 5, "Failures": 2,
                          "Flips": 4, "Flip rate": 1.0, "Fail rate": 0.4, "Retried": 0,
                          "Last failing run": 3}, rows["pkg.T.test_flaky"])
        retried = rows["pkg.T.test_retried"]
        self.assertEqual((1, 2, 4), (retried["Retried"], retried["Flips"],
                                     retried["Last failing run"]))

    def test_a_test_that_broke_and_stayed_broken_is_not_flaky(self):
        self.assertNotIn("pkg.T.test_broke", self.flaky())
        self.assertIn("pkg.T.test_broke", self.flaky("--min-flips", "1"))

    def test_runs_limits_the_window(self):
        rows = self.flaky("--runs", "3")
        self.assertEqual((3, 2), (rows["pkg.T.test_flaky"]["Runs"],
                                  rows["pkg.T.test_flaky"]["Flips"]))  # P F P
        self.assertNotIn("pkg.T.test_flaky", self.flaky("--runs", "2"))  # F P: one flip

    def test_csv_and_table_formats(self):
        code, out, _ = testr(self.project.path, "flaky", "-f", "csv")
        rows = list(csv.reader(io.StringIO(out)))
        self.assertEqual(["Test id", "Runs", "Results", "Failures", "Flips", "Flip rate",
                          "Fail rate", "Retried", "Last failing run"], rows[0])
        self.assertEqual("pkg.T.test_flaky", rows[1][0])
        code, out, _ = testr(self.project.path, "flaky")
        self.assertEqual(0, code)
        self.assertIn("pkg.T.test_retried", out)

    def test_bad_runs_is_usage_error(self):
        code, _, err = testr(self.project.path, "flaky", "--runs", "0")
        self.assertEqual(2, code)
        self.assertIn("--runs must be 1 or more", err)


class TestFlakyRealRuns(testtools.TestCase):

    def test_test_that_passes_only_sometimes_is_flaky(self):
        # sample's test_fail passes when SAMPLE_FIXED is set: fail (the
        # shared first run), pass, fail; by the built-in runner (flaky
        # reads what is stored, whatever the mode).
        project = self.useFixture(ProjectCopy(run_once("stestr", "sample").path))
        for env in ({"SAMPLE_FIXED": "1"}, {}):
            testr(project.path, "run", env=env)
        code, out, err = testr(project.path, "flaky", "-f", "json")
        self.assertEqual(0, code, err)
        (row,) = json.loads(out)
        self.assertEqual("sample.test_sample.TestAlpha.test_fail", row["Test id"])
        self.assertEqual((3, 2, 2), (row["Runs"], row["Flips"], row["Last failing run"]))

    def test_empty_repository_is_repository_error(self):
        project = self.useFixture(SampleProject())
        testr(project.path, "init")
        code, _, err = testr(project.path, "flaky")
        self.assertEqual(4, code)
        self.assertIn("No runs", err)
