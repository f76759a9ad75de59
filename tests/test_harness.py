"""tests.harness.run_cli answers as the process does, and leaves the test
process as it found it."""

import locale
import logging
import os
import signal
import sys

import testtools

from tests.fixtures import SampleProject, finish_testrepo, start_testrepo
from tests.harness import ProcessNeeded, run_cli


class TestSameAnswersAsTheProcess(testtools.TestCase):
    """Each case runs in a process and in the harness, in two copies of the
    same project (command mode: ``run`` lists in a process of its own): the
    answers are equal."""

    CASES = (
        ("--version",),
        ("--help",),
        ("last",),
        ("init",),
        ("list", "Beta"),
        ("slowest", "--no-such-flag"),
        ("nosuchcommand",),
        ("run", "--metadata", "git_sha"),
        ("run", "(unclosed"),
        ("nonsense", "--debug"),
        ("--debug", "-d", "nowhere", "last"),
        ("--debug", "history", "list"),
    )

    def test_cases(self):
        # Every case's process runs while the harness answers the cases.
        processes = []
        for args in self.CASES:
            project = self.useFixture(SampleProject(config="testr"))
            processes.append((project, start_testrepo(project.path, *args)))
        for args, (project, process) in zip(self.CASES, processes):
            answers = [(project, finish_testrepo(process))]
            project = self.useFixture(SampleProject(config="testr"))
            answers.append((project, run_cli(project.path, *args)))
            answers = [(code, out.replace(project.path, "PROJECT"),
                        err.replace(project.path, "PROJECT"))
                       for project, (code, out, err) in answers]
            self.assertEqual(answers[0], answers[1], args)

    def test_stdin_and_binary_stdout(self):
        project = self.useFixture(SampleProject(config="stestr"))
        code, out, err = run_cli(project.path, "load", "--force-init", stdin=b"PASS: x\n",
                                 binary=True)
        self.assertEqual((2, b""), (code, out))
        self.assertIn("holds no test results", err)

    def test_environment_is_hermetic_and_extra_variables_reach_the_command(self):
        # As in a process started with testrepo_env: the test process's
        # variables pass, except those it keeps out (CI variables that
        # would name a job or a shard, a developer's config locations).
        project = self.useFixture(SampleProject(config=None))
        project.write(".testr.conf", "[DEFAULT]\ntest_path=${CI_NODE_TOTAL:-./sample}\n")
        os.environ["CI_NODE_TOTAL"] = "./nowhere"
        self.addCleanup(os.environ.pop, "CI_NODE_TOTAL", None)
        code, out, err = run_cli(project.path, "list")
        self.assertEqual((0, 7), (code, len(out.split())), err)
        project.write(".testr.conf", "[DEFAULT]\ntest_path=${SAMPLE_PATH:-./nowhere}\n")
        code, _, err = run_cli(project.path, "list")
        self.assertEqual(5, code, err)
        code, out, _ = run_cli(project.path, "list", env={"SAMPLE_PATH": "./sample"})
        self.assertEqual((0, 7), (code, len(out.split())))
        os.environ["SAMPLE_PATH"] = "./sample"
        self.addCleanup(os.environ.pop, "SAMPLE_PATH", None)
        code, out, _ = run_cli(project.path, "list")
        self.assertEqual((0, 7), (code, len(out.split())))


class TestStateIsRestored(testtools.TestCase):

    def test_process_state_after_commands(self):
        project = self.useFixture(SampleProject(config="stestr"))
        root = logging.getLogger()
        before = (os.getcwd(), dict(os.environ), sys.argv, sys.stdin, sys.stdout,
                  sys.stderr, sys.__stdout__, signal.getsignal(signal.SIGTERM),
                  locale.setlocale(locale.LC_ALL), root.handlers[:], root.level)
        for args in (("--debug", "init"), ("-v", "last"), ("--debug", "nosuchcommand"),
                     ("run", "--metadata", "x"), ("--version",)):
            run_cli(project.path, *args)
            after = (os.getcwd(), dict(os.environ), sys.argv, sys.stdin, sys.stdout,
                     sys.stderr, sys.__stdout__, signal.getsignal(signal.SIGTERM),
                     locale.setlocale(locale.LC_ALL), root.handlers[:], root.level)
            self.assertEqual(before, after, args)


class TestRunNeedsAProcess(testtools.TestCase):

    def test_a_run_that_would_start_workers_is_refused(self):
        project = self.useFixture(SampleProject(config="stestr"))
        self.assertRaises(ProcessNeeded, run_cli, project.path, "run", "TestBeta")
        self.assertRaises(ProcessNeeded, run_cli, project.path, "run", "--pdb",
                          "sample.test_sample.TestBeta.test_pass_one")
        self.assertNotIn("sample", sys.modules)
        self.assertEqual([], os.listdir(os.path.join(project.repository_path(), "runs")))

    def test_run_errors_before_the_pool_are_answered(self):
        # Command mode lists in a process of its own, before any worker.
        project = self.useFixture(SampleProject(config="testr"))
        code, _, err = run_cli(project.path, "run", "nothing-matches-this")
        self.assertEqual(2, code)
        self.assertIn("no test matched", err)
