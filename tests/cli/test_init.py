"""End-to-end tests of `testr init --write-config`."""

import os

import testtools

from tests.fixtures import SampleProject
from tests.harness import testr


class TestWriteConfig(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config=None))

    def cli(self, *args):
        return testr(self.project.path, *args)

    def test_written_config_runs_the_projects_tests(self):
        code, out, err = self.cli("init", "--write-config")
        self.assertEqual((0, "Wrote ./.testr.conf: test_path=./sample top_dir=./\n"
                             "Initialised an empty repository at ./.testrepository\n"),
                         (code, out), err)
        with open(os.path.join(self.project.path, ".testr.conf")) as stream:
            self.assertIn("test_path=./sample\ntop_dir=./\n", stream.read())
        code, out, _ = self.cli("run")
        self.assertEqual(1, code)
        self.assertEqual("Totals: 4 passed, 2 failed, 1 skipped", out.splitlines()[-1])

    def test_tests_directory_and_existing_repository(self):
        project = self.useFixture(SampleProject(config=None, package="tests"))
        self.assertEqual(0, testr(project.path, "init")[0])
        code, out, _ = testr(project.path, "init", "--write-config")
        self.assertEqual((0, "Wrote ./.testr.conf: test_path=./tests top_dir=./\n"
                             "Using the existing repository at ./.testrepository\n"), (code, out))

    def test_existing_config_is_not_overwritten(self):
        self.project.write(".testr.conf", "[DEFAULT]\ntest_path=./elsewhere\n")
        code, out, err = self.cli("init", "--write-config")
        self.assertEqual((3, ""), (code, out))
        self.assertEqual("testr: .testr.conf already configures testr in .; edit it, or remove "
                         "it and run `testr init --write-config` again.\n", err)
        with open(os.path.join(self.project.path, ".testr.conf")) as stream:
            self.assertEqual("[DEFAULT]\ntest_path=./elsewhere\n", stream.read())
        self.assertFalse(os.path.exists(self.project.repository_path()))

    def test_project_without_tests(self):
        project = self.useFixture(SampleProject(config=None, tests="# nothing\n",
                                                package="code"))
        os.rename(os.path.join(project.path, "code", "test_sample.py"),
                  os.path.join(project.path, "code", "module.py"))
        code, _, err = testr(project.path, "init", "--write-config")
        self.assertEqual(2, code)
        self.assertIn("No test files (test*.py) found in .", err)
