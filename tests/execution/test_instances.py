"""The instance_provision / instance_execute / instance_dispose callouts,
with real instances: provisioning copies the project into separate temp
directories, execute runs the command inside one, dispose removes them.
The suite's tests claim a fixed file name, so they collide when they share
a directory and do not when each worker has an instance of its own."""

import os
import shlex
import signal
import subprocess
import sys

import fixtures
import testtools

from testrepo import api
from testrepo.options import Project
from tests.cli.test_run import totals
from tests.fixtures import (SampleProject, TESTR_CONF, run_testrepo, sigint_as_at_a_terminal,
                            testrepo_env)
from tests.harness import run_cli

CLAIM_TESTS = '''\
import os
import time
import unittest


def claim():
    """Fails if another test already claimed this directory's file."""
    fd = os.open("claimed", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)


class TestClaims(unittest.TestCase):

    def test_a(self):
        claim()

    def test_b(self):
        claim()

    def test_c_blocks(self):
        fifo = os.environ.get("READY_FIFO")
        if fifo:
            with open(fifo, "w") as ready:
                ready.write("started\\n")
            time.sleep(60)
'''

PROVISION = '''\
import os, shutil, sys, tempfile
count = int(sys.argv[1])
with open(sys.argv[2], "a") as log:
    log.write("provision %d\\n" % count)
ids = []
for _ in range(count):
    instance = tempfile.mkdtemp(prefix="testrepo-instance-")
    os.rmdir(instance)
    shutil.copytree(".", instance, ignore=shutil.ignore_patterns(".testrepository"))
    ids.append(instance)
print(" ".join(ids))
'''

DISPOSE = '''\
import shutil, sys
with open(sys.argv[1], "a") as log:
    log.write("dispose %s\\n" % " ".join(sys.argv[2:]))
for instance in sys.argv[2:]:
    shutil.rmtree(instance)
'''


def instance_config(log, python=sys.executable):
    log = shlex.quote(log)
    return TESTR_CONF + (
        f"instance_provision={python} provision.py $INSTANCE_COUNT {log}\n"
        f"instance_execute=echo execute $INSTANCE_ID $FILES >> {log}; "
        "for f in $FILES; do cp \"$f\" $INSTANCE_ID/; done; cd $INSTANCE_ID && $COMMAND\n"
        f"instance_dispose={python} dispose.py {log} $INSTANCE_IDS\n")


class TestInstances(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config="testr", tests=CLAIM_TESTS))
        self.project.write("provision.py", PROVISION)
        self.project.write("dispose.py", DISPOSE)
        self.log = os.path.join(self.project.path, "instances.log")

    def use_instances(self):
        self.project.write(".testr.conf", instance_config(self.log))

    def log_lines(self):
        with open(self.log) as handle:
            return handle.read().splitlines()

    def assert_disposed(self):
        lines = self.log_lines()
        provisioned = [line for line in lines if line.startswith("provision")]
        disposed = [line.split()[1:] for line in lines if line.startswith("dispose")]
        self.assertEqual(1, len(disposed), lines)
        executed = {line.split()[1] for line in lines if line.startswith("execute")}
        self.assertLessEqual(executed, set(disposed[0]))
        self.assertEqual(sorted(disposed[0]), disposed[0])
        for instance in disposed[0]:
            self.assertFalse(os.path.exists(instance), instance)
        return provisioned, disposed[0]

    def test_without_instances_the_tests_collide(self):
        code, out, _ = run_testrepo(self.project.path, "run", "-j", "2", "test_a|test_b")
        self.assertEqual(1, code)
        self.assertEqual((1, 1, 0), totals(out))
        self.assertIn("FileExistsError", out)

    def test_with_an_instance_per_worker_they_do_not(self):
        self.use_instances()
        code, out, err = run_testrepo(self.project.path, "run", "-j", "2", "test_a|test_b")
        self.assertEqual(0, code, out + err)
        self.assertEqual((2, 0, 0), totals(out))
        provisioned, disposed = self.assert_disposed()
        self.assertEqual(["provision 2"], provisioned)
        self.assertEqual(2, len(disposed))
        executes = [line.split() for line in self.log_lines() if line.startswith("execute")]
        self.assertEqual(3, len(executes))  # the listing, then one per worker
        self.assertEqual(2, len(executes[0]))  # listing: no $FILES
        self.assertEqual(2, len({execute[1] for execute in executes[1:]}))
        self.assertTrue(all(execute[2].endswith(".list") for execute in executes[1:]))
        self.assertFalse(os.path.exists(os.path.join(self.project.path, "claimed")))

    def test_instances_are_disposed_of_when_listing_fails(self):
        self.use_instances()
        self.project.write("sample/test_broken.py", "import no_such_module_here\n")
        code, _, err = run_testrepo(self.project.path, "run", "-j", "2")
        self.assertEqual(5, code)
        self.assertIn("no_such_module_here", err)
        self.assert_disposed()

    def test_instances_are_disposed_of_on_ctrl_c(self):
        self.use_instances()
        # Outside the project, which provisioning copies.
        fifo = os.path.join(self.useFixture(fixtures.TempDir()).path, "ready.fifo")
        os.mkfifo(fifo)
        proc = subprocess.Popen(
            [sys.executable, "-m", "testrepo", "run", "-j", "2"], cwd=self.project.path,
            env=testrepo_env({"READY_FIFO": fifo}), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            preexec_fn=sigint_as_at_a_terminal)
        with open(fifo) as ready:
            self.assertEqual("started\n", ready.readline())
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(130, proc.returncode, out + err)
        self.assert_disposed()
        (record,) = api.history(Project(directory=self.project.path))
        self.assertTrue(record.interrupted)

    def test_a_failing_provision_is_an_execution_error(self):
        self.project.write(".testr.conf", TESTR_CONF + "instance_provision=echo no >&2; exit 4\n"
                           "instance_execute=$COMMAND\n")
        code, _, err = run_testrepo(self.project.path, "run")
        self.assertEqual(5, code)
        self.assertIn("testr: instance_provision `echo no >&2; exit 4` exited with 4", err)
        self.assertIn("no", err.splitlines()[1])

    def test_execute_without_provision_is_a_config_error(self):
        self.project.write(".testr.conf", TESTR_CONF + "instance_execute=$COMMAND\n")
        code, _, err = run_cli(self.project.path, "run")
        self.assertEqual(3, code)
        self.assertEqual(["testr: .testr.conf: [DEFAULT] instance_execute: needs "
                          "instance_provision to create the instances it runs in"],
                         err.splitlines())
