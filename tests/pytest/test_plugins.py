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

from tests.harness import testr
from tests.pytest.suites import (
    PytestProject,
    attachments,
    final_statuses,
    needs_pytest,
    pytest_ini,
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


@needs_pytest
@needs_plugin("pytest_timeout", "pytest-timeout")
class TestPytestTimeout(testtools.TestCase):

    def test_timeout_mark_fails_the_test_and_the_worker_goes_on(self):
        project = self.useFixture(PytestProject({"tests/test_t.py": TIMEOUT_MARK}))
        code, out, err = testr(project.path, "run", "--concurrency", "1")
        self.assertEqual(1, code, out + err)
        self.assertEqual({"tests/test_t.py::test_hangs": "fail",
                          "tests/test_t.py::test_after": "success"},
                         final_statuses(project.path))
        traceback = attachments(project.path, "tests/test_t.py::test_hangs")["traceback"]
        self.assertIn(b"Timeout (>1.0s) from pytest-timeout", traceback)
        self.assertNotIn("crashed", out)  # its signal method, no worker lost

    def test_its_option_after_the_separator_reaches_pytest(self):
        project = self.useFixture(PytestProject({"tests/test_t.py": TIMEOUT_MARK.replace(
            "@pytest.mark.timeout(1)\n", "")}))
        code, out, err = testr(project.path, "run", "--concurrency", "1", "--", "--timeout", "1")
        self.assertEqual(1, code, out + err)
        traceback = attachments(project.path, "tests/test_t.py::test_hangs")["traceback"]
        self.assertIn(b"Timeout (>1.0s) from pytest-timeout", traceback)


RANDOM_VALUES = '''\
import json
import os
import random

LOG = os.path.join(os.path.dirname(__file__), "..", "values.jsonl")


def record(name):
    with open(LOG, "a", encoding="utf-8") as out:
        out.write(json.dumps([name, random.random()]) + "\\n")

''' + "".join(f"\ndef test_{n}():\n    record('test_{n}')\n\n" for n in range(6))


@needs_pytest
@needs_plugin("pytest_randomly", "pytest-randomly")
class TestPytestRandomly(testtools.TestCase):

    def values(self, project):
        path = os.path.join(project.path, "values.jsonl")
        with open(path, encoding="utf-8") as lines:
            values = dict(json.loads(line) for line in lines)
        os.unlink(path)
        return values

    def test_a_seed_gives_each_test_the_values_serial_pytest_gives_it(self):
        project = self.useFixture(PytestProject({"tests/test_r.py": RANDOM_VALUES},
                                                ini=pytest_ini()))
        seed = ("--", "--randomly-seed=1234")
        self.assertEqual(0, testr(project.path, "run", "--concurrency", "2", *seed)[0])
        first = self.values(project)
        self.assertEqual(0, testr(project.path, "run", "--concurrency", "2", "--random",
                                  "--seed", "7", *seed)[0])
        self.assertEqual(first, self.values(project))  # whatever the order and worker
        serial = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "--randomly-seed=1234"], cwd=project.path, capture_output=True, text=True)
        self.assertEqual(0, serial.returncode, serial.stdout)
        self.assertEqual(first, self.values(project))
        self.assertEqual(6, len(set(first.values())))

    def test_without_a_seed_every_worker_uses_the_one_the_run_prints(self):
        project = self.useFixture(PytestProject(
            {"tests/test_r.py": RANDOM_VALUES.replace("[name,", "[[name, os.getpid()],")},
            ini=pytest_ini()))
        code, out, err = testr(project.path, "run", "--concurrency", "2")
        self.assertEqual(0, code, out + err)
        seed = re.search(r"pytest-randomly: every worker uses seed (\d+) "
                         r"\(rerun: testr run -- --randomly-seed=\1\)", out).group(1)
        with open(os.path.join(project.path, "values.jsonl"), encoding="utf-8") as lines:
            ran = [json.loads(line) for line in lines]
        os.unlink(os.path.join(project.path, "values.jsonl"))
        self.assertEqual(2, len({pid for (_, pid), _ in ran}))  # both workers ran tests
        serial = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             f"--randomly-seed={seed}"], cwd=project.path, capture_output=True, text=True)
        self.assertEqual(0, serial.returncode, serial.stdout)
        serial_values = {name: value for (name, _), value in (
            json.loads(line) for line in open(os.path.join(project.path, "values.jsonl"),
                                              encoding="utf-8"))}
        self.assertEqual(serial_values, {name: value for (name, _), value in ran})

    def test_testrs_seed_is_the_workers_seed(self):
        project = self.useFixture(PytestProject({"tests/test_r.py": RANDOM_VALUES},
                                                ini=pytest_ini()))
        code, out, err = testr(project.path, "run", "--concurrency", "2", "--random",
                               "--seed", "7")
        self.assertEqual(0, code, out + err)
        self.assertIn("pytest-randomly: every worker uses seed 7 ", out)
        seeded = self.values(project)
        self.assertEqual(0, testr(project.path, "run", "--concurrency", "2", "--",
                                  "--randomly-seed=7")[0])
        self.assertEqual(seeded, self.values(project))


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


@needs_pytest
@needs_plugin("pytest_mock", "pytest-mock")
class TestPytestMock(testtools.TestCase):

    def test_mocker_patches_and_undoes_within_one_worker(self):
        project = self.useFixture(PytestProject({"tests/test_m.py": MOCKER}))
        code, out, err = testr(project.path, "run", "--concurrency", "1")
        self.assertEqual(0, code, out + err)
        self.assertEqual({f"tests/test_m.py::{name}": "success" for name in (
            "test_a_patches", "test_b_sees_it_undone", "test_c_spy")},
            final_statuses(project.path))


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


@needs_pytest
@needs_plugin("pytest_asyncio", "pytest-asyncio")
class TestPytestAsyncio(testtools.TestCase):

    def test_coroutines_run_with_async_fixtures_on_every_worker(self):
        files = {"tests/conftest.py": ASYNC_CONFTEST}
        for name in ("one", "two", "three"):
            files[f"tests/test_{name}.py"] = ASYNC_TESTS.replace("{name}", name)
        project = self.useFixture(PytestProject(files))
        code, out, err = testr(project.path, "run", "--concurrency", "2")
        self.assertEqual(1, code, out + err)
        expected = {}
        for name in ("one", "two", "three"):
            expected.update({f"tests/test_{name}.py::test_{name}_awaits": "success",
                             f"tests/test_{name}.py::test_{name}_fails": "fail",
                             f"tests/test_{name}.py::test_{name}_plain": "success"})
        self.assertEqual(expected, final_statuses(project.path))
        traceback = attachments(project.path, "tests/test_two.py::test_two_fails")["traceback"]
        self.assertIn(b"assert 1 == 2", traceback)


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


@needs_pytest
class TestTerminalReporter(testtools.TestCase):

    def test_plugins_still_write_through_the_terminal_reporter(self):
        project = self.useFixture(PytestProject({"tests/conftest.py": REPORTER_USER,
                                                 "tests/test_w.py": WRITES_TO_TERMINAL}))
        code, out, err = testr(project.path, "run", "--concurrency", "2")
        self.assertEqual(0, code, out + err)
        self.assertEqual({"tests/test_w.py::test_writes": "success",
                          "tests/test_w.py::test_other": "success"},
                         final_statuses(project.path))
        with open(os.path.join(project.path, "summary.log"), encoding="utf-8") as log:
            self.assertTrue(log.read().split())  # every worker's session ended well
