"""End-to-end tests of `testr export URL` and `testr import` of a testrepo
repository: history moved file -> file -> file answers `last`, `failing`
and `slowest` exactly as the original does.

``ExportContract`` holds the round trip; a backend's subclass implements
``destination_url(name)``: the URL of a repository that does not exist yet
(``name`` tells two of them apart in one test). For example::

    class TestExportToSQLite(ExportContract, testtools.TestCase):
        def destination_url(self, name):
            return sqlite_url(self)
"""

import os
import shutil

import testtools

from testrepo import api
from testrepo.options import Project
from tests.databases import postgresql_url, sqlite_url
from tests.cli.test_run import run_once
from tests.fixtures import (SAMPLE_FAILURES, ProjectCopy, SampleProject, check_exit,
                            once_per_process)
from tests.harness import testr

# The commands whose answers must not change when the history moves.
READING_COMMANDS = (("last",), ("failing",), ("failing", "--list"), ("slowest", "--all"),
                    ("history", "list", "-f", "csv", "--show-metadata"))


def as_shown(url):
    """``url`` as testrepo's messages name that repository."""
    return url[len("file:"):] if url.startswith("file:") else url


@once_per_process
def two_runs():
    """The sample project with two runs, made once per test process (each
    test copies its repository): run 0 ran everything (two failures); run
    1, `run --failing` with one test fixed, is a partial run that leaves
    test_error failing."""
    project = SampleProject(config="stestr")
    project.setUp()
    for args in (("run",), ("run", "--failing")):
        check_exit(1, testr(project.path, *args), args)
        project.write("fixed", "")
    return project


class ExportContract:
    """`testr export` then `testr --repo-url URL ...`, whatever URL's backend."""

    def destination_url(self, name):
        raise NotImplementedError(self.destination_url)

    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject())
        self.project.write("fixed", "")
        shutil.copytree(two_runs().repository_path(), self.project.repository_path())

    def cli(self, *args):
        return testr(self.project.path, *args)

    def answers(self, *repo_url):
        return {args: self.cli(*repo_url, *args)[:2] for args in READING_COMMANDS}

    def test_export_says_what_it_copied(self):
        url = self.destination_url("copy")
        code, out, err = self.cli("export", url)
        self.assertEqual((0, ""), (code, err))
        durations = len(self.open(self.project.repository_path()).durations())
        shown = as_shown(url)
        self.assertEqual(f"Exported 2 runs (ids 0-1) to {shown}; failing set: 1 tests, "
                         f"{durations} durations.\n", out)

    def test_round_trip_answers_every_reading_command_the_same(self):
        first, second = self.destination_url("first"), self.destination_url("second")
        self.assertEqual(0, self.cli("export", first)[0])
        code, _, err = self.cli("--repo-url", first, "export", second)
        self.assertEqual(0, code, err)
        expected = self.answers()
        self.assertEqual((1, SAMPLE_FAILURES[0] + "\n"), expected[("failing", "--list")])
        self.assertEqual(expected, self.answers("--repo-url", second))

    def test_streams_and_records_survive_the_round_trip(self):
        first, second = self.destination_url("first"), self.destination_url("second")
        self.cli("export", first)
        self.cli("--repo-url", first, "export", second)
        source = self.open(self.project.repository_path())
        copy = self.open(second)
        self.assertEqual(source.runs(), copy.runs())
        for run_id in source.run_ids():
            with source.get_run(run_id).stream() as a, copy.get_run(run_id).stream() as b:
                self.assertEqual(a.read(), b.read())
        self.assertEqual(source.durations(), copy.durations())

    def test_import_brings_it_back_into_a_new_repository(self):
        url = self.destination_url("copy")
        self.cli("export", url)
        code, out, err = self.cli("--repo-url", "again", "import", url)
        self.assertEqual(0, code, err)
        self.assertTrue(out.startswith(f"Imported 2 runs (ids 0-1) from {url}; failing set: 1"))
        self.assertEqual(self.answers(), self.answers("--repo-url", "again"))

    def test_exporting_into_a_repository_with_runs_is_refused(self):
        url = self.destination_url("copy")
        self.cli("export", url)
        code, out, err = self.cli("export", url)
        self.assertEqual((2, ""), (code, out))
        self.assertIn("already holds 2 runs", err)
        shown = as_shown(url)
        self.assertIn(f"`testr --repo-url {shown} history remove all`", err)
        self.assertEqual(1, len(err.splitlines()))
        self.assertEqual(2, self.open(url).count())

    def open(self, url):
        project = Project(directory=self.project.path, repo_url=url)
        repo = api.open_repository(project)
        self.addCleanup(repo.close)
        return repo


class TestExportToFile(ExportContract, testtools.TestCase):
    def destination_url(self, name):
        return os.path.join(self.project.path, "exported", name)


class TestExportToFileURL(ExportContract, testtools.TestCase):
    def destination_url(self, name):
        return "file:" + os.path.join(self.project.path, "exported", name)


class TestExportToSQLite(ExportContract, testtools.TestCase):
    def destination_url(self, name):
        return sqlite_url(self)


class TestExportToPostgreSQL(ExportContract, testtools.TestCase):
    def destination_url(self, name):
        return postgresql_url(self)

    def test_the_password_is_not_printed(self):
        # The test server trusts loopback, so any password is accepted.
        url = self.destination_url("secret").replace("://testrepo@", "://testrepo:s3cret@")
        self.assertIn(":s3cret@", url)
        code, out, err = self.cli("export", url)
        self.assertEqual(0, code, err)
        self.assertIn(":***@", out)
        self.assertNotIn("s3cret", out + err)
        code, out, err = self.cli("export", url)  # now not empty: refused
        self.assertEqual(2, code, out)
        self.assertNotIn("s3cret", out + err)


class TestExportErrors(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.project = self.useFixture(SampleProject())

    def test_without_a_repository_nothing_is_created(self):
        code, _, err = testr(self.project.path, "export", "copy")
        self.assertEqual(4, code)
        self.assertIn("No repository at", err)
        self.assertFalse(os.path.exists(os.path.join(self.project.path, "copy")))

    def test_empty_repository_exports_no_runs(self):
        testr(self.project.path, "init")
        code, out, err = testr(self.project.path, "export", "copy")
        self.assertEqual(0, code, err)
        self.assertEqual("Exported 0 runs to copy; failing set: 0 tests, 0 durations.\n", out)


class TestImportTestrepoRepository(testtools.TestCase):
    """`testr import` of another project's format 2 repository."""

    def setUp(self):
        super().setUp()
        ran = run_once("testr", "sample")
        self.assertEqual(1, ran.answer[0])
        self.old = self.useFixture(ProjectCopy(ran.path))
        self.new = self.useFixture(SampleProject())

    def test_project_directory_holding_one(self):
        code, out, err = testr(self.new.path, "import", self.old.path)
        self.assertEqual(0, code, err)
        self.assertIn("Imported 1 runs (ids 0)", out)
        self.assertEqual(testr(self.old.path, "failing", "--list"),
                         testr(self.new.path, "failing", "--list"))

    def test_second_import_is_refused(self):
        testr(self.new.path, "import", self.old.repository_path())
        code, _, err = testr(self.new.path, "import", self.old.repository_path())
        self.assertEqual(2, code)
        self.assertIn("already holds 1 runs", err)

    def test_nothing_there_creates_nothing(self):
        code, _, err = testr(self.new.path, "import", "nowhere")
        self.assertEqual(4, code)
        self.assertIn("No testrepo, testrepository or stestr repository at nowhere", err)
        self.assertFalse(os.path.exists(self.new.repository_path()))
