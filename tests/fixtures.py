"""Shared test fixtures: small generated projects and a CLI runner.

Tests run the real CLI (``python -m testrepo``) in a subprocess, in a
temporary project with a real file repository.  A project whose runs
several tests read is made once per test process (:func:`once_per_process`)
and each test that changes it works on a copy (:class:`ProjectCopy`).
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import textwrap

import fixtures

import testrepo
from testrepo.api import JOB_VARIABLES
from testrepo.scheduler.shards import PROTOCOLS as SHARD_PROTOCOLS

SAMPLE_TESTS = '''\
import os
import time
import unittest


class TestAlpha(unittest.TestCase):

    def test_pass(self):
        pass

    def test_fail(self):
        if os.environ.get("SAMPLE_FIXED") or os.path.exists("fixed"):
            return
        self.fail("alpha is broken")

    def test_error(self):
        raise RuntimeError("boom")

    @unittest.skip("not today")
    def test_skip(self):
        pass


class TestBeta(unittest.TestCase):

    def test_slow(self):
        time.sleep(0.05)

    def test_pass_one(self):
        pass

    def test_pass_two(self):
        print("hello from a test")
'''

TESTR_CONF = """\
[DEFAULT]
test_command=${PYTHON:-python} -m subunit.run discover -t . sample $LISTOPT $IDOPTION
test_id_option=--load-list $IDFILE
test_list_option=--list
"""

STESTR_CONF = """\
[DEFAULT]
test_path=./sample
top_dir=./
"""

# Expected counts for SAMPLE_TESTS: 7 tests, 4 pass, 2 fail, 1 skip.
SAMPLE_FAILURES = ["sample.test_sample.TestAlpha.test_error",
                   "sample.test_sample.TestAlpha.test_fail"]
# TestBeta's tests, which all pass.
SAMPLE_BETA = ["sample.test_sample.TestBeta.test_slow",
               "sample.test_sample.TestBeta.test_pass_one",
               "sample.test_sample.TestBeta.test_pass_two"]


class SampleProject(fixtures.Fixture):
    """A temp directory holding package ``sample`` (or ``tests`` with
    ``layout="tests"``) and, depending on ``config``, a ``.testr.conf``
    (``"testr"``), a ``.stestr.conf`` (``"stestr"``) or nothing (``None``)."""

    def __init__(self, config="testr", package="sample", tests=SAMPLE_TESTS):
        super().__init__()
        self.config = config
        self.package = package
        self.tests = tests

    def _setUp(self):
        self.path = self.useFixture(fixtures.TempDir()).path
        self.write(f"{self.package}/__init__.py", "")
        self.write(f"{self.package}/test_sample.py", self.tests)
        if self.config == "testr":
            self.write(".testr.conf", TESTR_CONF)
        elif self.config == "stestr":
            self.write(".stestr.conf", STESTR_CONF)

    def write(self, relpath, content):
        path = os.path.join(self.path, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(textwrap.dedent(content) if content.startswith("\n") else content)
        return path

    def repository_path(self):
        return os.path.join(self.path, ".testrepository")


class ProjectCopy(SampleProject):
    """A copy of the project tree at ``source`` (its repository included),
    for one test to run in and change."""

    def __init__(self, source):
        super().__init__()
        self.source = source

    def _setUp(self):
        self.path = os.path.join(self.useFixture(fixtures.TempDir()).path, "project")
        shutil.copytree(self.source, self.path, symlinks=True)


def once_per_process(make):
    """Decorator for ``make(*key, **first_call)``, which sets up and returns
    a fixture (typically a project holding runs that several tests read):
    it is made once per test process and ``key``, every later call returns
    the same one (its keyword arguments, e.g. something bound to the first
    test, are not part of the key), and it is cleaned up when the process
    exits.  Building history with real `testr run` processes is what the
    CLI tests spend their time on; tests that change the project copy it
    (:class:`ProjectCopy`)."""
    made = {}

    @functools.wraps(make)
    def once(*key, **first_call):
        if key not in made:
            made[key] = make(*key, **first_call)
            atexit.register(made[key].cleanUp)
        return made[key]

    return once


def start_together(commands, env=None):
    """Start a process for each argv in ``commands`` (stdout and stderr
    piped) and let them go on at the same moment: each prints one line
    when it is ready and then reads stdin to its end, which comes for all
    of them (one pipe) when every process has printed its line.  For tests
    of processes that contend for something, whatever each one's import
    time."""
    go_read, go_write = os.pipe()
    try:
        processes = [subprocess.Popen(argv, env=env, stdin=go_read, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE) for argv in commands]
    finally:
        os.close(go_read)
    try:
        for process in processes:
            process.stdout.readline()  # "" if it died first: its exit code says why
    finally:
        os.close(go_write)
    return processes


# The runs of sample_history(): (host, job, whether the `fixed` file exists)
# per run, so test_fail fails, passes, fails, passes, passes, fails: 4 flips,
# so it is flaky; test_error fails in every run (broken, not flaky).
HISTORY_RUNS = [("ci-a", "unit", False), ("ci-a", "unit", True), ("ci-b", "unit", False),
                ("ci-b", "lint", True), ("ci-a", "unit", True), ("ci-b", "unit", False)]


@once_per_process
def sample_history():
    """The sample project with the runs of HISTORY_RUNS (real `testr run`s
    with --metadata host=... job=..., by the built-in runner: the tests
    read the history, not how a mode made it) in its file repository,
    made once per test process: tests that change it work on a copy
    (:class:`ProjectCopy`), tests of another backend export it there."""
    project = SampleProject(config="stestr")
    project.setUp()
    fixed = os.path.join(project.path, "fixed")
    for host, job, is_fixed in HISTORY_RUNS:
        if is_fixed and not os.path.exists(fixed):
            project.write("fixed", "")
        elif not is_fixed and os.path.exists(fixed):
            os.unlink(fixed)
        args = ("run", "--metadata", f"host={host}", "--metadata", f"job={job}")
        check_exit(1, run_testrepo(project.path, *args), args)
    return project


def check_exit(expected, result, args):
    """Raise AssertionError unless ``result`` (a CLI answer) exited
    ``expected``: for preparing runs outside a test's own assertions."""
    code, out, err = result
    if code != expected:
        raise AssertionError("testr %s: exit %d, expected %d\n%s%s"
                             % (" ".join(args), code, expected, out, err))
    return result


def _empty_home():
    """One empty HOME for every CLI run of this test process, so that a
    developer's own ~/.config/testr.yaml cannot change what tests see.

    Made once per process tree: children get it through
    TESTREPO_TEST_HOME; the process that made it removes it at exit (kept
    here too, as the in-process harness restores os.environ after each
    call)."""
    import tempfile

    global _HOME
    if _HOME is None:
        _HOME = os.environ.get("TESTREPO_TEST_HOME")
    if _HOME is None:
        _HOME = tempfile.mkdtemp(prefix="testrepo-home-")
        atexit.register(_remove_home, _HOME, os.getpid())
    os.environ["TESTREPO_TEST_HOME"] = _HOME
    return _HOME


_HOME = None


def _remove_home(home, owner_pid):
    if os.getpid() == owner_pid:  # not in a forked child
        shutil.rmtree(home, ignore_errors=True)


@functools.cache
def _cache_testrepo_bytecode():
    """Bring testrepo's own bytecode in its ``__pycache__`` directories up
    to date, once per test process, as a first import would.

    Every CLI and worker process the tests start imports testrepo afresh;
    where PYTHONDONTWRITEBYTECODE is set (it is passed on to them) none of
    them would write that bytecode, so each one would compile every
    testrepo module it imports from source.  `.ci/run` compiles testrepo
    and the tests once after installing (then this finds nothing to do);
    this covers the suite run any other way (``python -m unittest``,
    ``testr run``).  The generated suites in temp directories still get
    none.  Quietly does nothing where the source tree cannot be written."""
    import compileall

    compileall.compile_dir(os.path.dirname(testrepo.__file__), quiet=2)


def testrepo_env(extra=None):
    _cache_testrepo_bytecode()
    env = dict(os.environ)
    env["PYTHON"] = sys.executable
    env.pop("TESTR_CONFIG", None)
    # CI variables that would name a `job` in every run's metadata.
    for name in JOB_VARIABLES:
        env.pop(name, None)
    # CI variables that would make every run a shard (a suite run by a
    # sharded CI job).
    for _, total, index, _, status in SHARD_PROTOCOLS:
        for name in (total, index, status):
            env.pop(name or "", None)
    env.pop("XDG_CONFIG_HOME", None)
    env["HOME"] = _empty_home()
    env.update(extra or {})
    return env


def sigint_as_at_a_terminal():
    """A ``preexec_fn`` for a process a test interrupts with SIGINT: the
    default disposition, which Python turns into KeyboardInterrupt.  A
    suite started in the background of a shell has SIGINT ignored, and a
    new interpreter keeps it ignored."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_testrepo(project_path, *args, stdin=None, env=None, binary=False):
    """Run ``python -m testrepo ARGS`` in ``project_path``.

    Returns ``(exit_code, stdout, stderr)`` as text (stdout as bytes when
    ``binary``).  The process is a fork of this one where it can be
    (:mod:`tests.forked`), else a new interpreter.
    """
    from tests import forked  # it imports the harness, which imports this

    if forked.can_fork():
        return forked.run_forked(project_path, *args, stdin=stdin, env=env, binary=binary)
    process = start_testrepo(project_path, *args, stdin=stdin is not None, env=env)
    return finish_testrepo(process, stdin=stdin, binary=binary)


def start_testrepo(project_path, *args, stdin=False, env=None):
    """Start ``python -m testrepo ARGS`` in ``project_path`` (stdin piped
    if ``stdin``, else empty), for :func:`finish_testrepo`: several can run
    at once."""
    return subprocess.Popen(
        [sys.executable, "-m", "testrepo", *args], cwd=project_path,
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=testrepo_env(env))


def finish_testrepo(process, stdin=None, binary=False):
    """Send ``stdin`` to a started testrepo ``process`` and wait for it;
    returns what :func:`run_testrepo` does."""
    with process:
        try:
            stdout, stderr = process.communicate(stdin)
        except BaseException:  # as subprocess.run: no process left behind
            process.kill()
            raise
    return (process.returncode, stdout if binary else stdout.decode("utf-8", "replace"),
            stderr.decode("utf-8", "replace"))
