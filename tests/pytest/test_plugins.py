"""Plugins pytest projects already use, under ``runner = pytest``: each
test skips, with the reason, when its plugin is not installed."""

import importlib.util
import json
import os
import re
import subprocess
import sys
import unittest

import testtools

from tests.fixtures import once_per_process
from tests.pytest.suites import (
    PytestProject,
    attachments,
    final_statuses,
    needs_pytest,
    pytest_ini,
    together,
)


def needs_plugin(module, distribution):
    return unittest.skipIf(importlib.util.find_spec(module) is None,
                           f"{distribution} is not installed")


TIMEOUT_MARK = '''\
import time

import pytest


@pytest.mark.timeout(1)
def test_hangs():
    time.sleep(30)


def test_after():
    pass
'''


RANDOM_VALUES = '''\
import json
import os
import random

LOG = os.path.join(os.path.dirname(__file__), "..", "values.jsonl")


def record(name):
    with open(LOG, "a", encoding="utf-8") as out:
        out.write(json.dumps([name, random.random()]) + "\\n")

''' + "".join(f"\ndef test_{n}():\n    record('test_{n}')\n\n" for n in range(6))


MOCKER = '''\
import os


def test_a_patches(mocker):
    mocker.patch("os.getcwd", return_value="/patched")
    assert os.getcwd() == "/patched"


def test_b_sees_it_undone():
    assert os.getcwd() != "/patched"


def test_c_spy(mocker):
    spy = mocker.spy(os.path, "join")
    os.path.join("a", "b")
    spy.assert_called_once_with("a", "b")
'''


ASYNC_CONFTEST = '''\
import pytest_asyncio


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def shared():
    yield {"calls": 0}
'''

ASYNC_TESTS = '''\
import asyncio

import pytest

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_{name}_awaits(shared):
    shared["calls"] += 1
    await asyncio.sleep(0)
    assert asyncio.get_running_loop().is_running()


async def test_{name}_fails():
    await asyncio.sleep(0)
    assert 1 == 2


def test_{name}_plain():
    pass
'''


# A plugin that writes through pytest's terminal reporter, from a test and
# in the terminal summary (the worker quiets the reporter's per-test hooks
# but keeps it registered).
REPORTER_USER = '''\
import os

import pytest

LOG = os.path.join(os.path.dirname(__file__), "..", "summary.log")


@pytest.fixture
def terminal(request):
    return request.config.pluginmanager.get_plugin("terminalreporter")


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line("summary")
    with open(LOG, "a", encoding="utf-8") as out:
        out.write(f"{os.getpid()}\\n")
'''

WRITES_TO_TERMINAL = '''\
def test_writes(terminal, pytestconfig):
    terminal.write_line("from a test")
    pytestconfig.get_terminal_writer().line("through the writer")


def test_other():
    pass
'''


# Logs, as each worker's session ends (after the terminal summary),
# whether hypothesis is imported and its pytest plugin still registered.
HYPOTHESIS_LOG = '''\
import json
import os
import sys

LOG = os.path.join(os.path.dirname(__file__), "..", "hypothesis.jsonl")


def pytest_unconfigure(config):
    with open(LOG, "a", encoding="utf-8") as out:
        out.write(json.dumps(["hypothesis" in sys.modules,
                              config.pluginmanager.has_plugin("hypothesispytest")]) + "\\n")
'''

GIVEN = '''\
from hypothesis import given, strategies as st


@given(st.integers())
def test_given(number):
    assert number == number
'''

TWO_TESTS = "def test_1():\n    pass\n\n\ndef test_2():\n    pass\n"

# The generated suites block hypothesis's plugin (NO_UNUSED_PLUGINS); these
# projects have it, as a project that merely installs hypothesis does.
WITH_HYPOTHESIS_PLUGIN = "[pytest]\naddopts = -p no:randomly\n"


def hypothesis_log(project):
    with open(os.path.join(project.path, "hypothesis.jsonl"), encoding="utf-8") as lines:
        return [tuple(json.loads(line)) for line in lines]


def recorded(project):
    """[(what a test recorded, its random value)] in values.jsonl."""
    with open(os.path.join(project.path, "values.jsonl"), encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def start_runs(runs):
    """The runs of the tests below, each in a project of its own."""
    timeout_option = {"tests/test_t.py": TIMEOUT_MARK.replace("@pytest.mark.timeout(1)\n", "")}
    runs.testr("timeout-mark", PytestProject({"tests/test_t.py": TIMEOUT_MARK}),
               "run", "--concurrency", "1")
    runs.testr("timeout-option", PytestProject(timeout_option),
               "run", "--concurrency", "1", "--", "--timeout", "1")
    two = ("run", "--concurrency", "2")
    for name, command, args in (
            ("seed-1234", runs.testr, (*two, "--", "--randomly-seed=1234")),
            ("seed-1234-shuffled", runs.testr,
             (*two, "--random", "--seed", "7", "--", "--randomly-seed=1234")),
            ("seed-1234-serial", runs.pytest, ("--randomly-seed=1234",)),
            ("testr-seed-7", runs.testr, (*two, "--random", "--seed", "7")),
            ("seed-7", runs.testr, (*two, "--", "--randomly-seed=7"))):
        command(name, PytestProject({"tests/test_r.py": RANDOM_VALUES}, ini=pytest_ini()),
                *args)
    runs.testr("drawn-seed", PytestProject({"tests/test_r.py": RANDOM_VALUES.replace(
        "[name,", "[[name, os.getpid()],")}, ini=pytest_ini()), *two)
    runs.testr("mocker", PytestProject({"tests/test_m.py": MOCKER}), "run", "--concurrency", "1")
    asyncio_files = {"tests/conftest.py": ASYNC_CONFTEST}
    for name in ("one", "two", "three"):
        asyncio_files[f"tests/test_{name}.py"] = ASYNC_TESTS.replace("{name}", name)
    runs.testr("asyncio", PytestProject(asyncio_files), *two)
    runs.testr("terminal-reporter", PytestProject({"tests/conftest.py": REPORTER_USER,
                                                   "tests/test_w.py": WRITES_TO_TERMINAL}), *two)
    plain = {"tests/conftest.py": HYPOTHESIS_LOG, "tests/test_a.py": TWO_TESTS,
             "tests/test_b.py": TWO_TESTS}
    runs.testr("hypothesis-idle", PytestProject(plain, ini=WITH_HYPOTHESIS_PLUGIN), *two)
    runs.testr("hypothesis-used", PytestProject({**plain, "tests/test_b.py": GIVEN},
                                                ini=WITH_HYPOTHESIS_PLUGIN), *two)


@once_per_process
def plugin_runs():
    """The runs of start_runs(), started together."""
    return together(start_runs)


@needs_pytest
@needs_plugin("pytest_timeout", "pytest-timeout")
class TestPytestTimeout(testtools.TestCase):

    def test_timeout_mark_fails_the_test_and_the_worker_goes_on(self):
        project, code, out, err = plugin_runs().answer("timeout-mark")
        self.assertEqual(1, code, out + err)
        self.assertEqual({"tests/test_t.py::test_hangs": "fail",
                          "tests/test_t.py::test_after": "success"},
                         final_statuses(project.path))
        traceback = attachments(project.path, "tests/test_t.py::test_hangs")["traceback"]
        self.assertIn(b"Timeout (>1.0s) from pytest-timeout", traceback)
        self.assertNotIn("crashed", out)  # its signal method, no worker lost

    def test_its_option_after_the_separator_reaches_pytest(self):
        project, code, out, err = plugin_runs().answer("timeout-option")
        self.assertEqual(1, code, out + err)
        traceback = attachments(project.path, "tests/test_t.py::test_hangs")["traceback"]
        self.assertIn(b"Timeout (>1.0s) from pytest-timeout", traceback)


@needs_pytest
@needs_plugin("pytest_randomly", "pytest-randomly")
class TestPytestRandomly(testtools.TestCase):

    def values(self, name):
        """{test: its random value} in run ``name``, which passed."""
        project, code, out, err = plugin_runs().answer(name)
        self.assertEqual(0, code, out + err)
        return dict(recorded(project))

    def test_a_seed_gives_each_test_the_values_serial_pytest_gives_it(self):
        first = self.values("seed-1234")
        # Whatever the order and worker, and as serial pytest gives them.
        self.assertEqual(first, self.values("seed-1234-shuffled"))
        self.assertEqual(first, self.values("seed-1234-serial"))
        self.assertEqual(6, len(set(first.values())))

    def test_without_a_seed_every_worker_uses_the_one_the_run_prints(self):
        project, code, out, err = plugin_runs().answer("drawn-seed")
        self.assertEqual(0, code, out + err)
        seed = re.search(r"pytest-randomly: every worker uses seed (\d+) "
                         r"\(rerun: testr run -- --randomly-seed=\1\)", out).group(1)
        ran = recorded(project)
        os.unlink(os.path.join(project.path, "values.jsonl"))
        self.assertEqual(2, len({pid for (_, pid), _ in ran}))  # both workers ran tests
        serial = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             f"--randomly-seed={seed}"], cwd=project.path, capture_output=True, text=True)
        self.assertEqual(0, serial.returncode, serial.stdout)
        self.assertEqual({name: value for (name, _), value in recorded(project)},
                         {name: value for (name, _), value in ran})

    def test_testrs_seed_is_the_workers_seed(self):
        self.assertIn("pytest-randomly: every worker uses seed 7 ",
                      plugin_runs().answer("testr-seed-7")[2])
        self.assertEqual(self.values("testr-seed-7"), self.values("seed-7"))


@needs_pytest
@needs_plugin("pytest_mock", "pytest-mock")
class TestPytestMock(testtools.TestCase):

    def test_mocker_patches_and_undoes_within_one_worker(self):
        project, code, out, err = plugin_runs().answer("mocker")
        self.assertEqual(0, code, out + err)
        self.assertEqual({f"tests/test_m.py::{name}": "success" for name in (
            "test_a_patches", "test_b_sees_it_undone", "test_c_spy")},
            final_statuses(project.path))


@needs_pytest
@needs_plugin("pytest_asyncio", "pytest-asyncio")
class TestPytestAsyncio(testtools.TestCase):

    def test_coroutines_run_with_async_fixtures_on_every_worker(self):
        project, code, out, err = plugin_runs().answer("asyncio")
        self.assertEqual(1, code, out + err)
        expected = {}
        for name in ("one", "two", "three"):
            expected.update({f"tests/test_{name}.py::test_{name}_awaits": "success",
                             f"tests/test_{name}.py::test_{name}_fails": "fail",
                             f"tests/test_{name}.py::test_{name}_plain": "success"})
        self.assertEqual(expected, final_statuses(project.path))
        traceback = attachments(project.path, "tests/test_two.py::test_two_fails")["traceback"]
        self.assertIn(b"assert 1 == 2", traceback)


@needs_pytest
class TestTerminalReporter(testtools.TestCase):

    def test_plugins_still_write_through_the_terminal_reporter(self):
        project, code, out, err = plugin_runs().answer("terminal-reporter")
        self.assertEqual(0, code, out + err)
        self.assertEqual({"tests/test_w.py::test_writes": "success",
                          "tests/test_w.py::test_other": "success"},
                         final_statuses(project.path))
        with open(os.path.join(project.path, "summary.log"), encoding="utf-8") as log:
            self.assertTrue(log.read().split())  # every worker's session ended well


@needs_pytest
@needs_plugin("hypothesis", "hypothesis")
class TestHypothesisPlugin(testtools.TestCase):

    def test_a_worker_whose_tests_did_not_use_it_does_not_import_it(self):
        # Its terminal summary would (half a second), to discard its output.
        project, code, out, err = plugin_runs().answer("hypothesis-idle")
        self.assertEqual(0, code, out + err)
        self.assertEqual({(False, False)}, set(hypothesis_log(project)))
        self.assertEqual(2, len(hypothesis_log(project)))

    def test_a_worker_whose_tests_used_it_keeps_the_plugin(self):
        project, code, out, err = plugin_runs().answer("hypothesis-used")
        self.assertEqual(0, code, out + err)
        self.assertEqual("success", final_statuses(project.path)["tests/test_b.py::test_given"])
        self.assertIn((True, True), hypothesis_log(project))
