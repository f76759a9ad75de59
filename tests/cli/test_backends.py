"""Every command against every repository backend: file, SQLite, PostgreSQL.

``BackendCommands`` runs the CLI on the sample project with its repository
in ``database()`` (a fixture with a ``url``), named by the ``repo_url`` config
key (and, in one test, by ``--repo-url``). The tests that only read what
one plain `testr run` stored share that run (:class:`SharedRun`). The
PostgreSQL case needs a server; see tests/databases.py.
"""

import json
import os

import fixtures
import subunit.v2
import testtools
from testtools.testresult.doubles import StreamResult

from tests.databases import PostgreSQLDatabase, postgresql_admin_url
from tests.fixtures import (SAMPLE_FAILURES, STESTR_CONF, TESTR_CONF, SampleProject,
                            once_per_process, run_testrepo, sample_history)
from tests.harness import testr
from tests.streams import Result, load_run

SAMPLE_SLOW = "sample.test_sample.TestBeta.test_slow"


class RepositoryDirectory(fixtures.Fixture):
    """A URL for a new repository in a temporary directory: ``file:DIR/runs``
    or, with ``scheme="sqlite"``, ``sqlite:///DIR/repo.db``."""

    def __init__(self, scheme="file"):
        super().__init__()
        self.scheme = scheme

    def _setUp(self):
        path = self.useFixture(fixtures.TempDir()).path
        self.url = ("sqlite:///%s/repo.db" % path if self.scheme == "sqlite"
                    else "file:" + os.path.join(path, "runs"))


def configure(project, url, conf=STESTR_CONF):
    """``project`` with its ``repo_url`` config key naming ``url``, in a
    ``.testr.conf`` of the built-in runner (what the backends store does
    not depend on the mode; its runs cost a third of command mode's) or
    ``conf``."""
    project.write(".testr.conf", conf + "repo_url=%s\n" % url)
    return project


class SharedRun(fixtures.Fixture):
    """The sample project with its repository in ``database`` after one
    `testr run` (TESTREPO_JOB=nightly); ``answer`` is the run's (exit code,
    stdout, stderr).  For the tests that only read what a run stored."""

    def __init__(self, database):
        super().__init__()
        self.database = database

    def _setUp(self):
        self.url = self.useFixture(self.database).url
        self.project = configure(self.useFixture(SampleProject(config=None)), self.url)
        self.answer = run_testrepo(self.project.path, "run", env={"TESTREPO_JOB": "nightly"})


@once_per_process
def shared_run(backend, database):
    """One SharedRun per backend (test class) and test process."""
    run = SharedRun(database)
    run.setUp()
    return run


class BackendCommands:

    def database(self):
        raise NotImplementedError(self.database)

    def setUp(self):
        super().setUp()
        self.url = self.useFixture(self.database()).url
        self.project = configure(self.useFixture(SampleProject(config=None)), self.url)

    def use_shared_run(self):
        """Work on this backend's shared run (only reading it) instead: its
        `testr run` exited 1 with no traceback; returns its stdout."""
        shared = shared_run(type(self), database=self.database())
        self.url, self.project = shared.url, shared.project
        code, out, err = shared.answer
        self.assertEqual(1, code, "testr run\nstdout:\n%s\nstderr:\n%s" % (out, err))
        self.assertNotIn("Traceback (most recent call last)", err)
        return out

    def cli(self, *args, expect=0, env=None):
        code, out, err = testr(self.project.path, *args, env=env)
        self.assertEqual(expect, code, "testr %s\nstdout:\n%s\nstderr:\n%s"
                         % (" ".join(args), out, err))
        self.assertNotIn("Traceback (most recent call last)", err)
        return out

    def history(self):
        return json.loads(self.cli("history", "list", "-f", "json"))

    def test_run_then_every_reading_command(self):
        out = self.use_shared_run()
        self.assertIn("Totals: 4 passed, 2 failed, 1 skipped", out)
        last = self.cli("last", expect=1)
        self.assertIn("Totals: 4 passed, 2 failed, 1 skipped", last)
        self.assertIn("alpha is broken", last)
        self.assertEqual(SAMPLE_FAILURES, self.cli("failing", "--list", expect=1).split())
        self.assertIn(SAMPLE_SLOW, self.cli("slowest"))
        stats = self.cli("stats", "-f", "json")
        self.assertIn('"runs"', stats)
        [run] = self.history()
        self.assertEqual((0, 4, 2, 1), (run["Run ID"], run["Passed"], run["Failed"],
                                        run["Skipped"]))
        shown = self.cli("history", "show", "0", expect=1)
        self.assertIn("alpha is broken", shown)
        self.assertEqual(7, len(self.final_results(self.subunit("last", "--subunit"))))

    def load_sample_run(self):
        """Store a plain run of the sample (two failures) with `testr load`:
        the stream of sample_history()'s last run."""
        code, stream, err = testr(sample_history().path, "last", "--subunit", binary=True)
        self.assertEqual(1, code, err)
        code, out, err = testr(self.project.path, "load", "--force-init", "--quiet", stdin=stream)
        self.assertEqual(1, code, out + err)

    def test_failing_rerun_and_fix(self):
        self.load_sample_run()
        self.project.write("fixed", "")
        out = self.cli("run", "--failing", expect=1)
        self.assertIn("Totals: 1 passed, 1 failed, 0 skipped", out)
        self.assertEqual(["sample.test_sample.TestAlpha.test_error"],
                         self.cli("failing", "--list", expect=1).split())

    def test_load_combine_and_remove(self):
        self.load_sample_run()
        self.load_sample_run()
        self.assertEqual([0, 1], [run["Run ID"] for run in self.history()])
        self.cli("history", "remove", "0")
        self.cli("run", "--combine", expect=1)
        self.assertEqual([1], [run["Run ID"] for run in self.history()])
        # Run 1 now holds both attempts of every test (each counts once).
        self.assertEqual(14, len(self.final_results(self.subunit("last", "--subunit"))))
        self.load_sample_run()
        # Ids are never reused, whatever was removed.
        self.assertEqual([1, 2], [run["Run ID"] for run in self.history()])

    def test_compare_and_flaky_across_hosts(self):
        # Two hosts share the repository; test_fail flips between runs
        # (sample_history(), exported here).
        self.cli("--repo-url", "file:" + sample_history().repository_path(), "export", self.url)
        comparison = json.loads(self.cli("compare", "2", "4", "-f", "json"))
        self.assertEqual(["sample.test_sample.TestAlpha.test_fail"], comparison["fixed"])
        self.assertEqual(("ci-b", "ci-a", "unit"), (
            comparison["old"]["host"], comparison["new"]["host"], comparison["new"]["job"]))
        self.assertIn("host ci-a, job unit", self.cli("compare", "2", "4"))
        flaky = json.loads(self.cli("flaky", "-f", "json"))
        self.assertEqual(["sample.test_sample.TestAlpha.test_fail"],
                         [row["Test id"] for row in flaky])
        self.assertEqual((6, 4), (flaky[0]["Runs"], flaky[0]["Flips"]))

    def test_scheduling_uses_timings_another_machine_recorded(self):
        # "Host A" (another checkout using the same repository) recorded
        # that test_slow takes 10 s and the rest 10 ms ...
        host_a = self.useFixture(SampleProject())
        host_a.write(".testr.conf", TESTR_CONF + "repo_url=%s\n" % self.url)
        code, out, err = load_run(host_a, [
            Result(test_id, duration=10.0 if test_id == SAMPLE_SLOW else 0.01)
            for test_id in self.sample_ids()])
        self.assertIn(code, (0, 1), err)
        # ... so here the static partitions put test_slow alone on a worker
        # (by count alone it would share one with two other tests).
        configure(self.project, self.url, TESTR_CONF)  # static partitions: command mode
        self.cli("run", "-j", "2", expect=1)
        workers = {}
        for event in self.final_results(self.subunit("last", "--subunit")):
            worker = [tag for tag in event[3] if tag.startswith("worker-")][0]
            workers.setdefault(worker, []).append(event[1])
        self.assertIn([SAMPLE_SLOW], list(workers.values()))

    def sample_ids(self):
        return self.cli("list").split()

    def test_reports(self):
        self.use_shared_run()
        reports = self.useFixture(fixtures.TempDir()).path
        junit = os.path.join(reports, "junit.xml")
        self.cli("last", "--junit-xml", junit, expect=1)
        with open(junit, encoding="utf-8") as handle:
            self.assertIn("alpha is broken", handle.read())
        html = os.path.join(reports, "report.html")
        self.cli("report", "--html", html)
        with open(html, encoding="utf-8") as handle:
            self.assertIn("sample.test_sample.TestAlpha.test_fail", handle.read())

    def test_repo_url_option_wins_over_the_config_key(self):
        self.project.write(".testr.conf", STESTR_CONF + "repo_url=./elsewhere\n")
        self.cli("--repo-url", self.url, "run", expect=1)
        self.assertEqual([0], [run["Run ID"] for run in json.loads(self.cli(
            "--repo-url", self.url, "history", "list", "-f", "json"))])
        self.assertFalse(os.path.exists(os.path.join(self.project.path, "elsewhere")))

    def test_run_records_host(self):
        self.use_shared_run()  # run with TESTREPO_JOB=nightly
        out = self.cli("last", expect=1)
        self.assertIn("host=", out)
        self.assertIn("job=nightly", out)

    def subunit(self, *args):
        code, out, err = testr(self.project.path, *args, binary=True)
        self.assertIn(code, (0, 1), err)
        return out

    @staticmethod
    def final_results(data):
        import io

        result = StreamResult()
        subunit.v2.ByteStreamToStreamResult(io.BytesIO(data)).run(result)
        return [event for event in result._events
                if event[0] == "status" and event[2] in ("success", "fail", "skip")]


class TestFileBackend(BackendCommands, testtools.TestCase):
    def database(self):
        return RepositoryDirectory()


class TestSQLiteBackend(BackendCommands, testtools.TestCase):
    def database(self):
        return RepositoryDirectory("sqlite")


class TestPostgreSQLBackend(BackendCommands, testtools.TestCase):
    def database(self):
        return PostgreSQLDatabase(postgresql_admin_url(self))


class TestSQLiteRelativeURL(testtools.TestCase):
    """A relative sqlite:/// path in the config is relative to the project."""

    def test_relative_path_is_anchored_at_the_project(self):
        project = self.useFixture(SampleProject(config=None))
        project.write(".testr.conf", STESTR_CONF + "repo_url=sqlite:///db/runs.db\n")
        code, out, err = testr(project.path, "run")
        self.assertEqual(1, code, err)
        self.assertTrue(os.path.isfile(os.path.join(project.path, "db", "runs.db")))
        code, out, err = testr(project.path, "repair")
        self.assertEqual(2, code, out)
        self.assertIn("SQL repository", err)


class TestRepoURLConfigKey(testtools.TestCase):

    def test_an_empty_value_is_a_config_error_naming_the_key(self):
        project = self.useFixture(SampleProject())
        for value in ("", "${TESTREPO_UNSET_VARIABLE}"):
            project.write(".testr.conf", TESTR_CONF + "repo_url=%s\n" % value)
            code, out, err = testr(project.path, "last")
            self.assertEqual(3, code, err)
            self.assertIn(".testr.conf: [DEFAULT] repo_url:", err)
            self.assertEqual(1, len(err.strip().splitlines()), err)

    def test_variables_are_expanded(self):
        project = self.useFixture(SampleProject(config=None))
        project.write(".testr.conf", STESTR_CONF + "repo_url=${RUNS_DIR:-default-runs}\n")
        code, out, err = testr(project.path, "run", env={"RUNS_DIR": "from-env"})
        self.assertEqual(1, code, err)
        self.assertTrue(os.path.isfile(os.path.join(project.path, "from-env", "format")))
        code, out, err = testr(project.path, "run")
        self.assertEqual(1, code, err)
        self.assertTrue(os.path.isfile(os.path.join(project.path, "default-runs", "format")))
