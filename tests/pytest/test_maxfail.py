"""``testr run -- -x`` / ``--maxfail N``: the whole run stops after N
failures, counted over every worker (testrepo/execution/failure_limit.py)."""

import testtools

from tests.cli.test_run import totals
from tests.fixtures import once_per_process
from tests.pytest.suites import PytestProject, final_statuses, needs_pytest, together

MODULES, TESTS = 10, 40


def suite_failing_first():
    """MODULES x TESTS tests; only the first listed one fails."""
    files = {}
    for module in range(MODULES):
        files[f"tests/test_{module:02d}.py"] = "".join(
            f"def test_{n}():\n    assert {0 if (module, n) == (0, 0) else 1}\n\n"
            for n in range(TESTS))
    return files


def start_runs(runs):
    """The runs of the tests below, each in a project of its own."""
    for name, workers, limit in (("exitfirst-1", "1", "-x"), ("exitfirst-2", "2", "-x"),
                                 ("maxfail-0", "2", "--maxfail=0")):
        runs.testr(name, PytestProject(suite_failing_first()),
                   "run", "--concurrency", workers, "--", limit)


@once_per_process
def maxfail_runs():
    """The runs of start_runs(), started together."""
    return together(start_runs)


@needs_pytest
class TestMaxfail(testtools.TestCase):

    def run_of(self, name):
        project, code, out, err = maxfail_runs().answer(name)
        self.assertEqual(1, code, out + err)
        return final_statuses(project.path), out

    def test_exitfirst_stops_the_run_at_the_first_failure(self):
        statuses, out = self.run_of("exitfirst-1")
        self.assertEqual({"tests/test_00.py::test_0": "fail"}, statuses)
        self.assertIn(f"Stopped after 1 failure(s) (-x/--maxfail 1 after --): "
                      f"{MODULES * TESTS - 1} test(s) not run", out)

    def test_exitfirst_stops_every_worker(self):
        statuses, out = self.run_of("exitfirst-2")
        self.assertEqual(["tests/test_00.py::test_0"],
                         [test_id for test_id, status in statuses.items() if status == "fail"])
        self.assertLess(len(statuses), MODULES * TESTS)
        self.assertIn(f"{MODULES * TESTS - len(statuses)} test(s) not run", out)

    def test_maxfail_zero_runs_everything(self):
        _, out = self.run_of("maxfail-0")
        self.assertEqual((MODULES * TESTS - 1, 1, 0), totals(out))
        self.assertNotIn("Stopped after", out)
