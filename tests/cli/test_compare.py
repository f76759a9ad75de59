"""`testr compare`: stored runs with known differences, compared end to end."""

import json

import testtools

from tests.cli.test_run import run_once, totals
from tests.fixtures import SAMPLE_TESTS, ProjectCopy, SampleProject
from tests.harness import testr
from tests.streams import Result, failure, load_run, stream_bytes

OLD = [Result("pkg.T.test_pass", duration=0.1), Result("pkg.T.test_breaks"),
       failure("pkg.T.test_fixed"), failure("pkg.T.test_still"), Result("pkg.T.test_removed"),
       Result("pkg.T.test_slow", duration=0.2), Result("pkg.T.test_jitter", duration=0.001)]
NEW = [Result("pkg.T.test_pass", duration=0.1), failure("pkg.T.test_breaks"),
       Result("pkg.T.test_fixed"), failure("pkg.T.test_still"), Result("pkg.T.test_added"),
       Result("pkg.T.test_slow", duration=1.0), Result("pkg.T.test_jitter", duration=0.004)]


class TestCompareStoredRuns(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject())
        for results in (OLD, NEW):
            code, out, err = load_run(self.project, results)
            self.assertEqual(1, code, out + err)

    def cli(self, *args):
        return testr(self.project.path, *args)

    def test_text_report_of_the_two_latest_runs(self):
        code, out, err = self.cli("compare")
        self.assertEqual(0, code, err)
        self.assertIn("Old: run 0 (7 tests, 2 failed)\nNew: run 1 (7 tests, 2 failed)", out)
        self.assertIn("New failures: 1\n  pkg.T.test_breaks\n", out)
        self.assertIn("Fixed: 1\n  pkg.T.test_fixed\n", out)
        self.assertIn("Still failing: 1\n  pkg.T.test_still\n", out)
        self.assertIn("Added: 1\n  pkg.T.test_added\n", out)
        self.assertIn("Removed: 1\n  pkg.T.test_removed\n", out)
        self.assertIn("Slower (at least 2x and 0.5s): 1\n"
                      "  pkg.T.test_slow  0.200s -> 1.000s (5.0x)\n", out)
        self.assertNotIn("test_jitter", out)
        self.assertEqual("Summary: 1 new-failures, 1 fixed, 1 still-failing, 1 added, "
                         "1 removed, 1 slower, 0 faster", out.rstrip().splitlines()[-1])

    def test_json_for_tools(self):
        code, out, err = self.cli("compare", "-f", "json", "0", "1")
        self.assertEqual(0, code, err)
        data = json.loads(out)
        self.assertEqual((0, 1), (data["old"]["run_id"], data["new"]["run_id"]))
        self.assertEqual(["pkg.T.test_breaks"], data["new_failures"])
        self.assertEqual(["pkg.T.test_removed"], data["removed"])
        (slow,) = data["slower"]
        self.assertEqual({"test_id": "pkg.T.test_slow", "old": 0.2, "new": 1.0, "ratio": 5.0}, slow)
        self.assertEqual([], data["faster"])

    def test_fail_on_gates_on_named_categories(self):
        self.assertEqual(1, self.cli("compare", "--fail-on", "new-failures")[0])
        self.assertEqual(1, self.cli("compare", "--fail-on", "slower")[0])
        self.assertEqual(1, self.cli("compare", "--fail-on", "faster,removed")[0])
        self.assertEqual(0, self.cli("compare", "--fail-on", "faster")[0])
        # Reversed, the slowdown is a speed-up.
        self.assertEqual(0, self.cli("compare", "1", "0", "--fail-on", "slower")[0])
        self.assertEqual(1, self.cli("compare", "1", "0", "--fail-on", "faster")[0])

    def test_thresholds_are_configurable(self):
        code, out, _ = self.cli("compare", "--ratio", "3", "--min-seconds", "0.001",
                                  "-f", "json")
        self.assertEqual(["pkg.T.test_jitter", "pkg.T.test_slow"],
                         sorted(change["test_id"] for change in json.loads(out)["slower"]))
        code, out, _ = self.cli("compare", "--ratio", "6", "-f", "json")
        self.assertEqual([], json.loads(out)["slower"])

    def test_stream_files_compare_without_a_repository(self):
        other = self.useFixture(SampleProject())
        for name, results in (("old.subunit", OLD), ("new.subunit", NEW)):
            with open(other.write(name, ""), "wb") as handle:
                handle.write(stream_bytes(results))
        code, out, err = testr(other.path, "compare", "-f", "json",
                                      "old.subunit", "new.subunit")
        self.assertEqual(0, code, err)
        data = json.loads(out)
        self.assertEqual(("old.subunit", None), (data["old"]["label"], data["old"]["run_id"]))
        self.assertEqual(["pkg.T.test_breaks"], data["new_failures"])

    def test_old_from_another_repository(self):
        baseline = self.useFixture(SampleProject())
        load_run(baseline, OLD)
        code, out, err = self.cli("compare", "--old-repo", baseline.repository_path(),
                                    "-f", "json")
        self.assertEqual(0, code, err)
        data = json.loads(out)
        self.assertIn(baseline.repository_path(), data["old"]["label"])
        self.assertEqual(1, data["new"]["run_id"])
        self.assertEqual(["pkg.T.test_fixed"], data["fixed"])

    def test_bad_arguments_are_usage_errors(self):
        code, _, err = self.cli("compare", "nope.subunit")
        self.assertEqual(2, code)
        self.assertIn("OLD 'nope.subunit' is neither a run id nor a readable file", err)
        code, _, err = self.cli("compare", "--fail-on", "broken")
        self.assertEqual(2, code)
        self.assertIn("'broken' is not a category", err)
        code, _, err = self.cli("compare", "--ratio", "0.5")
        self.assertEqual(2, code)
        self.assertIn("--ratio must be at least 1", err)

    def test_unknown_run_is_repository_error(self):
        code, _, err = self.cli("compare", "0", "9")
        self.assertEqual(4, code)
        self.assertIn("No run 9", err)


class TestCompareRealRuns(testtools.TestCase):
    """Runs of the generated sample project, edited between runs (by the
    built-in runner: what compare reads does not depend on the mode); the
    first is the shared one of :func:`run_once`."""

    def test_a_change_that_fixes_breaks_adds_and_removes_tests(self):
        ran = run_once("stestr", "sample")
        project = self.useFixture(ProjectCopy(ran.path))
        code, out, _ = ran.answer
        self.assertEqual((4, 2, 1), totals(out))
        edited = (SAMPLE_TESTS.replace("    def test_pass_one(self):\n        pass\n",
                                       "    def test_new(self):\n        pass\n")
                  .replace("    def test_pass(self):\n        pass\n",
                           "    def test_pass(self):\n        self.fail('now broken')\n"))
        project.write("sample/test_sample.py", edited)
        testr(project.path, "run", env={"SAMPLE_FIXED": "1"})
        code, out, err = testr(project.path, "compare", "-f", "json",
                                      "--fail-on", "new-failures")
        self.assertEqual(1, code, err)
        data = json.loads(out)
        prefix = "sample.test_sample."
        self.assertEqual([prefix + "TestAlpha.test_pass"], data["new_failures"])
        self.assertEqual([prefix + "TestAlpha.test_fail"], data["fixed"])
        self.assertEqual([prefix + "TestAlpha.test_error"], data["still_failing"])
        self.assertEqual([prefix + "TestBeta.test_new"], data["added"])
        self.assertEqual([prefix + "TestBeta.test_pass_one"], data["removed"])

    def test_a_single_run_has_nothing_to_compare_with(self):
        project = self.useFixture(ProjectCopy(run_once("stestr", "sample").path))
        code, _, err = testr(project.path, "compare")
        self.assertEqual(4, code)
        self.assertIn("No run before run 0", err)
