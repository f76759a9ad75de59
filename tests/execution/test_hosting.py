"""The built-in worker is a transparent host: tests that fork, use
multiprocessing (every start method), process pools, subprocesses, read
stdin, leave processes behind, report under other ids (scenarios) or keep
big objects on ``self`` run as they do under ``subunit.run``, and no
process of the run survives it.

Every run goes through the real CLI on a generated suite.  A marker in the
environment of ``testr`` (inherited by every process it and its tests
start) finds whatever survived a run in ``/proc``.
"""

import os
import signal
import subprocess
import sys
import uuid

import testtools

from tests.cli.test_run import stored_events, totals
from tests.fixtures import SampleProject, run_testrepo, testrepo_env
from tests.harness import run_cli

PROCESS_TESTS = '''\
import concurrent.futures
import multiprocessing
import os
import subprocess
import sys
import unittest


def square(value):
    return value * value


class TestProcesses(unittest.TestCase):

    def pool_map(self, method):
        with multiprocessing.get_context(method).Pool(2) as pool:
            self.assertEqual([0, 1, 4], pool.map(square, range(3)))

    def test_fork_pool(self):
        self.pool_map("fork")

    def test_forkserver_pool(self):
        self.pool_map("forkserver")

    def test_spawn_pool(self):
        self.pool_map("spawn")

    def test_manager(self):
        with multiprocessing.Manager() as manager:
            shared = manager.dict()
            shared["a"] = 1
            self.assertEqual({"a": 1}, dict(shared))

    def test_fork_process(self):
        child = multiprocessing.get_context("fork").Process(target=square, args=(3,))
        child.start()
        child.join()
        self.assertEqual(0, child.exitcode)

    def test_process_pool_executor(self):
        with concurrent.futures.ProcessPoolExecutor(2) as executor:
            self.assertEqual([4, 9], list(executor.map(square, [2, 3])))

    def test_os_fork(self):
        pid = os.fork()
        if pid == 0:
            os._exit(7)
        self.assertEqual(7, os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))

    def test_subprocess(self):
        out = subprocess.run([sys.executable, "-c", "print('child')"],
                             capture_output=True, text=True, check=True).stdout
        self.assertEqual("child\\n", out)

    def test_reads_stdin(self):
        self.assertEqual("", sys.stdin.read())

    def test_command_line_is_subunit_runs(self):
        # As under stestr's python -m subunit.run: no protocol flags.
        self.assertEqual(["run.py"], [os.path.basename(arg) for arg in sys.argv])

    def test_prints(self):
        print("to stdout", flush=True)
        sys.stdout.buffer.write(b"binary\\n")
        sys.stdout.flush()
        os.write(sys.stdout.fileno(), b"descriptor\\n")
        subprocess.run(["echo", "child"], check=True)
        sys.stderr.write("to stderr\\n")
'''

LEAVES_CHILD_TESTS = '''\
import os
import subprocess
import unittest


class TestLeaves(unittest.TestCase):

    def test_leaves_zombie(self):
        # Ended but never waited for: not "left running".
        if os.fork() == 0:
            os._exit(0)

    def test_leaves_sleeping_child(self):
        subprocess.Popen(["sleep", "600"])

    def test_leaves_daemon(self):
        # A daemon of its own session: only the subreaper finds it.
        subprocess.Popen(["sleep", "601"], start_new_session=True)

    def test_after(self):
        pass
'''

SCENARIO_TESTS = '''\
import copy
import os
import unittest


class WithScenarios(unittest.TestCase):
    """What testscenarios.WithScenarios does: one listed test runs as one
    test per scenario, each reporting under ``id(scenario)``."""

    scenarios = [("one", {"value": 1}), ("two", {"value": 2})]

    def run(self, result=None):
        for name, attributes in self.scenarios:
            clone = copy.copy(self)
            clone.__dict__.update(attributes)
            clone.id = lambda name=name: f"{unittest.TestCase.id(self)}({name})"
            unittest.TestCase.run(clone, result)


class TestScenarios(WithScenarios):

    def test_value(self):
        self.assertLess(self.value, int(os.environ.get("SCENARIO_LIMIT", "3")))

    def test_other(self):
        pass


class TestPlain(unittest.TestCase):

    def test_plain(self):
        pass
'''

BIG_TESTS_HEADER = '''\
import unittest

MEGABYTE = 1 << 20

'''
BIG_TEST_CLASS = '''
class TestBig{index}(unittest.TestCase):
{methods}
'''
BIG_TEST_METHOD = '''
    def test_{index}(self):
        self.data = b"x" * MEGABYTE
'''


def survivors(marker):
    """Pids of live (not zombie) processes whose environment holds ``marker``."""
    found = []
    needle = f"TESTREPO_RUN_MARKER={marker}".encode()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as handle:
                if needle not in handle.read().split(b"\0"):
                    continue
            with open(f"/proc/{name}/stat", "rb") as handle:
                if handle.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    continue
        except OSError:
            continue
        found.append(int(name))
    return found


class HostingTestCase(testtools.TestCase):

    def run_suite(self, tests, *args, env=None):
        """``testr run ARGS`` on ``tests``; (exit code, stdout, stderr)
        after checking that nothing the run started is still alive."""
        self.project = self.useFixture(SampleProject(config="stestr", tests=tests))
        marker = uuid.uuid4().hex
        code, out, err = run_testrepo(
            self.project.path, "run", *args,
            env={"TESTREPO_RUN_MARKER": marker, **(env or {})})
        left = survivors(marker)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        self.assertEqual([], left, f"processes survived the run\n{out}\n{err}")
        return code, out, err


class TestProcesses(HostingTestCase):

    def test_every_way_of_starting_processes_passes_and_leaves_nothing(self):
        code, out, err = self.run_suite(PROCESS_TESTS, "--concurrency", "2")
        self.assertEqual(0, code, out + err)
        self.assertEqual((11, 0, 0), totals(out))

    def test_serial_run_also_passes(self):
        code, out, err = self.run_suite(PROCESS_TESTS, "--serial")
        self.assertEqual(0, code, out + err)
        self.assertEqual((11, 0, 0), totals(out))

    def test_output_of_a_test_is_its_own(self):
        code, out, err = self.run_suite(PROCESS_TESTS, "--serial", "test_prints")
        self.assertEqual(0, code, out + err)
        _, events = stored_events(self.project.path)
        # ("status", test_id, test_status, tags, runnable, file_name, file_bytes, ...)
        attachments = {(e[1], e[5]): e[6] for e in events if e[5]}
        test_id = "sample.test_sample.TestProcesses.test_prints"
        self.assertEqual(b"to stdout\nbinary\ndescriptor\nchild\n",
                         attachments[(test_id, "stdout")])
        self.assertEqual(b"to stderr\n", attachments[(test_id, "stderr")])


class TestLeftovers(HostingTestCase):

    def test_processes_left_behind_are_killed_and_named(self):
        code, out, err = self.run_suite(LEAVES_CHILD_TESTS, "--serial")
        self.assertEqual(0, code, out + err)
        self.assertIn("left 1 process(es) running after", out)
        self.assertIn("(sleep 600)", out)
        self.assertEqual((4, 0, 0), totals(out))

    def test_leftovers_of_parallel_workers_are_killed(self):
        code, out, err = self.run_suite(LEAVES_CHILD_TESTS, "--concurrency", "2")
        self.assertEqual(0, code, out + err)
        self.assertIn("(sleep 600)", out)


class TestScenarioIds(HostingTestCase):

    def test_tests_reporting_under_other_ids_are_accounted_for(self):
        code, out, err = self.run_suite(SCENARIO_TESTS, "--concurrency", "2")
        self.assertEqual(0, code, out + err)
        self.assertNotIn("reported no result", out)
        self.assertEqual((5, 0, 0), totals(out))
        _, events = stored_events(self.project.path)
        ids = {e[1] for e in events if e[1]}
        prefix = "sample.test_sample.TestScenarios."
        self.assertEqual({prefix + "test_value(one)", prefix + "test_value(two)",
                          prefix + "test_other(one)", prefix + "test_other(two)",
                          "sample.test_sample.TestPlain.test_plain"}, ids)

    def test_failing_scenarios_are_rerun_by_failing(self):
        code, out, err = self.run_suite(SCENARIO_TESTS, "--serial",
                                        env={"SCENARIO_LIMIT": "2"})
        self.assertEqual(1, code, out + err)
        self.assertEqual((4, 1, 0), totals(out))
        _, failing, _ = run_cli(self.project.path, "failing", "--list")
        self.assertEqual(["sample.test_sample.TestScenarios.test_value(two)"],
                         failing.split())
        code, out, err = run_testrepo(self.project.path, "run", "--failing")
        self.assertEqual(0, code, out + err)
        # The listed test behind the failing scenario ran again, every scenario.
        self.assertEqual((2, 0, 0), totals(out))
        _, failing, _ = run_cli(self.project.path, "failing", "--list")
        self.assertEqual("", failing.strip())


class TestMemory(HostingTestCase):

    def test_tests_keeping_a_megabyte_each_do_not_pile_up(self):
        classes = []
        for index in range(20):
            methods = "".join(BIG_TEST_METHOD.format(index=index * 100 + method)
                              for method in range(100))
            classes.append(BIG_TEST_CLASS.format(index=index, methods=methods))
        tests = BIG_TESTS_HEADER + "".join(classes)
        self.project = self.useFixture(SampleProject(config="stestr", tests=tests))
        # The largest process of the run: this child's RUSAGE_CHILDREN
        # covers testr and its workers, nothing else.
        measure = ("import resource, subprocess, sys; "
                   "code = subprocess.call([sys.executable, '-m', 'testrepo', 'run', "
                   "'--concurrency', '2', '--quiet']); "
                   "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
                   "sys.exit(code)")
        proc = subprocess.run([sys.executable, "-c", measure], cwd=self.project.path,
                              capture_output=True, text=True, env=testrepo_env(),
                              stdin=subprocess.DEVNULL)
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        lines = proc.stdout.splitlines()
        self.assertEqual((2000, 0, 0), totals(proc.stdout))
        peak_kib = int(lines[-1])
        self.assertLess(peak_kib, 200 * 1024, f"peak RSS {peak_kib} KiB")


if __name__ == "__main__":
    import unittest

    unittest.main()
