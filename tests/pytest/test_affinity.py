"""Files stay on one worker under ``runner = pytest``
(:mod:`testrepo.scheduler.file_queue`): a module's fixtures are set up
once in a run, not once per worker, and a file is collected by the
workers that run its tests."""

import collections

import testtools

from tests.harness import testr
from tests.pytest.suites import PytestProject, needs_pytest

MODULES = 12

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


def timed_module(count=5, seconds=0.02):
    tests = "".join(f"\n\ndef test_{n}():\n    time.sleep({seconds})\n" for n in range(count))
    return f"import time\n{tests}"


def affinity_files():
    files = {"tests/conftest.py": CONFTEST}
    for index in range(MODULES):
        files[f"tests/test_m{index:02d}.py"] = timed_module()
    return files


@needs_pytest
class TestFileAffinity(testtools.TestCase):

    def setups(self, project):
        """[(pid, module)] in the order the module fixtures were set up;
        the log is emptied for the next run."""
        path = f"{project.path}/setups.log"
        with open(path, encoding="utf-8") as log:
            entries = [tuple(line.split()) for line in log]
        open(path, "w").close()
        return entries

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
        project = self.useFixture(PytestProject(files=affinity_files()))
        for _ in range(2):  # no history, then with the first run's durations
            code, _, err = testr(project.path, "run", "--concurrency", "2")
            self.assertEqual(0, code, err)
            self.assert_modules_set_up_about_once(self.setups(project))

