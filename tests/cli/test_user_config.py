"""End-to-end tests of the user config (~/.config/testr.yaml, --user-config):
per-command defaults, command-line precedence and error reporting."""

import json
import os

import fixtures
import testtools

from testrepo import api
from testrepo.options import Project
from tests.cli.test_run import run_once
from tests.fixtures import SAMPLE_FAILURES, ProjectCopy, SampleProject
from tests.harness import run_cli, testr


class UserConfigTestCase(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject(config="stestr"))
        self.home = self.useFixture(fixtures.TempDir()).path

    def write_config(self, text, relpath=".config/testr.yaml"):
        path = os.path.join(self.home, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
        return path

    def cli(self, *args):
        env = {"HOME": self.home, "XDG_CONFIG_HOME": ""}
        return testr(self.project.path, *args, env=env)

    def use_a_run(self):
        """Work on a copy of a project with one run of the sample (made
        without this user config) instead."""
        self.project = self.useFixture(ProjectCopy(run_once("stestr", "sample").path))

    def latest_metadata(self):
        repo = api.open_repository(Project(directory=self.project.path))
        return dict(repo.get_run(repo.latest_id()).record.metadata)


class TestDefaults(UserConfigTestCase):
    def test_run_section_sets_run_defaults(self):
        self.write_config("run:\n  concurrency: 1\n  random: true\n")
        code, out, err = self.cli("run")
        self.assertEqual(1, code, err)
        self.assertIn("Running in random order with seed", out)
        self.assertEqual("1", self.latest_metadata()["concurrency"])

    def test_command_line_wins_over_the_config(self):
        self.write_config("run:\n  concurrency: 1\n")
        self.cli("run", "--concurrency", "2")
        self.assertEqual("2", self.latest_metadata()["concurrency"])

    def test_sections_apply_to_their_command_only(self):
        self.write_config("failing:\n  list: true\nhistory-list:\n  show-metadata: true\n")
        self.use_a_run()
        code, out, _ = self.cli("failing")
        self.assertEqual((1, SAMPLE_FAILURES), (code, out.split()))
        code, out, _ = self.cli("history", "list", "-f", "json")
        self.assertEqual(0, code)
        self.assertIn("Metadata", json.loads(out)[0])

    def test_abbreviated_command_uses_its_section(self):
        self.write_config("history-list: {show-metadata: true, format: csv}\n")
        self.use_a_run()
        code, out, _ = self.cli("hist", "li")
        self.assertEqual(0, code)
        self.assertTrue(out.startswith('"Run ID",') and '"Metadata"' in out.splitlines()[0], out)

    def test_home_dot_file_is_read_too(self):
        self.write_config("failing: {list: true}\n", relpath=".testr.yaml")
        self.use_a_run()
        _, out, _ = self.cli("failing")
        self.assertEqual(SAMPLE_FAILURES, out.split())

    def test_explicit_user_config_file(self):
        path = self.write_config("failing: {list: true}\n", relpath="elsewhere.yaml")
        self.use_a_run()
        _, out, _ = self.cli("--user-config", path, "failing")
        self.assertEqual(SAMPLE_FAILURES, out.split())


class TestErrors(UserConfigTestCase):
    def test_typo_is_one_line_naming_file_key_and_suggestion(self):
        path = self.write_config("run:\n  concurency: 4\n")
        code, out, err = self.cli("last")
        self.assertEqual((3, ""), (code, out))
        self.assertEqual(f"testr: {path}: run.concurency: unknown option "
                         "(did you mean concurrency?)\n", err)

    def test_unknown_command_section(self):
        path = self.write_config("history_list:\n  show-metadata: true\n")
        code, _, err = self.cli("list")
        self.assertEqual(3, code)
        self.assertEqual(f"testr: {path}: history_list: unknown command "
                         "(did you mean history-list?)\n", err)

    def test_wrong_type(self):
        path = self.write_config("run:\n  concurrency: four\n")
        code, _, err = run_cli(self.project.path, "run",
                               env={"HOME": self.home, "XDG_CONFIG_HOME": ""})
        self.assertEqual(3, code)
        self.assertEqual(f"testr: {path}: run.concurrency: expected an integer, "
                         "got 'four'\n", err)

    def test_missing_explicit_file(self):
        code, _, err = self.cli("--user-config", "nope.yaml", "list")
        self.assertEqual(3, code)
        self.assertEqual("testr: nope.yaml: no such file (given with --user-config); "
                         "give an existing YAML file\n", err)

    def test_help_works_despite_a_broken_config(self):
        self.write_config("run: [\n")
        code, out, _ = self.cli("help", "run")
        self.assertEqual(0, code)
        self.assertIn(" run [-h]", out)
