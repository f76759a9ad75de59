"""Repository commands, listing, config errors and exit codes via the CLI."""

import os
import subprocess
import sys

import testtools

from tests.fixtures import SAMPLE_BETA, ProjectCopy, SampleProject, testrepo_env
from tests.cli.test_run import run_once
from tests.harness import run_cli, testr
from tests.streams import Result, load_run


class TestListing(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config="stestr"))

    def cli(self, *args):
        return testr(self.project.path, *args)

    def test_list_prints_all_ids_in_listing_order(self):
        code, out, _ = self.cli("list")
        self.assertEqual(0, code)
        self.assertEqual(7, len(out.split()))
        self.assertEqual("sample.test_sample.TestAlpha.test_error", out.split()[0])

    def test_list_tests_alias_and_filters_union(self):
        code, out, _ = self.cli("list-tests", "test_pass$", "test_slow")
        self.assertEqual(0, code)
        self.assertEqual(["sample.test_sample.TestAlpha.test_pass",
                          "sample.test_sample.TestBeta.test_slow"], out.split())

    def test_exclude_regex_and_lists(self):
        self.project.write("exclude.txt", "# flaky ones\nTestBeta  # all of beta\n")
        self.project.write("include.txt", "test_pass\ntest_slow\n")
        code, out, _ = self.cli("list", "-i", "include.txt", "-e", "exclude.txt", "-E", "two")
        self.assertEqual(0, code)
        self.assertEqual(["sample.test_sample.TestAlpha.test_pass"], out.split())

    def test_load_list_order_is_kept(self):
        self.project.write("ids.txt", "sample.test_sample.TestBeta.test_slow\n"
                                      "sample.test_sample.TestAlpha.test_pass\n")
        code, out, _ = self.cli("list", "--load-list", "ids.txt")
        self.assertEqual(0, code)
        self.assertEqual(["sample.test_sample.TestBeta.test_slow",
                          "sample.test_sample.TestAlpha.test_pass"], out.split())

    def test_list_is_what_run_runs(self):
        _, listed, _ = self.cli("list", "Beta")
        self.cli("run", "Beta")
        # -c is the global --config (as in stestr), so the column is --column.
        code, out, _ = self.cli("slowest", "--all", "-f", "value", "--column", "Test id")
        self.assertEqual(0, code)
        self.assertEqual(sorted(listed.split()), sorted(out.split()))


class TestRepositoryCommands(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config="stestr"))

    def cli(self, *args):
        return testr(self.project.path, *args)

    def test_init_creates_repository_once(self):
        code, out, _ = self.cli("init")
        self.assertEqual(0, code)
        self.assertTrue(os.path.isdir(self.project.repository_path()))
        code, _, err = self.cli("init")
        self.assertEqual(4, code)
        self.assertEqual(1, len(err.splitlines()), err)

    def test_commands_without_repository_exit_4(self):
        for command in ("last", "failing", "slowest", "stats"):
            code, _, err = self.cli(command)
            self.assertEqual(4, code, command)
            self.assertIn("testr init", err)
            self.assertNotIn("Traceback", err)

    def test_empty_repository_exits_4_for_last(self):
        self.cli("init")
        code, _, err = self.cli("last")
        self.assertEqual(4, code)
        self.assertIn("No runs", err)

    def test_failing_with_no_failures_exits_0(self):
        # A stored run of TestBeta, which passes.
        self.assertEqual(0, load_run(self.project, [Result(t) for t in SAMPLE_BETA])[0])
        code, out, _ = self.cli("failing")
        self.assertEqual(0, code)

    def test_slowest_json(self):
        self.project = self.useFixture(ProjectCopy(run_once("stestr", "sample").path))
        code, out, _ = self.cli("slowest", "-f", "json")
        self.assertEqual(0, code)
        self.assertIn('"Test id": "sample.test_sample.TestBeta.test_slow"', out)

    def test_repo_url_option(self):
        code, _, _ = self.cli("--repo-url", "elsewhere", "run", "TestBeta")
        self.assertEqual(0, code)
        self.assertTrue(os.path.isdir(os.path.join(self.project.path, "elsewhere", "runs")))
        self.assertFalse(os.path.exists(self.project.repository_path()))


class TestConfigErrors(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config=None))

    def test_unknown_key_is_one_line_exit_3(self):
        self.project.write(".testr.conf", "[DEFAULT]\ntest_comand=python -m subunit.run\n")
        code, _, err = run_cli(self.project.path, "run")
        self.assertEqual(3, code)
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertIn(".testr.conf", err)
        self.assertIn("test_comand", err)
        self.assertIn("did you mean test_command", err)

    def test_idoption_without_test_id_option(self):
        self.project.write(".testr.conf", "[DEFAULT]\ntest_command=python -m subunit.run $IDOPTION\n")
        code, _, err = testr(self.project.path, "list")
        self.assertEqual(3, code)
        self.assertIn("test_id_option", err)

    def test_bad_group_regex(self):
        self.project.write(".testr.conf", "[DEFAULT]\ntest_path=./sample\ngroup_regex=(oops\n")
        code, _, err = run_cli(self.project.path, "run")
        self.assertEqual(3, code)
        self.assertIn("group_regex", err)
        self.assertNotIn("Traceback", err)

    def test_explicit_config_file(self):
        self.project.write("ci.conf", "[DEFAULT]\ntest_path=./sample\n")
        code, out, _ = testr(self.project.path, "--config", "ci.conf", "list", "Beta")
        self.assertEqual(0, code)
        self.assertEqual(3, len(out.split()))

    def test_pyproject_tool_testr(self):
        self.project.write("pyproject.toml", '[tool.testr]\ntest_path = "./sample"\n')
        code, out, _ = testr(self.project.path, "list")
        self.assertEqual(0, code)
        self.assertEqual(7, len(out.split()))

    def test_test_path_from_environment_default(self):
        self.project.write(".testr.conf", "[DEFAULT]\ntest_path=${SAMPLE_PATH:-./nowhere}\n")
        code, out, _ = testr(self.project.path, "list", env={"SAMPLE_PATH": "./sample"})
        self.assertEqual(0, code)
        self.assertEqual(7, len(out.split()))


class TestScheduling(testtools.TestCase):

    def test_group_regex_keeps_a_class_on_one_worker(self):
        project = self.useFixture(SampleProject(config=None))
        project.write(".testr.conf", "[DEFAULT]\ntest_path=./sample\ngroup_regex=([^.]+\\.)+\n")
        code, out, _ = testr(project.path, "run", "--concurrency", "2")
        workers = {}
        for line in out.splitlines():
            if line.startswith("{") and " ... " in line:
                worker, test_id = line.split()[:2]
                workers.setdefault(test_id.rsplit(".", 1)[0], set()).add(worker)
        self.assertEqual(2, len(workers))
        self.assertTrue(all(len(found) == 1 for found in workers.values()), workers)

    def test_test_run_concurrency_callout(self):
        project = self.useFixture(SampleProject(config=None))
        project.write(".testr.conf", "[DEFAULT]\ntest_path=./sample\ntest_run_concurrency=echo 3\n")
        code, out, _ = testr(project.path, "run")
        # Workers pull tests, so a third worker may find nothing left to
        # run; the run records the concurrency it was given.
        self.assertIn("concurrency=3", out)


class TestEntryPoints(testtools.TestCase):

    def test_python_m_testrepo_help_lists_commands(self):
        proc = subprocess.run([sys.executable, "-m", "testrepo", "--help"], capture_output=True,
                              text=True, env=testrepo_env(), stdin=subprocess.DEVNULL)
        self.assertEqual(0, proc.returncode)
        for command in ("init", "run", "list", "load", "last", "failing", "slowest", "stats"):
            self.assertRegex(proc.stdout, rf"\n  {command}\s")

    def test_unknown_flag_is_usage_error(self):
        project = self.useFixture(SampleProject(config="stestr"))
        code, _, err = run_cli(project.path, "run", "--no-such-flag")
        self.assertEqual(2, code)
