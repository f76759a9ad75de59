"""How a pytest worker that did not list the suite, and was not forked
from the one that did, collects: file by file, as its batches name them,
without redoing pytest's walk of the directories each time.  Those suites'
conftest starts a thread, so that worker 0 does not fork
(:mod:`testrepo.execution.pytest_fork`).  And what worker 0 collected is
garbage-collected and finalized as under pytest."""

import collections

import testtools

from tests.harness import testr
from tests.pytest.suites import PytestProject, final_statuses, needs_pytest

MODULES = 12


def timed_module(count, seconds):
    tests = "".join(f"\n\ndef test_{n}():\n    time.sleep({seconds})\n" for n in range(count))
    return f"import time\n{tests}"


NO_FORK = '''\
import threading
import time

threading.Thread(target=time.sleep, args=(600,), daemon=True).start()
'''

# Logs every file pytest builds a node for, by process.
COLLECT_LOG = NO_FORK + '''
import os

LOG = os.path.join(os.path.dirname(__file__), "..", "collected.log")


def pytest_collect_file(file_path):
    with open(LOG, "a", encoding="utf-8") as out:
        out.write(f"{os.getpid()} {file_path.name}\\n")
'''


@needs_pytest
class TestLazyCollection(testtools.TestCase):

    def collected(self, project):
        with open(f"{project.path}/collected.log", encoding="utf-8") as log:
            return collections.Counter(tuple(line.split()) for line in log)

    def test_a_worker_builds_each_file_node_once(self):
        # pytest's own collection, file by file, would walk tests/ again
        # for each file and build a node for all of its files each time.
        files = {"tests/conftest.py": COLLECT_LOG}
        for index in range(MODULES):
            files[f"tests/test_m{index:02d}.py"] = timed_module(3, 0.01)
        project = self.useFixture(PytestProject(files=files))
        code, _, err = testr(project.path, "run", "--concurrency", "2")
        self.assertEqual(0, code, err)
        counts = self.collected(project)
        self.assertEqual({1}, set(counts.values()), counts)
        self.assertEqual(2, len({pid for pid, _ in counts}))

    def test_a_file_outside_python_files_named_on_the_command_line_runs(self):
        # check_c.py is collected only because it is named; worker 1 runs
        # test_b.py (its directory is then known) before it gets check_c.py.
        files = {"tests/test_a.py": timed_module(2, 0.5), "tests/test_b.py": timed_module(1, 0.0),
                 "tests/check_c.py": timed_module(2, 0.0), "tests/conftest.py": NO_FORK}
        project = self.useFixture(PytestProject(files=files))
        code, out, err = testr(project.path, "run", "--concurrency", "2", "--",
                               "tests/test_a.py", "tests/test_b.py", "tests/check_c.py")
        self.assertEqual(0, code, out + err)
        self.assertIn("5 passed", out)


# What gc.freeze() after collection would break: a module-level object a
# test drops must be collected, and a file a test module left open must
# keep what was written to it when the worker exits.
MODULE_OBJECTS = '''\
import gc
import os
import weakref

LOG = open(os.path.join(os.path.dirname(__file__), "..", "written.log"), "w")


class Node:
    def __init__(self):
        self.me = self


NODE = Node()


def test_writes_to_a_file_left_open():
    LOG.write("written by a test\\n")


def test_a_dropped_module_object_is_collected():
    global NODE
    ref = weakref.ref(NODE)
    NODE = None
    gc.collect()
    assert ref() is None
'''


@needs_pytest
class TestCollectedObjects(testtools.TestCase):
    """What worker 0 collected (and the workers forked from it hold) is
    garbage-collected and finalized as under pytest: no ``gc.freeze()``,
    though it made the trivial benchmark 5 % faster (doc/performance.rst)."""

    def test_module_objects_are_collected_and_finalized_as_under_pytest(self):
        project = self.useFixture(PytestProject(files={"tests/test_m.py": MODULE_OBJECTS}))
        code, out, err = testr(project.path, "run", "--concurrency", "2")
        self.assertEqual(0, code, out + err)
        self.assertEqual({"success"}, set(final_statuses(project.path).values()), out)
        with open(f"{project.path}/written.log", encoding="utf-8") as log:
            self.assertEqual("written by a test\n", log.read())
