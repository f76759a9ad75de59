"""Generated pytest suites for the tests of this package, and what they
have in common."""

import importlib.util
import json
import os
import subprocess
import sys
import unittest

import fixtures

from tests.cli.test_run import stored_events
from tests.fixtures import finish_testrepo, start_testrepo

PYTEST_MISSING = importlib.util.find_spec("pytest") is None
needs_pytest = unittest.skipIf(PYTEST_MISSING, "pytest is not installed (the [pytest] extra)")

CONFTEST = '''\
import json
import os

import pytest

LOG = os.path.join(os.path.dirname(__file__), "..", "log.jsonl")


def log(**entry):
    with open(LOG, "a", encoding="utf-8") as out:
        out.write(json.dumps(dict(entry, pid=os.getpid())) + "\\n")


@pytest.fixture(scope="session")
def session_resource():
    log(event="session-setup")
    yield "session"
    log(event="session-teardown")


@pytest.fixture(autouse=True)
def who_runs(request):
    log(event="run", test_id=request.node.nodeid)
'''

BASIC = '''\
import pytest

from conftest import log

log(event="import", module=__name__)


@pytest.fixture(scope="module")
def module_resource():
    log(event="module-setup", module=__name__)
    yield "module"


@pytest.fixture
def broken():
    raise RuntimeError("fixture setup exploded")


def test_pass(session_resource, module_resource):
    assert (session_resource, module_resource) == ("session", "module")


def test_fail():
    value = 1
    assert value == 2


def test_setup_error(broken):
    pass


def test_prints():
    print("hello from the test")


@pytest.mark.parametrize("number", [1, 2], ids=["one", "two"])
def test_param(number):
    assert number in (1, 2)


@pytest.mark.skip(reason="not today")
def test_skipped():
    pass


@pytest.mark.xfail(reason="known bug")
def test_xfail():
    assert False


@pytest.mark.xfail(reason="fixed already")
def test_xpass():
    pass


@pytest.mark.xfail(reason="must fail", strict=True)
def test_xpass_strict():
    pass


@pytest.mark.slow
class TestGroup:
    def test_one(self, session_resource):
        assert session_resource == "session"

    def test_two(self):
        pass
'''

# A pair that passes only in this order, in one process (as they run).
ORDER = '''\
from conftest import log

log(event="import", module=__name__)
STATE = []


def test_a_sets():
    STATE.append(1)


def test_b_needs():
    assert STATE == [1]
'''


def plain_module(index, count=3):
    tests = "".join(f"\n\ndef test_{n}(session_resource):\n    pass\n" for n in range(count))
    return f"from conftest import log\n\nlog(event=\"import\", module=__name__)\n{tests}"


EXPECTED_BASIC = {
    "tests/test_basic.py::test_pass": "success",
    "tests/test_basic.py::test_fail": "fail",
    "tests/test_basic.py::test_setup_error": "fail",
    "tests/test_basic.py::test_prints": "success",
    "tests/test_basic.py::test_param[one]": "success",
    "tests/test_basic.py::test_param[two]": "success",
    "tests/test_basic.py::test_skipped": "skip",
    "tests/test_basic.py::test_xfail": "xfail",
    "tests/test_basic.py::test_xpass": "uxsuccess",
    "tests/test_basic.py::test_xpass_strict": "fail",
    "tests/test_basic.py::TestGroup::test_one": "success",
    "tests/test_basic.py::TestGroup::test_two": "success",
    "tests/test_order.py::test_a_sets": "success",
    "tests/test_order.py::test_b_needs": "success",
}
PLAIN_MODULES = 6

# pytest's options for a plugin that testrepo's own test dependencies
# install and no generated suite uses: hypothesis's plugin imports all of
# hypothesis (half a second of CPU) in each pytest session's terminal
# summary, so in every worker of every run.
NO_UNUSED_PLUGINS = "-p no:hypothesispytest"


def pytest_ini(addopts="", *lines):
    """A ``pytest.ini`` with ``addopts`` (after NO_UNUSED_PLUGINS) and
    further ``lines``."""
    return "\n".join(("[pytest]", f"addopts = {NO_UNUSED_PLUGINS} {addopts}".rstrip(),
                      *lines, ""))


class PytestProject(fixtures.Fixture):
    """A pytest project in a temp directory: ``pytest.ini`` (so it is
    found without any testr configuration), ``tests/conftest.py`` that logs
    fixture and import events to ``log.jsonl``, and ``files``.  The
    default ini turns pytest-randomly off where it is installed: its
    shuffled listing would make the first run's order random."""

    def __init__(self, files=None, ini=pytest_ini("-p no:randomly", "markers =",
                                                  "    slow: slow tests")):
        super().__init__()
        self.files = files if files is not None else basic_files()
        self.ini = ini

    def _setUp(self):
        self.path = self.useFixture(fixtures.TempDir()).path
        if self.ini is not None:
            self.write("pytest.ini", self.ini)
        for relpath, content in self.files.items():
            self.write(relpath, content)

    def write(self, relpath, content):
        path = os.path.join(self.path, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(content)
        return path

    def log(self):
        path = os.path.join(self.path, "log.jsonl")
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as entries:
            return [json.loads(line) for line in entries]


def basic_files():
    files = {"tests/conftest.py": CONFTEST, "tests/test_basic.py": BASIC,
             "tests/test_order.py": ORDER}
    for index in range(PLAIN_MODULES):
        files[f"tests/test_plain_{index}.py"] = plain_module(index)
    return files


def final_statuses(project_path, run_id=None):
    """{test id: its last status} of a stored run."""
    _, events = stored_events(project_path, run_id)
    statuses = {}
    for event in events:
        if event[2] not in (None, "inprogress", "exists"):
            statuses[event[1]] = event[2]
    return statuses


def attachments(project_path, test_id, run_id=None):
    """{file name: bytes} attached to ``test_id`` in a stored run."""
    _, events = stored_events(project_path, run_id)
    found = {}
    for event in events:
        if event[1] == test_id and event[5]:
            found[event[5]] = found.get(event[5], b"") + event[6]
    return found


class Together(fixtures.Fixture):
    """Commands, each in a new pytest project of its own, started one after
    the other by ``start(together)`` and then waited for together, so that
    what one waits for (a timeout, a sleeping test, a process start)
    overlaps the others' work: for tests that read one command's answer
    and what its project then holds.  Each command is a new interpreter
    (``testr`` as :func:`tests.fixtures.start_testrepo` starts it, or
    ``python -m pytest``).  Unfinished processes are killed at clean-up."""

    def __init__(self, start):
        super().__init__()
        self._start = start

    def _setUp(self):
        self.projects = {}
        self._processes = {}
        self._answers = {}
        self._start(self)

    def testr(self, name, project, *args, env=None, prepare=None):
        """Start ``testr ARGS`` as ``name`` in ``project`` (a PytestProject
        not set up yet, then given to ``prepare`` if any), ``env`` added to
        its environment."""
        self.projects[name] = self.useFixture(project)
        if prepare is not None:
            prepare(project)
        self._started(name, start_testrepo(project.path, *args, env=env))

    def pytest(self, name, project, *args):
        """Start ``python -m pytest -q -p no:cacheprovider ARGS`` as ``name``."""
        self.projects[name] = self.useFixture(project)
        self._started(name, subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
            cwd=project.path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE))

    def _started(self, name, process):
        self._processes[name] = process
        self.addCleanup(_kill, process)  # before its project is removed

    def answer(self, name):
        """(project, exit code, stdout, stderr) of command ``name``, once
        every command has ended."""
        for started, process in self._processes.items():
            if started not in self._answers:
                self._answers[started] = finish_testrepo(process)
        return (self.projects[name], *self._answers[name])


def _kill(process):
    """Unless it has ended: kill ``process`` and wait for it."""
    if process.returncode is None:
        with process:
            process.kill()


def together(start):
    """:class:`Together` set up: the commands ``start`` starts, running."""
    runs = Together(start)
    runs.setUp()
    return runs
