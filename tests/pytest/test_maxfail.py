"""``testr run -- -x`` / ``--maxfail N``: the whole run stops after N
failures, counted over every worker (testrepo/execution/failure_limit.py)."""

import testtools

from tests.cli.test_run import totals
from tests.harness import testr
from tests.pytest.suites import PytestProject, final_statuses, needs_pytest

MODULES, TESTS = 10, 40


def suite_failing_first():
    """MODULES x TESTS tests; only the first listed one fails."""
    files = {}
    for module in range(MODULES):
        files[f"tests/test_{module:02d}.py"] = "".join(
            f"def test_{n}():\n    assert {0 if (module, n) == (0, 0) else 1}\n\n"
            for n in range(TESTS))
    return files


@needs_pytest
class TestMaxfail(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(PytestProject(suite_failing_first()))

    def test_exitfirst_stops_the_run_at_the_first_failure(self):
        code, out, err = testr(self.project.path, "run", "--concurrency", "1", "--", "-x")
        self.assertEqual(1, code, out + err)
        self.assertEqual({"tests/test_00.py::test_0": "fail"}, final_statuses(self.project.path))
        self.assertIn(f"Stopped after 1 failure(s) (-x/--maxfail 1 after --): "
                      f"{MODULES * TESTS - 1} test(s) not run", out)

    def test_exitfirst_stops_every_worker(self):
        code, out, err = testr(self.project.path, "run", "--concurrency", "2", "--", "-x")
        self.assertEqual(1, code, out + err)
        statuses = final_statuses(self.project.path)
        self.assertEqual(["tests/test_00.py::test_0"],
                         [test_id for test_id, status in statuses.items() if status == "fail"])
        self.assertLess(len(statuses), MODULES * TESTS)
        self.assertIn(f"{MODULES * TESTS - len(statuses)} test(s) not run", out)

    def test_maxfail_zero_runs_everything(self):
        code, out, err = testr(self.project.path, "run", "--concurrency", "2",
                               "--", "--maxfail=0")
        self.assertEqual(1, code, out + err)
        self.assertEqual((MODULES * TESTS - 1, 1, 0), totals(out))
        self.assertNotIn("Stopped after", out)
