"""Which runner a project gets: the ``runner`` key and pytest project
detection (no process is started, pytest is not needed)."""

import os
import subprocess
import sys

import fixtures
import testtools

from testrepo import config, errors, pytest_project
from tests.test_config import ConfigTestCase


class TestDetect(ConfigTestCase):

    def test_markers(self):
        cases = (
            ("pytest.ini", "", "pytest.ini"),
            ("pyproject.toml", "[tool.pytest.ini_options]\naddopts = '-q'\n", "pyproject.toml"),
            ("tox.ini", "[tox]\n\n[pytest]\nmarkers = slow\n", "tox.ini"),
            ("setup.cfg", "[metadata]\nname = x\n\n[tool:pytest]\n", "setup.cfg"),
            ("tests/conftest.py", "", "tests/conftest.py"),
            ("tests/unit/test_plain.py", "import os\n\ndef test_x():\n    pass\n",
             "tests/unit/test_plain.py"),
        )
        for relpath, content, reason in cases:
            directory = self.useFixture(fixtures.TempDir()).path
            write(directory, relpath, content)
            self.assertEqual(reason, pytest_project.detect(directory), relpath)

    def test_unittest_projects_are_not_pytest_projects(self):
        self.write("pyproject.toml", "[tool.black]\nline-length = 99\n")
        self.write("tox.ini", "[testenv]\ncommands = pytest\n")
        self.write("tests/test_case.py",
              "import unittest\n\nclass T(unittest.TestCase):\n    def test_x(self):\n"
              "        pass\n")
        self.assertIsNone(pytest_project.detect(self.directory))

    def test_zero_config_pytest_project_gets_the_pytest_runner(self):
        self.write("conftest.py", "")
        self.assertEqual(config.Config(source=None, runner="pytest"), self.load())

    def test_test_path_or_runner_keeps_unittest(self):
        self.write("conftest.py", "")
        self.write(".testr.conf", "[DEFAULT]\ntest_path=./tests\n")
        self.assertEqual(None, self.load().runner)
        self.write(".testr.conf", "[DEFAULT]\nrunner=unittest\n")
        self.assertEqual("unittest", self.load().runner)

    def test_runner_key(self):
        self.write("pyproject.toml", '[tool.testr]\nrunner = "pytest"\n'
                                                'test_path = "src/tests"\n')
        loaded = self.load()
        self.assertEqual(("pytest", "src/tests", None), (loaded.runner, loaded.test_path,
                                                         loaded.top_dir))


class TestRunnerErrors(ConfigTestCase):

    def assertRefused(self, content, message):
        self.write(".testr.conf", content)
        self.assertConfigError(message)

    def test_unknown_runner(self):
        self.assertRefused("[DEFAULT]\nrunner=nose\n", ".testr.conf: [DEFAULT] runner: "
                               "expected one of unittest, pytest, got 'nose'")

    def test_top_dir_with_pytest(self):
        self.assertRefused(
            "[DEFAULT]\nrunner=pytest\ntop_dir=.\n",
            ".testr.conf: [DEFAULT] top_dir: is the import root of unittest discovery; pytest "
            "finds its rootdir itself (set rootdir in pytest's own configuration if needed): "
            "remove top_dir")

    def test_runner_with_test_command(self):
        self.write(".testr.conf", "[DEFAULT]\ntest_command=true\nrunner=pytest\n")
        error = self.assertRaises(errors.ConfigError, self.load)
        self.assertIn("runner: conflicts with test_command", str(error))


def write(directory, relpath, content):
    path = os.path.join(directory, relpath)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        out.write(content)


class TestNoPytestImport(testtools.TestCase):

    def test_loading_a_unittest_config_does_not_import_pytest(self):
        code = ("import sys; from testrepo import config; config.load('.'); "
                "from testrepo.api import execute, builtin; "
                "print('pytest' in sys.modules or '_pytest' in sys.modules)")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                cwd=os.path.dirname(__file__))
        self.assertEqual("False", result.stdout.strip(), result.stderr)
