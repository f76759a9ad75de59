"""Stopping a run from outside: Ctrl-C, SIGTERM, and SIGKILL of testr itself.

The hung test tells the test case it has started through a FIFO (no
sleeping to wait), then hangs; the case signals the real `testr run`.
"""

import os
import signal
import subprocess
import sys

import testtools

from tests.cli.test_run import totals
from tests.fixtures import SampleProject, run_testrepo, sigint_as_at_a_terminal, testrepo_env

HANGING_TESTS = '''\
import os
import subprocess
import time
import unittest


class TestQuick(unittest.TestCase):

    def test_a(self):
        pass

    def test_b(self):
        pass


class TestZHang(unittest.TestCase):

    def test_hang(self):
        # A child in a process group of its own: only the session scan
        # finds it when the worker is stopped.
        child = subprocess.Popen(["sleep", "600"], preexec_fn=os.setpgrp)
        with open(os.environ["STARTED_FIFO"], "w") as fifo:
            fifo.write(f"{os.getpid()} {child.pid}")
        time.sleep(600)
'''


def gone(pid):
    """True when ``pid`` no longer runs (absent, or a zombie nobody reaped)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except FileNotFoundError:
        return True


class TestInterrupts(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config="stestr", tests=HANGING_TESTS))
        self.fifo = os.path.join(self.project.path, "started")
        os.mkfifo(self.fifo)

    def start_run(self):
        """Start `testr run --serial`; return (process, pid of the worker
        running the hung test) once that test has started."""
        process = subprocess.Popen(
            [sys.executable, "-m", "testrepo", "run", "--serial"], cwd=self.project.path,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            # Block-buffered output (the default for a pipe, which an
            # inherited PYTHONUNBUFFERED would turn off): see below.
            env=testrepo_env({"STARTED_FIFO": self.fifo, "PYTHONUNBUFFERED": ""}),
            preexec_fn=sigint_as_at_a_terminal)
        self.addCleanup(process.kill)
        with open(self.fifo) as fifo:
            worker_pid, self.child_pid = (int(pid) for pid in fifo.read().split())
        # testr killed by SIGKILL cannot stop it (doc/reliability.rst).
        self.addCleanup(self.kill_child)
        # The worker has sent test_a's and test_b's results, but testr may
        # not have read them yet. Its output is block-buffered, and written
        # when it goes idle (Pipeline.flush), right after the stored results
        # are pushed to the run's temp file: once test_b is shown, both
        # are stored.
        shown = b""
        while b"TestQuick.test_b" not in shown:
            line = process.stdout.readline()
            self.assertTrue(line, "testr ended before showing test_b")
            shown += line
        return process, worker_pid

    def kill_child(self):
        try:
            os.kill(self.child_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def check_stopped(self, signum):
        process, worker_pid = self.start_run()
        process.send_signal(signum)
        out, _ = process.communicate(timeout=60)
        self.assertEqual(130, process.returncode)
        self.assertTrue(gone(worker_pid), "the worker outlived the run")
        self.assertTrue(gone(self.child_pid), "the hung test's child outlived the run")
        self.assertIn("interrupted", out.decode())
        self.assertIn("testr: interrupted while sample.test_sample.TestZHang.test_hang was "
                      "running on worker 0 (for ", out.decode())
        code, last, _ = run_testrepo(self.project.path, "last")
        self.assertEqual(0, code, last)
        self.assertIn("interrupted", last)
        self.assertEqual((2, 0, 0), totals(last))

    def test_ctrl_c_stores_the_partial_run_and_exits_130(self):
        self.check_stopped(signal.SIGINT)

    def test_sigterm_is_handled_like_ctrl_c(self):
        self.check_stopped(signal.SIGTERM)

    def test_a_killed_testr_leaves_a_run_the_next_command_recovers(self):
        process, worker_pid = self.start_run()
        process.kill()
        process.communicate(timeout=60)
        code, last, _ = run_testrepo(self.project.path, "last")
        self.assertIn("Recovered run 0", last)
        self.assertIn("recovered=", last)
        self.assertEqual((2, 0, 0), totals(last))
        self.assertEqual([], os.listdir(os.path.join(self.project.repository_path(), "tmp")))
        # The kernel stopped the worker when its parent died.
        self.assertTrue(gone(worker_pid), "the worker outlived its killed parent")
