"""Files stay on one worker under ``runner = pytest``
(:mod:`testrepo.scheduler.file_queue`): a module's fixtures are set up
once in a run, not once per worker, and a file is collected by the
workers that run its tests."""

import collections

import testtools

from tests.fixtures import check_exit
from tests.pytest.suites import PytestProject, Together, needs_pytest
from tests.streams import Result, load_run

MODULES, TESTS, SECONDS = 12, 5, 0.02

CONFTEST = '''\
import os

import pytest

LOG = os.path.join(os.path.dirname(__file__), "..", "setups.log")


@pytest.fixture(scope="module", autouse=True)
def module_resource(request):
    with open(LOG, "a", encoding="utf-8") as out:
        out.write(f"{os.getpid()} {request.module.__name__}\\n")
    yield
'''


def timed_module(count=TESTS, seconds=SECONDS):
    tests = "".join(f"\n\ndef test_{n}():\n    time.sleep({seconds})\n" for n in range(count))
    return f"import time\n{tests}"


def affinity_files():
    files = {"tests/conftest.py": CONFTEST}
    for index in range(MODULES):
        files[f"tests/test_m{index:02d}.py"] = timed_module()
    return files


def store_history(project):
    """A stored run in which each test took as long as it sleeps (what a
    first run records), for the next run to plan with."""
    results = [Result(f"tests/test_m{index:02d}.py::test_{n}", duration=SECONDS)
               for index in range(MODULES) for n in range(TESTS)]
    check_exit(0, load_run(project, results), ("load",))


def start_runs(runs):
    """A run with no history, and one with history (in another project)."""
    runs.testr("first", PytestProject(files=affinity_files()), "run", "--concurrency", "2")
    runs.testr("with-history", PytestProject(files=affinity_files()),
               "run", "--concurrency", "2", prepare=store_history)


@needs_pytest
class TestFileAffinity(testtools.TestCase):

    def setups(self, project):
        """[(pid, module)] in the order the module fixtures were set up."""
        with open(f"{project.path}/setups.log", encoding="utf-8") as log:
            return [tuple(line.split()) for line in log]

    def assert_modules_set_up_about_once(self, entries):
        counts = collections.Counter(entries)
        # No worker sets a module up twice (it never goes back to a file
        # it has left) ...
        self.assertEqual({1}, set(counts.values()), counts)
        # ... and at most two files are split between the two workers (by
        # a steal at the end of the run); the other modules run on one
        # worker only.  A queue that deals single tests out sets up nearly
        # every module on both.
        modules = collections.Counter(module for _, module in entries)
        self.assertEqual(MODULES, len(modules))
        self.assertLessEqual(len(entries), MODULES + 2, modules)

    def test_module_fixtures_are_set_up_once_per_run_first_and_with_history(self):
        # No history, and (started together) with a first run's durations.
        runs = self.useFixture(Together(start_runs))
        for name in ("first", "with-history"):
            project, code, _, err = runs.answer(name)
            self.assertEqual(0, code, err)
            self.assert_modules_set_up_about_once(self.setups(project))

