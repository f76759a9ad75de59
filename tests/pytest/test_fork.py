"""Workers forked from worker 0 (:mod:`testrepo.execution.pytest_fork`):
the suite is imported once, split between the workers
(:mod:`testrepo.execution.pytest_split`) or by worker 0 alone, and a forked
worker reports, captures, crashes and times out as a started one."""

import collections
import json
import os

import testtools

from tests.cli.test_run import totals
from tests.fixtures import once_per_process
from tests.pytest.suites import (
    PytestProject,
    attachments,
    final_statuses,
    needs_pytest,
    together,
)

# Logs each import and each test's process; ``forked()`` is true in a
# process that did not import the conftest itself (worker 0 imports it
# before it forks; a worker started afresh imports it again).
CONFTEST = '''\
import json
import os

LOG = os.path.join(os.path.dirname(__file__), "..", "log.jsonl")
STARTER = os.getpid()


def forked():
    return os.getpid() != STARTER


def log(**entry):
    with open(LOG, "a", encoding="utf-8") as out:
        out.write(json.dumps(dict(entry, pid=os.getpid())) + "\\n")
'''


def module(index):
    tests = "".join(f'''

def test_{n}():
    log(event="run", module={index}, ppid=os.getppid())
    print("out of {index}.{n}")
    os.write(2, b"fd 2 of {index}.{n}\\n")
''' for n in range(4))
    return f'''import os
import time

from conftest import forked, log

log(event="import", module={index})
{tests}'''


def suite():
    files = {"tests/conftest.py": CONFTEST}
    for index in range(6):
        files[f"tests/test_m{index}.py"] = module(index)
    return files


def events(project, kind):
    with open(os.path.join(project.path, "log.jsonl"), encoding="utf-8") as log:
        return [entry for entry in map(json.loads, log) if entry["event"] == kind]


CRASH = "\n\ndef test_dies_if_forked():\n    if forked():\n        os._exit(3)\n"
HANG = "\n\ndef test_hangs_if_forked():\n    while forked():\n        time.sleep(0.05)\n"
NO_FORK = ("\nimport threading\nimport time\n\n"
           "threading.Thread(target=time.sleep, args=(600,), daemon=True).start()\n")
# Hooks that must see the whole suite: worker 0 collects it all, then forks.
WHOLE = "\n\ndef pytest_collection_modifyitems(items):\n    items.sort(key=str)\n"
WHOLE_FINISH = "\n\ndef pytest_collection_finish(session):\n    print(len(session.items))\n"
# The last module (worker 1's share) kills the forked worker collecting it.
DIES_IMPORTING = "\nif forked():\n    os._exit(3)\n"
BROKEN = "def test_broken(:\n"


def suite_with(test="", conftest=""):
    """suite() with ``test`` added to every module (whichever files the
    forked worker runs) and ``conftest`` to the conftest."""
    files = suite()
    for index in range(6):
        files[f"tests/test_m{index}.py"] += test
    files["tests/conftest.py"] += conftest
    return files


def start_runs(runs):
    """The runs of the tests below, each in a project of its own."""
    two = ("run", "--concurrency", "2")
    runs.testr("plain", PytestProject(suite()), *two)
    runs.testr("no-capture", PytestProject(suite()), *two, "--", "-s")
    runs.testr("dies", PytestProject(suite_with(CRASH)), *two)
    runs.testr("hangs", PytestProject(suite_with(HANG)), *two, "--timeout", "1")
    runs.testr("thread", PytestProject(suite_with(conftest=NO_FORK)), *two)
    runs.testr("whole", PytestProject(suite_with(conftest=WHOLE)), *two)
    runs.testr("whole-finish", PytestProject(suite_with(conftest=WHOLE_FINISH)), *two)
    dies_importing = suite()
    dies_importing["tests/test_m5.py"] += DIES_IMPORTING
    runs.testr("dies-importing", PytestProject(dies_importing), *two)
    runs.testr("broken", PytestProject(dict(suite(), **{"tests/test_m5.py": BROKEN})), *two)


@once_per_process
def fork_runs():
    """The runs of start_runs(), started together."""
    return together(start_runs)


@needs_pytest
class TestForkedWorkers(testtools.TestCase):

    def run_of(self, name, expected_code):
        project, code, out, err = fork_runs().answer(name)
        self.assertEqual(expected_code, code, out + err)
        return project, out

    def test_the_suite_is_imported_once_split_between_the_workers(self):
        project, _ = self.run_of("plain", 0)
        imports = events(project, "import")
        importers = collections.defaultdict(set)
        for entry in imports:
            importers[entry["module"]].add(entry["pid"])
        # Each worker imports its own share; at the end one may steal a
        # file of the other's share and import it too.
        self.assertEqual(set(range(6)), set(importers))
        self.assertEqual(2, len({entry["pid"] for entry in imports}), imports)
        self.assertLessEqual(len(imports), 7, imports)
        runs = events(project, "run")
        self.assertEqual(2, len({entry["pid"] for entry in runs}))
        # The forked worker is testr's child, as a started one is.
        self.assertEqual(1, len({entry["ppid"] for entry in runs}))

    def test_a_hook_that_sees_the_whole_suite_gets_it_all(self):
        for name in ("whole", "whole-finish"):
            project, _ = self.run_of(name, 0)
            imports = events(project, "import")
            self.assertEqual(6, len(imports), name)
            self.assertEqual(1, len({entry["pid"] for entry in imports}), name)
            self.assertEqual(2, len({entry["pid"] for entry in events(project, "run")}), name)

    def test_a_share_whose_worker_dies_is_collected_by_worker_0(self):
        project, out = self.run_of("dies-importing", 0)
        # Without worker 0 collecting the lost share, its 4 tests would be
        # missing from the listing.
        self.assertEqual((24, 0, 0), totals(out))
        # The forked worker died importing test_m5.py; worker 0 (which
        # imported the first module, its share's) imported it too.
        importers = collections.defaultdict(set)
        for entry in events(project, "import"):
            importers[entry["module"]].add(entry["pid"])
        self.assertTrue(importers[0] & importers[5], importers)

    def test_a_collection_error_in_a_forked_share_stops_the_run(self):
        _, code, out, err = fork_runs().answer("broken")
        self.assertEqual(5, code, out + err)
        self.assertTrue(err.startswith("testr: listing tests failed"), err)
        self.assertIn("ERROR collecting tests/test_m5.py", err)

    def test_each_test_keeps_its_own_output(self):
        for name in ("plain", "no-capture"):
            project, _ = self.run_of(name, 0)
            for index in range(6):
                for n in range(4):
                    found = attachments(project.path, f"tests/test_m{index}.py::test_{n}")
                    self.assertEqual(f"out of {index}.{n}\n".encode(), found["stdout"], name)
                    self.assertEqual(f"fd 2 of {index}.{n}\n".encode(), found["stderr"], name)

    def test_a_forked_worker_that_dies_is_replaced(self):
        project, out = self.run_of("dies", 1)
        failed = [test_id for test_id, status in final_statuses(project.path).items()
                  if status == "fail"]
        self.assertEqual(1, len(failed), out)  # its replacement imports the suite itself
        self.assertIn("exited with code 3 while running", out)
        self.assertEqual((29, 1, 0), totals(out))

    def test_a_forked_worker_times_out_with_its_stack(self):
        project, out = self.run_of("hangs", 1)
        failed = [test_id for test_id, status in final_statuses(project.path).items()
                  if status == "fail"]
        self.assertEqual(1, len(failed), out)  # its replacement imports the suite itself
        traceback = attachments(project.path, failed[0])["traceback"]
        self.assertIn(b"timed out after 1 s", traceback)
        self.assertIn(b"in test_hangs_if_forked", traceback)

    def test_no_fork_while_another_thread_runs(self):
        project, _ = self.run_of("thread", 0)
        # The second worker was started afresh: it imported what it ran.
        importers = collections.Counter(entry["pid"] for entry in events(project, "import"))
        self.assertEqual(2, len(importers), importers)
