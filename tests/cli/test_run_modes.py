"""End-to-end tests of run's modes: --until-failure, --isolated,
--worker-file, --no-discover and --pdb, in both runners where they apply."""

import os
import signal
import subprocess
import sys

import testtools

from testrepo import api
from testrepo.options import OutputOptions, Project, RunOptions, Selection
from tests.cli.test_run import run_once, stored_events, totals
from tests.fixtures import (SAMPLE_FAILURES, ProjectCopy, SampleProject, sigint_as_at_a_terminal,
                            testrepo_env)
from tests.harness import run_cli, testr

COUNTING_TESTS = '''\
import os
import unittest


class TestCounting(unittest.TestCase):

    def test_third_time_unlucky(self):
        runs = int(open("runs.count").read()) if os.path.exists("runs.count") else 0
        with open("runs.count", "w") as handle:
            handle.write(str(runs + 1))
        self.assertLess(runs + 1, 3)
'''

# test_b fails when test_a ran before it in the same process.
SHARED_STATE_TESTS = '''\
import os
import unittest

STATE = []


def note_process(name):
    with open(name + ".pid", "w") as handle:
        handle.write(str(os.getpid()))


class TestShared(unittest.TestCase):

    def test_a_pollutes(self):
        note_process("a")
        STATE.append("polluted")

    def test_b_needs_a_clean_process(self):
        note_process("b")
        self.assertEqual([], STATE)
'''

# Blocks on a FIFO the test opens, so the test can interrupt testr at a
# known point without sleeping.
BLOCKING_TESTS = '''\
import time
import unittest


class TestBlocks(unittest.TestCase):

    def test_waits(self):
        with open("ready.fifo", "w") as fifo:
            fifo.write("started\\n")
        time.sleep(60)
'''

PDB_TESTS = '''\
import sys
import unittest


class TestDebugged(unittest.TestCase):

    def test_stops_in_pdb(self):
        answer = 6 * 7
        import pdb; pdb.set_trace()
        with open("where.txt", "w") as handle:
            handle.write(str("testrepo.cli.app" in sys.modules))
        self.assertEqual(42, answer)
'''


def run_ids(project_path):
    return api.open_repository(Project(directory=project_path)).run_ids()


def workers_of(project_path):
    """{test id: worker tag} of the latest run."""
    _, events = stored_events(project_path)
    found = {}
    for event in events:
        for tag in event[3] or ():
            if event[1] and tag.startswith("worker-"):
                found[event[1]] = tag
    return found


class TestUntilFailure(testtools.TestCase):

    def test_runs_again_until_a_run_fails_storing_each(self):
        project = self.useFixture(SampleProject(config="stestr", tests=COUNTING_TESTS))
        code, out, err = testr(project.path, "run", "--until-failure")
        self.assertEqual(1, code, out + err)
        self.assertIn("--until-failure: run 3", out)
        self.assertIn("--until-failure: stopped after 3 run(s): run 2 failed", out)
        self.assertEqual([0, 1, 2], run_ids(project.path))
        records = api.history(Project(directory=project.path))
        self.assertEqual([0, 0, 1], [record.failed for record in records])

    def test_ctrl_c_stops_the_loop_and_stores_the_interrupted_run(self):
        project = self.useFixture(SampleProject(config="stestr", tests=BLOCKING_TESTS))
        fifo = os.path.join(project.path, "ready.fifo")
        os.mkfifo(fifo)
        proc = subprocess.Popen(
            [sys.executable, "-m", "testrepo", "run", "--until-failure", "--serial"],
            cwd=project.path, env=testrepo_env(), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            preexec_fn=sigint_as_at_a_terminal)
        with open(fifo) as ready:
            self.assertEqual("started\n", ready.readline())
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(130, proc.returncode, out + err)
        self.assertIn(b"stopped after 1 run(s): interrupted", out)
        (record,) = api.history(Project(directory=project.path))
        self.assertTrue(record.interrupted)


class IsolatedContract:
    config = None

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config=self.config,
                                                     tests=SHARED_STATE_TESTS))

    def pid_of(self, name):
        with open(os.path.join(self.project.path, name + ".pid")) as handle:
            return handle.read()

    def test_tests_sharing_a_process_interfere(self):
        code, out, _ = testr(self.project.path, "run", "--serial")
        self.assertEqual(1, code)
        self.assertEqual((1, 1, 0), totals(out))
        self.assertEqual(self.pid_of("a"), self.pid_of("b"))

    def test_isolated_runs_each_test_in_a_fresh_process(self):
        code, out, err = testr(self.project.path, "run", "--isolated", "--serial")
        self.assertEqual(0, code, out + err)
        self.assertEqual((2, 0, 0), totals(out))
        self.assertNotEqual(self.pid_of("a"), self.pid_of("b"))
        (record,) = api.history(Project(directory=self.project.path))
        self.assertEqual("true", record.metadata["isolated"])

    def test_isolated_runs_several_processes_at_once(self):
        code, out, err = testr(self.project.path, "run", "--isolated", "-j", "2")
        self.assertEqual(0, code, out + err)
        self.assertEqual({"worker-0", "worker-1"}, set(workers_of(self.project.path).values()))


class TestIsolatedBuiltin(IsolatedContract, testtools.TestCase):
    config = "stestr"


class TestIsolatedCommandMode(IsolatedContract, testtools.TestCase):
    config = "testr"


WORKER_FILE = """\
- worker:
    - TestAlpha
- worker: [test_slow]
"""


class WorkerFileContract:
    config = None

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config=self.config))

    def cli(self, *args):
        return testr(self.project.path, *args)

    def test_each_entry_runs_on_its_own_worker_and_the_rest_on_another(self):
        self.project.write("workers.yaml", WORKER_FILE)
        code, out, err = self.cli("run", "--worker-file", "workers.yaml")
        self.assertEqual(1, code, out + err)
        self.assertEqual((4, 2, 1), totals(out))
        self.assertIn("worker file: 2 tests match no entry; they run on worker 2", out)
        workers = workers_of(self.project.path)
        alpha = {tag for test_id, tag in workers.items() if "TestAlpha" in test_id}
        self.assertEqual({"worker-0"}, alpha)
        self.assertEqual("worker-1", workers["sample.test_sample.TestBeta.test_slow"])
        self.assertEqual("worker-2", workers["sample.test_sample.TestBeta.test_pass_one"])

    def test_an_entry_with_concurrency_gets_several_workers(self):
        self.project.write("workers.yaml", "- worker: [Test]\n  concurrency: 2\n")
        code, out, err = self.cli("run", "--worker-file", "workers.yaml")
        self.assertEqual(1, code, out + err)
        self.assertIn("worker file: entry 1 (workers 0-1): 7 tests", out)
        self.assertEqual({"worker-0", "worker-1"}, set(workers_of(self.project.path).values()))

    def assert_invalid(self, content, message):
        self.project.write("workers.yaml", content)
        code, out, err = run_cli(self.project.path, "run", "--worker-file", "workers.yaml")
        self.assertEqual(3, code, out + err)
        self.assertEqual([f"testr: workers.yaml: {message}"], err.splitlines())

    def test_invalid_worker_files_are_one_line_config_errors(self):
        self.assert_invalid("- worker: TestAlpha\n", "entry 1: worker: expected a non-empty "
                            "list of regular expressions, got 'TestAlpha'")
        self.assert_invalid("- worker: [a]\n- worker: ['(']\n",
                            "entry 2: worker: invalid regular expression '(': missing ), "
                            "unterminated subpattern at position 0")
        self.assert_invalid("- worker: [a]\n  concurrency: 0\n",
                            "entry 1: concurrency: expected a whole number >= 1, got 0")
        self.assert_invalid("- worker: [a]\n  workers: 2\n", "entry 1: workers: unknown key "
                            "(an entry has 'worker' and, optionally, 'concurrency')")
        self.assert_invalid("- concurrency: 2\n",
                            "entry 1: has no 'worker' list of regular expressions")
        self.assert_invalid("worker: [a]\n", "expected a list of '- worker: [REGEX, ...]' "
                            "entries, got {'worker': ['a']}")
        self.assert_invalid("- worker: [a\n", "invalid YAML: line 2, column 1: expected ',' "
                            "or ']', but got '<stream end>'")

    def test_missing_worker_file_is_a_config_error(self):
        code, _, err = run_cli(self.project.path, "run", "--worker-file", "nope.yaml")
        self.assertEqual(3, code)
        self.assertIn("testr: nope.yaml: cannot read the worker file: No such file", err)


class TestWorkerFileBuiltin(WorkerFileContract, testtools.TestCase):
    config = "stestr"


class TestWorkerFileCommandMode(WorkerFileContract, testtools.TestCase):
    config = "testr"


class NoDiscoverContract:
    config = None

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config=self.config))

    def test_runs_just_the_named_test_given_by_path(self):
        self.project = self.useFixture(ProjectCopy(run_once(self.config, "sample").path))
        code, out, err = testr(self.project.path, "run", "--no-discover",
                                      "sample/test_sample.py::TestBeta::test_pass_one")
        self.assertEqual(0, code, out + err)
        self.assertEqual((1, 0, 0), totals(out))
        self.assertIn("sample.test_sample.TestBeta.test_pass_one", out)
        _, failing, _ = testr(self.project.path, "failing", "--list")
        self.assertEqual(SAMPLE_FAILURES, failing.split())  # a one-test run is partial

    def test_runs_a_dotted_id(self):
        code, out, _ = testr(self.project.path, "run", "-n",
                                    "sample.test_sample.TestAlpha.test_fail")
        self.assertEqual(1, code)
        self.assertEqual((0, 1, 0), totals(out))

    def test_filters_are_refused(self):
        code, _, err = run_cli(self.project.path, "run", "-n", "x.y", "Beta")
        self.assertEqual(2, code)
        self.assertIn("--no-discover runs exactly the test it names", err)


class TestNoDiscoverBuiltin(NoDiscoverContract, testtools.TestCase):
    config = "stestr"

    def test_other_modules_are_not_imported(self):
        self.project.write("sample/test_broken.py", "import no_such_module_here\n")
        code, _, _ = testr(self.project.path, "run")
        self.assertEqual(5, code)
        code, out, err = testr(self.project.path, "run", "-n",
                                      "sample.test_sample.TestBeta.test_pass_one")
        self.assertEqual(0, code, out + err)

    def test_a_name_that_does_not_import_exits_5(self):
        code, _, err = testr(self.project.path, "run", "-n", "sample.test_nope.T.t")
        self.assertEqual(5, code)
        self.assertIn("No module named 'sample.test_nope'", err)


class TestNoDiscoverCommandMode(NoDiscoverContract, testtools.TestCase):
    config = "testr"


class TestPdb(testtools.TestCase):

    def test_the_test_runs_in_the_foreground_where_pdb_works(self):
        project = self.useFixture(SampleProject(config="stestr", tests=PDB_TESTS))
        code, out, err = testr(
            project.path, "run", "--pdb",
            "sample/test_sample.py::TestDebugged::test_stops_in_pdb",
            stdin=b"p answer + 1\nc\n")
        self.assertEqual(0, code, out + err)
        self.assertIn("(Pdb) 43", out)
        self.assertEqual((1, 0, 0), totals(out))
        with open(os.path.join(project.path, "where.txt")) as handle:
            self.assertEqual("True", handle.read())  # in testr's own process
        (record,) = api.history(Project(directory=project.path))
        self.assertEqual((1, True), (record.passed, record.partial))

    def test_pdb_with_until_failure_is_a_usage_error(self):
        project = self.useFixture(SampleProject(config="stestr"))
        code, _, err = run_cli(project.path, "run", "--pdb", "x.y", "--until-failure")
        self.assertEqual(2, code)
        self.assertIn("--pdb cannot be combined with --until-failure", err)

    def test_a_name_that_does_not_import_stores_nothing(self):
        project = self.useFixture(SampleProject(config="stestr"))
        code, _, err = testr(project.path, "run", "--pdb", "sample.nope.T.t")
        self.assertEqual(5, code)
        self.assertIn("cannot load test 'sample.nope.T.t'", err)
        self.assertEqual([], run_ids(project.path))


class TestWorkerFileFromTheApi(testtools.TestCase):
    """doc/api.rst: a filtered, worker-file-scheduled parallel run with
    subunit to a file, from an embedding program."""

    def test_embedded_worker_file_run(self):
        project = self.useFixture(SampleProject(config="stestr"))
        project.write("workers.yaml", WORKER_FILE)
        path = project.write("out.subunit", "")
        with open(path, "w") as stream:
            outcome = api.run(Project(directory=project.path), Selection(filters=("Test",)),
                              RunOptions(worker_file="workers.yaml"),
                              OutputOptions(subunit=True), stream)
        self.assertEqual((4, 2, 1), (outcome.record.passed, outcome.record.failed,
                                     outcome.record.skipped))
        self.assertEqual("worker-1", workers_of(project.path)[
            "sample.test_sample.TestBeta.test_slow"])
        with open(path, "rb") as stream:
            self.assertEqual(b"\xb3", stream.read(1))  # v2 only: no report text mixed in
