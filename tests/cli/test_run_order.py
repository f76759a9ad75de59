"""Order within a worker, through the CLI: with history the built-in
runner runs each worker's tests in listing order (as stestr does), so a
suite with order-dependent tests passes; and ``--random`` in command mode
either runs the seed's order or says that the test command reorders."""

import random

import testtools

from testrepo import scheduler
from tests.cli.test_run import stored_events
from tests.fixtures import SampleProject
from tests.harness import testr
from tests.streams import Result, load_run

# sample/test_a.py .. test_c.py need a clean process; sample/test_z.py
# (listed last) leaves state behind.  Any worker that runs test_z before
# one of the others fails it.
CLEAN_MODULE = '''\
import unittest

from sample import state


class TestClean(unittest.TestCase):
{methods}
'''
CLEAN_METHOD = '''
    def test_{n}(self):
        self.assertEqual([], state.POLLUTED)
'''
POLLUTING_MODULE = '''\
import unittest

from sample import state


class TestPolluting(unittest.TestCase):

    def test_pollutes(self):
        state.POLLUTED.append("test_z")
'''
CLEAN_MODULES = ("test_a", "test_b", "test_c")
SLOW = "sample.test_z.TestPolluting.test_pollutes"


def order_dependent_project(testcase, config="stestr"):
    project = testcase.useFixture(SampleProject(config=config, tests="# replaced below\n"))
    project.write("sample/state.py", "POLLUTED = []\n")
    methods = "".join(CLEAN_METHOD.format(n=n) for n in range(6))
    for module in CLEAN_MODULES:
        project.write(f"sample/{module}.py", CLEAN_MODULE.format(methods=methods))
    project.write("sample/test_z.py", POLLUTING_MODULE)
    return project


def listed_ids(project):
    code, out, err = testr(project.path, "list-tests")
    assert code == 0, out + err
    return [line for line in out.splitlines() if line.startswith("sample.")]


def worker_sequences(project):
    """{worker tag: the test ids it ran, in the order it ran them}."""
    _, events = stored_events(project.path)
    finished = []
    for event in events:
        test_id, status, tags, timestamp = event[1], event[2], event[3] or (), event[-1]
        if test_id and status in ("success", "fail", "skip", "xfail", "uxsuccess"):
            worker = [tag for tag in tags if tag.startswith("worker-")][0]
            finished.append((timestamp, worker, test_id))
    sequences = {}
    for _, worker, test_id in sorted(finished, key=lambda item: item[0]):
        sequences.setdefault(worker, []).append(test_id)
    return sequences


def run_with_history(testcase, project, test_ids, seconds, slow_seconds):
    """Store a run timing every test at ``seconds`` but SLOW at
    ``slow_seconds``, then ``testr run --concurrency 2``; returns its output."""
    history = [Result(test_id, duration=seconds) for test_id in test_ids if test_id != SLOW]
    code, out, err = load_run(project, history + [Result(SLOW, duration=slow_seconds)])
    testcase.assertEqual(0, code, out + err)
    code, out, err = testr(project.path, "run", "--concurrency", "2")
    testcase.assertEqual(0, code, out + err)
    return out


class TestListingOrderWithHistory(testtools.TestCase):

    def test_each_worker_runs_in_listing_order_and_order_dependent_tests_pass(self):
        project = order_dependent_project(self)
        test_ids = listed_ids(project)
        # History: the polluting test, listed last, is by far the slowest,
        # so a longest-first queue would start a worker with it.
        out = run_with_history(self, project, test_ids, 0.01, 5.0)
        self.assertIn("Totals: 19 passed, 0 failed, 0 skipped", out)
        sequences = worker_sequences(project)
        self.assertEqual({"worker-0", "worker-1"}, set(sequences))
        self.assertEqual(sorted(test_ids), sorted(sum(sequences.values(), [])))
        for worker, sequence in sequences.items():
            positions = [test_ids.index(test_id) for test_id in sequence]
            self.assertEqual(sorted(positions), positions, worker)


# sample/test_log.py: TestL.test_0 passes only after TestF.test_9, listed
# just before it, has run in the same process (fixtures' LogHandlerTest
# needs the root logger level a FakeLoggerTest test leaves behind).
NEIGHBOURS_MODULE = '''\
import unittest

from sample import state


class TestF(unittest.TestCase):
{methods}
    def test_9(self):
        state.LEVEL.append("INFO")


class TestL(unittest.TestCase):

    def test_0(self):
        self.assertEqual(["INFO"], state.LEVEL)
{others}
'''
TRIVIAL_METHOD = '''
    def test_{n}(self):
        pass
'''


class TestModulesStayTogether(testtools.TestCase):

    def test_a_module_runs_whole_in_one_worker_first_and_with_history(self):
        # Without history the batches grow 1, 2, 4, 8 tests: the fourth
        # would end with TestF.test_9 and the fifth start with TestL.test_0.
        project = self.useFixture(SampleProject(config="stestr", tests="# replaced below\n"))
        project.write("sample/state.py", "POLLUTED = []\nLEVEL = []\n")
        project.write("sample/test_a.py", CLEAN_MODULE.format(methods="".join(
            CLEAN_METHOD.format(n=n) for n in range(5))))
        project.write("sample/test_log.py", NEIGHBOURS_MODULE.format(
            methods="".join(TRIVIAL_METHOD.format(n=n) for n in range(9)),
            others="".join(TRIVIAL_METHOD.format(n=n) for n in range(1, 4))))
        project.write("sample/test_m.py", CLEAN_MODULE.format(methods="".join(
            CLEAN_METHOD.format(n=n) for n in range(20))))
        test_ids = listed_ids(project)
        self.assertEqual(39, len(test_ids))
        for _ in ("first run", "with history"):
            code, out, err = testr(project.path, "run", "--concurrency", "2")
            self.assertEqual(0, code, out + err)
            self.assertIn("Totals: 39 passed, 0 failed, 0 skipped", out)
            holders = [worker for worker, sequence in worker_sequences(project).items()
                       if any(".test_log." in test_id for test_id in sequence)]
            self.assertEqual(1, len(holders), holders)


# Each test appends "pid test-id" to ran.log, so the order every worker
# *process* ran its tests in can be read back.
RECORDING_MODULE = '''\
import os
import time
import unittest

from sample import state


def record(test):
    with open("ran.log", "a") as log:
        log.write(f"{os.getpid()} {test.id()}\\n")


class TestSlow(unittest.TestCase):
{methods}
'''
RECORDING_METHOD = '''
    def test_{n:02d}(self):
        record(self)
        time.sleep({seconds})
        self.assertEqual([], state.POLLUTED)
'''
RECORDING_POLLUTER = '''\
import unittest

from sample import state
from sample.test_a import record


class TestPolluting(unittest.TestCase):

    def test_pollutes(self):
        record(self)
        state.POLLUTED.append("test_z")
'''


class TestStepBackInAFreshProcess(testtools.TestCase):

    def test_a_worker_that_goes_back_in_the_listing_does_so_in_a_new_process(self):
        # History: the polluter (listed last) 3 s, thirty clean tests 0.1 s
        # each, so one worker plans the polluter alone and the other the
        # thirty.  Really the polluter is instant, and the first clean test
        # takes 3 s, the others nothing: when it ends, the polluter's
        # worker has run dry (the queue's clock is past its 3 s) while the
        # other's plan still holds 2.7 s, all listed before the polluter,
        # so a steal evens out 1.35 s (a seam needs 1 s, a fresh process'
        # start): the polluter's worker takes over the back of that plan
        # in a fresh process.  The one slow test makes the imbalance; the
        # rest need no real time.
        project = self.useFixture(SampleProject(config="stestr", tests="# replaced below\n"))
        project.write("sample/state.py", "POLLUTED = []\n")
        project.write("sample/test_a.py", RECORDING_MODULE.replace("{methods}", "".join(
            RECORDING_METHOD.format(n=n, seconds=3.0 if n == 0 else 0) for n in range(30))))
        project.write("sample/test_z.py", RECORDING_POLLUTER)
        test_ids = listed_ids(project)
        out = run_with_history(self, project, test_ids, 0.1, 3.0)
        self.assertIn("Totals: 31 passed, 0 failed, 0 skipped", out)
        processes = {}
        with open(f"{project.path}/ran.log") as log:
            for line in log:
                pid, test_id = line.split()
                processes.setdefault(pid, []).append(test_id)
        self.assertEqual(sorted(test_ids), sorted(sum(processes.values(), [])))
        self.assertEqual(3, len(processes), processes)  # two workers, one fresh process
        for sequence in processes.values():
            positions = [test_ids.index(test_id) for test_id in sequence]
            self.assertEqual(sorted(positions), positions, sequence)


class TestRandomInCommandMode(testtools.TestCase):

    def test_a_load_list_command_says_once_that_it_reorders(self):
        project = self.useFixture(SampleProject(config="testr"))
        code, out, err = testr(project.path, "run", "--random", "--seed", "7")
        self.assertEqual(1, code, out + err)  # the sample project has failures
        self.assertEqual(1, out.count("test_command gets its test ids in a file ($IDFILE)"),
                         out)
        self.assertIn("Put $IDLIST in test_command to run the seed's order.", out)

    def test_ids_on_the_command_line_run_in_the_seeds_order(self):
        project = order_dependent_project(self, config=None)
        project.write(".testr.conf", (
            "[DEFAULT]\n"
            "test_command=${PYTHON:-python} -m subunit.run $IDLIST $LISTOPT\n"
            "test_list_option=--list\n"
            "test_id_list_default=discover -t . sample\n"))
        test_ids = listed_ids(project)
        code, out, err = testr(project.path, "run", "--random", "--seed", "11",
                                      "--concurrency", "1")
        self.assertNotIn("$IDFILE", out)
        # The seed's order: the same seeded shuffle testr makes of the
        # listed ids (one partition with one worker).
        expected = scheduler.shuffle_within([test_ids], random.Random(11))[0]
        self.assertNotEqual(test_ids, expected)
        ran = sum(worker_sequences(project).values(), [])
        self.assertEqual(expected, ran, out + err)
