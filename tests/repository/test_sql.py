"""What the SQL backend adds to the repository contract (tests/repository/
test_contract.py): the normalised tables, concurrent writers on one
database, an unreachable database, schema versions and spooled runs."""

import datetime
import io
import os
import subprocess
import sys
import textwrap

import fixtures
import sqlalchemy as sa
import subunit.v2
import testtools
from testtools.testresult.doubles import StreamResult

from testrepo.errors import RepositoryCorrupt, RepositoryError
from testrepo.repository import initialise_repository, open_repository
from tests.databases import postgresql_admin_url, postgresql_url, sqlite_url
from tests.fixtures import SampleProject, run_testrepo, start_together
from tests.harness import run_cli

UTC = datetime.timezone.utc
T0 = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

# Stores RUNS runs into the repository at sys.argv[1], as writer sys.argv[2]:
# each run is two passing tests and one failing one, named for writer and run.
# It writes only once every writer is ready (tests.fixtures.start_together),
# so that all of them contend for the run id counter at once.
WRITER = textwrap.dedent('''
    import datetime, sys
    from testrepo.repository import open_repository

    url, writer, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    t0 = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)
    repo = open_repository(url)
    print("ready", flush=True)
    sys.stdin.read()
    for number in range(runs):
        inserter = repo.insert(metadata={"writer": "%s-%d" % (writer, number)})
        inserter.startTestRun()
        for name, status in (("a", "success"), ("b", "success"), ("c", "fail")):
            test_id = "w%s.r%d.test_%s" % (writer, number, name)
            inserter.status(test_id=test_id, test_status="inprogress", timestamp=t0)
            inserter.status(test_id=test_id, test_status=status, timestamp=t0)
        inserter.stopTestRun()
    repo.close()
''')


def record_one_test(inserter, test_id, status="success", seconds=1.5):
    inserter.status(test_id=test_id, test_status="inprogress", timestamp=T0)
    if status == "fail":
        inserter.status(test_id=test_id, file_name="traceback", file_bytes=b"it broke",
                        mime_type="text/x-traceback; charset=utf8", eof=True, timestamp=T0)
    inserter.status(test_id=test_id, test_status=status,
                    timestamp=T0 + datetime.timedelta(seconds=seconds))


def final_results(data):
    result = StreamResult()
    subunit.v2.ByteStreamToStreamResult(io.BytesIO(data)).run(result)
    return [(event[1], event[2]) for event in result._events
            if event[0] == "status" and event[2] in ("success", "fail")]


class SQLBackendBehaviour:
    """Run against SQLite and PostgreSQL (``database_url``)."""

    def database_url(self):
        raise NotImplementedError(self.database_url)

    def setUp(self):
        super().setUp()
        self.spool = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.EnvironmentVariable("TESTREPO_SPOOL_DIR", self.spool))
        self.url = self.database_url()

    def repository(self, create=False):
        repo = (initialise_repository if create else open_repository)(self.url)
        self.addCleanup(repo.close)
        return repo

    def test_each_result_is_a_row_of_the_normalised_schema(self):
        repo = self.repository(create=True)
        inserter = repo.insert(metadata={"host": "node-a", "job": "unit"})
        inserter.startTestRun()
        record_one_test(inserter, "pkg.T.test_ok")
        record_one_test(inserter, "pkg.T.test_broken", "fail", seconds=0.25)
        inserter.stopTestRun()
        engine = sa.create_engine(self.url.replace("postgresql://", "postgresql+psycopg://"),
                                  poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT tests.test_id, status, stop_time - start_time, events IS NULL "
                "FROM test_runs JOIN tests ON tests.id = test_runs.test "
                "WHERE run_id = 0 ORDER BY tests.test_id")).all()
            files = conn.execute(sa.text(
                "SELECT name, content FROM attachments WHERE run_id = 0")).all()
            metadata = dict(conn.execute(sa.text(
                "SELECT key, value FROM run_metadata WHERE run_id = 0")).all())
            version = conn.execute(sa.text(
                "SELECT value FROM testrepo_meta WHERE key = 'schema_version'")).scalar()
        self.assertEqual([("pkg.T.test_broken", "fail", 0.25, False),
                          ("pkg.T.test_ok", "success", 1.5, True)],
                         [tuple(row) for row in rows])
        self.assertEqual([("traceback", b"it broke")], [tuple(row) for row in files])
        self.assertEqual({"host": "node-a", "job": "unit"}, metadata)
        self.assertEqual("1", version)
        self.assertEqual([], os.listdir(os.path.join(self.spool, os.listdir(self.spool)[0])))

    def test_four_processes_loading_five_runs_each_at_once_lose_nothing(self):
        # Started together, two writers already collide on the run id
        # without the write lock (a duplicate key on PostgreSQL, "database
        # is locked" on SQLite); four writing five runs each always did.
        self.repository(create=True)
        script = os.path.join(self.useFixture(fixtures.TempDir()).path, "writer.py")
        with open(script, "w", encoding="utf-8") as handle:
            handle.write(WRITER)
        env = dict(os.environ, PYTHONPATH=os.getcwd())
        writers = start_together([[sys.executable, script, self.url, str(writer), "5"]
                                  for writer in range(4)], env=env)
        for writer in writers:
            _, err = writer.communicate()
            self.assertEqual(0, writer.returncode, err.decode())
        repo = self.repository()
        records = repo.runs()
        self.assertEqual(list(range(20)), [record.run_id for record in records])
        seen = set()
        for record in records:
            self.assertEqual((2, 1, 0), (record.passed, record.failed, record.skipped))
            writer, number = record.metadata["writer"].split("-")
            with repo.get_run(record.run_id).stream() as stream:
                results = final_results(stream.read())
            prefix = "w%s.r%s." % (writer, number)
            self.assertEqual([(prefix + "test_a", "success"), (prefix + "test_b", "success"),
                              (prefix + "test_c", "fail")], results)
            seen.add(record.metadata["writer"])
        self.assertEqual(20, len(seen))

    def test_a_newer_schema_is_refused(self):
        self.repository(create=True)
        engine = sa.create_engine(self.url.replace("postgresql://", "postgresql+psycopg://"),
                                  poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            conn.execute(sa.text(
                "UPDATE testrepo_meta SET value = '99' WHERE key = 'schema_version'"))
        error = self.assertRaises(RepositoryCorrupt, open_repository, self.url)
        self.assertIn("holds schema 99, but this testrepo reads schema 1; upgrade testrepo",
                      str(error))

    def test_a_killed_writer_leaves_a_spooled_run_the_next_run_recovers(self):
        self.repository(create=True)
        code = textwrap.dedent('''
            import datetime, os, sys
            from testrepo.repository import open_repository
            t0 = datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)
            inserter = open_repository(sys.argv[1]).insert()
            inserter.startTestRun()
            inserter.status(test_id="pkg.T.test_done", test_status="inprogress", timestamp=t0)
            inserter.status(test_id="pkg.T.test_done", test_status="success", timestamp=t0)
            inserter.flush()
            os._exit(9)  # killed before stopTestRun
        ''')
        env = dict(os.environ, PYTHONPATH=os.getcwd())
        killed = subprocess.run([sys.executable, "-c", code, self.url], env=env)
        self.assertEqual(9, killed.returncode)
        # The built-in runner: recovery does not depend on the mode.
        project = self.useFixture(SampleProject(config="stestr"))
        exit_code, out, err = run_testrepo(project.path, "--repo-url", self.url, "run",
                                           env={"TESTREPO_SPOOL_DIR": self.spool})
        self.assertEqual(1, exit_code, err)
        self.assertIn("Recovered run 0 (1 results)", out)
        record = self.repository().get_run(0).record
        self.assertEqual((1, True, True), (record.passed, record.partial, record.interrupted))


class TestSQLite(SQLBackendBehaviour, testtools.TestCase):
    def database_url(self):
        return sqlite_url(self)


class TestPostgreSQL(SQLBackendBehaviour, testtools.TestCase):
    def database_url(self):
        return postgresql_url(self)

    def test_a_run_the_database_could_not_take_is_kept_to_load_later(self):
        repo = self.repository(create=True)
        inserter = repo.insert()
        inserter.startTestRun()
        record_one_test(inserter, "pkg.T.test_ok")
        name = sa.engine.make_url(self.url).database
        self.rename_database(name, name + "_away")
        error = self.assertRaises(RepositoryError, inserter.stopTestRun)
        message = str(error)
        self.assertIn("Cannot reach the repository database", message)
        kept = message.split("its stream is kept at ", 1)[1].split(":", 1)[0]
        self.assertTrue(os.path.isfile(kept), message)
        # Not named like the spool file of a killed testr, which the next
        # command would store by itself as an interrupted run.
        self.assertTrue(os.path.basename(kept).startswith("unsent-"), kept)
        self.assertIn("`testr --repo-url %s load %s`" % (self.url, kept), message)
        self.rename_database(name + "_away", name)
        project = self.useFixture(SampleProject())
        code, out, err = run_cli(project.path, "--repo-url", self.url, "load", kept)
        self.assertEqual(0, code, err)
        self.assertEqual([("pkg.T.test_ok", "success")], final_results(
            self.repository().get_run(0).stream().read()))

    def test_a_connection_dropped_during_a_long_run_is_replaced(self):
        repo = self.repository(create=True)
        repo.durations()  # the pool now holds an open connection ...
        inserter = repo.insert()
        inserter.startTestRun()
        record_one_test(inserter, "pkg.T.test_ok")
        self.terminate_connections(sa.engine.make_url(self.url).database)  # ... now dead
        inserter.stopTestRun()
        self.assertEqual([0], repo.run_ids())

    def terminate_connections(self, name):
        with self.admin_engine().connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :name"), {"name": name})

    def admin_engine(self):
        admin = sa.engine.make_url(postgresql_admin_url(self)).set(
            drivername="postgresql+psycopg")
        return sa.create_engine(admin, isolation_level="AUTOCOMMIT",
                                poolclass=sa.pool.NullPool)

    def rename_database(self, old, new):
        self.terminate_connections(old)
        with self.admin_engine().connect() as conn:
            conn.exec_driver_sql('ALTER DATABASE "%s" RENAME TO "%s"' % (old, new))


class TestUnreachableDatabase(testtools.TestCase):
    """No server needed: nothing listens on port 1."""

    def test_commands_fail_with_one_line_and_hide_the_password(self):
        project = self.useFixture(SampleProject())
        url = "postgresql://ci:s3cret@127.0.0.1:1/results"
        for command in (["last"], ["run"], ["history", "list"]):
            code, out, err = run_cli(project.path, "--repo-url", url, *command)
            self.assertEqual(4, code, (command, out, err))
            self.assertEqual(1, len(err.strip().splitlines()), err)
            self.assertIn("testr: Cannot reach the repository database "
                          "postgresql://ci:***@127.0.0.1:1/results", err)
            self.assertNotIn("s3cret", err + out)
            self.assertNotIn("Totals", out)  # `run` ran nothing

    def test_a_malformed_url_is_a_clear_error(self):
        project = self.useFixture(SampleProject())
        code, out, err = run_cli(project.path, "--repo-url", "postgresql://u:pw@[::1", "last")
        self.assertEqual(4, code, err)
        self.assertIn("postgresql://USER@HOST/DATABASE", err)
        self.assertIn("postgresql://u:***@[::1", err)


class TestSQLiteFileProblems(testtools.TestCase):

    def test_a_file_that_is_not_a_database_and_a_directory_get_one_line_each(self):
        project = self.useFixture(SampleProject())
        project.write("garbage.db", "not a database\n")
        os.mkdir(os.path.join(project.path, "a-directory"))
        cases = [(("--repo-url", "sqlite:///garbage.db", "last"),
                  "testr: sqlite:///garbage.db is not a SQLite database"),
                 (("--repo-url", "sqlite:///a-directory", "init"),
                  "testr: Cannot use the SQLite database sqlite:///a-directory")]
        for args, expected in cases:
            code, out, err = run_cli(project.path, *args)
            self.assertEqual(4, code, err)
            self.assertEqual(1, len(err.strip().splitlines()), err)
            self.assertIn(expected, err)
        with open(os.path.join(project.path, "garbage.db")) as handle:
            self.assertEqual("not a database\n", handle.read())  # left alone


# Runs the CLI with the named modules made unimportable, as if the extra
# that provides them had not been installed.
WITHOUT_MODULES = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None
from testrepo.cli.app import main
sys.exit(main(sys.argv[2:]))
"""


class TestMissingExtras(testtools.TestCase):

    def check(self, modules, url, expected):
        project = self.useFixture(SampleProject())
        proc = subprocess.run([sys.executable, "-c", WITHOUT_MODULES, modules,
                               "--repo-url", url, "last"], cwd=project.path,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)
        self.assertEqual(2, proc.returncode, proc.stderr)
        self.assertEqual(1, len(proc.stderr.strip().splitlines()), proc.stderr)
        self.assertIn(expected, proc.stderr)

    def test_without_sqlalchemy(self):
        self.check("sqlalchemy", "sqlite:///runs.db",
                   "SQL repositories need SQLAlchemy")

    def test_without_the_postgresql_driver(self):
        self.check("psycopg", "postgresql://ci@127.0.0.1:1/runs",
                   "install it with `pip install 'testrepo[postgresql]'`")
