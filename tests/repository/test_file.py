"""The file backend's own promises: layout, format checks, corruption,
crash safety and concurrent writers. The shared contract is in
test_contract.py."""

import os
import sqlite3
import subprocess
import sys
import textwrap

import fixtures
import testtools

from testrepo.errors import (
    RepositoryCorrupt,
    RepositoryExists,
    RepositoryNotFound,
    UsageError,
)
from testrepo.repository import (
    DEFAULT_DIRNAME,
    initialise_repository,
    open_repository,
    repository_path,
)
from tests.fixtures import start_together
from tests.repository.test_contract import parsed, replayed, run_test

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def python(script, *args, **kwargs):
    """Start ``script`` in a fresh interpreter that can import testrepo."""
    env = dict(os.environ, PYTHONPATH=PROJECT_ROOT)
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


class FileRepositoryTestCase(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.root, DEFAULT_DIRNAME)

    def write(self, name, data):
        with open(os.path.join(self.path, name), "wb") as stream:
            stream.write(data)

    def add_run(self, repo, test_id="a", status="success"):
        inserter = repo.insert()
        inserter.startTestRun()
        run_test(inserter, test_id, status)
        inserter.stopTestRun()
        return inserter.run_id


class TestRepositoryPath(testtools.TestCase):
    def test_file_urls_and_plain_paths_name_a_directory(self):
        self.assertEqual("/tmp/r", repository_path("file:/tmp/r"))
        self.assertEqual("/tmp/r", repository_path("file:///tmp/r"))
        self.assertEqual("rel/r", repository_path("file:rel/r"))
        self.assertEqual(".testrepository", repository_path(".testrepository"))
        self.assertEqual("C:\\work\\r", repository_path("C:\\work\\r"))

    def test_other_schemes_are_refused(self):
        error = self.assertRaises(UsageError, repository_path, "postgresql://db/runs")
        self.assertIn("postgresql://db/runs", str(error))


class TestLayout(FileRepositoryTestCase):
    def test_initialise_writes_format_2_layout(self):
        initialise_repository(self.path)
        with open(os.path.join(self.path, "format"), "rb") as stream:
            self.assertEqual(b"2\n", stream.read())
        self.assertEqual(["format", "index.sqlite", "runs", "tmp"], sorted(os.listdir(self.path)))
        self.assertEqual([], os.listdir(os.path.join(self.path, "tmp")))

    def test_initialise_creates_parent_directories(self):
        path = os.path.join(self.root, "a", "b", "repo")
        initialise_repository("file:" + path)
        self.assertEqual(0, open_repository(path).count())

    def test_initialise_twice_raises_exists(self):
        initialise_repository(self.path)
        error = self.assertRaises(RepositoryExists, initialise_repository, self.path)
        self.assertIn(self.path, str(error))

    def test_run_is_a_numbered_v2_file_and_tmp_is_emptied(self):
        repo = initialise_repository(self.path)
        self.add_run(repo, "a", "fail")
        with open(os.path.join(self.path, "runs", "0"), "rb") as stream:
            stored = stream.read()
        self.assertEqual(replayed(repo.get_run(0)), parsed(stored))
        self.assertEqual("fail", parsed(stored)[-1][1])
        self.assertEqual([], os.listdir(os.path.join(self.path, "tmp")))

    def test_runs_survive_reopening(self):
        repo = initialise_repository(self.path)
        self.add_run(repo, "b", "success")
        self.add_run(repo, "a", "fail")
        reopened = open_repository(self.path)
        self.assertEqual(repo.runs(), reopened.runs())
        self.assertEqual(["a"], reopened.failing_ids())
        self.assertEqual({"a": 1.0, "b": 1.0}, reopened.durations())
        self.assertEqual(replayed(repo.get_run(1)), replayed(reopened.get_run(1)))
        self.assertEqual(2, self.add_run(reopened))

    def test_queries_answer_from_the_index_without_streams(self):
        repo = initialise_repository(self.path)
        self.add_run(repo, "a", "fail")
        os.unlink(os.path.join(self.path, "runs", "0"))
        reopened = open_repository(self.path)
        self.assertEqual((0, 1, ["a"]), (reopened.latest_id(), reopened.runs()[0].failed,
                                         reopened.failing_ids()))
        self.assertEqual({"a"}, {e[0] for e in parsed(reopened.failing_stream())})

    def test_missing_run_file_raises_corrupt(self):
        repo = initialise_repository(self.path)
        self.add_run(repo)
        os.unlink(os.path.join(self.path, "runs", "0"))
        error = self.assertRaises(RepositoryCorrupt, repo.get_run(0).stream)
        self.assertIn(os.path.join(self.path, "runs", "0"), str(error))


class TestRemoving(FileRepositoryTestCase):
    def test_removed_run_loses_its_stream_file(self):
        repo = initialise_repository(self.path)
        self.add_run(repo)
        self.add_run(repo)
        repo.remove_run(0)
        self.assertEqual(["1"], os.listdir(os.path.join(self.path, "runs")))

    def test_removed_ids_stay_used_after_reopening(self):
        repo = initialise_repository(self.path)
        self.add_run(repo)
        self.add_run(repo)
        repo.remove_run(1)
        self.assertEqual(2, self.add_run(open_repository(self.path)))


class TestOpening(FileRepositoryTestCase):
    def test_missing_directory_raises_not_found(self):
        error = self.assertRaises(RepositoryNotFound, open_repository, self.path)
        self.assertEqual(
            "No repository at %s. Run `testr init` (`testr run` creates one too)." % self.path,
            str(error))

    def test_directory_without_format_file_raises_not_found(self):
        os.mkdir(self.path)
        self.assertRaises(RepositoryNotFound, open_repository, self.path)

    def test_unknown_format_raises_corrupt(self):
        initialise_repository(self.path)
        self.write("format", b"banana\n")
        error = self.assertRaises(RepositoryCorrupt, open_repository, self.path)
        self.assertIn(os.path.join(self.path, "format"), str(error))
        self.assertIn("banana", str(error))
        self.assertIn("expected '2'", str(error))

    def test_newer_format_asks_for_an_upgrade(self):
        initialise_repository(self.path)
        self.write("format", b"3\n")
        error = self.assertRaises(RepositoryCorrupt, open_repository, self.path)
        self.assertIn("upgrade testrepo", str(error))

    def test_format_1_repository_is_recognised(self):
        # What testrepository and stestr leave behind.
        os.mkdir(self.path)
        self.write("format", b"1\n")
        self.write("next-stream", b"3\n")
        error = self.assertRaises(RepositoryCorrupt, open_repository, self.path)
        self.assertIn("%s is a testrepository format 1 repository" % self.path, str(error))
        self.assertIn("`mv %s %s.v1 && testr import %s.v1`" % (self.path, self.path, self.path),
                      str(error))

    def test_initialising_over_a_format_1_repository_says_how_to_import_it(self):
        os.mkdir(self.path)
        self.write("format", b"1\n")
        self.write("next-stream", b"3\n")
        error = self.assertRaises(RepositoryExists, initialise_repository, self.path)
        self.assertIn("testr import %s.v1" % self.path, str(error))

    def test_corrupt_index_raises_corrupt(self):
        initialise_repository(self.path)
        self.write("index.sqlite", b"this is not sqlite at all" * 100)
        error = self.assertRaises(RepositoryCorrupt, open_repository, self.path)
        self.assertIn(os.path.join(self.path, "index.sqlite") + " is not a valid index",
                      str(error))

    def test_index_corrupted_after_opening_raises_corrupt(self):
        repo = initialise_repository(self.path)
        self.write("index.sqlite", b"garbage" * 1000)
        for query in (repo.count, repo.runs, repo.failing_ids, repo.durations):
            self.assertRaises(RepositoryCorrupt, query)
        self.assertRaises(RepositoryCorrupt, self.add_run, repo)

    def test_index_without_our_tables_raises_corrupt(self):
        initialise_repository(self.path)
        os.unlink(os.path.join(self.path, "index.sqlite"))
        sqlite3.connect(os.path.join(self.path, "index.sqlite")).close()
        error = self.assertRaises(RepositoryCorrupt, open_repository, self.path)
        self.assertIn("is not a valid index", str(error))

    def test_missing_index_raises_corrupt(self):
        initialise_repository(self.path)
        os.unlink(os.path.join(self.path, "index.sqlite"))
        error = self.assertRaises(RepositoryCorrupt, open_repository, self.path)
        self.assertIn("index.sqlite", str(error))
        self.assertFalse(os.path.exists(os.path.join(self.path, "index.sqlite")))


class TestCrashesAndConcurrency(FileRepositoryTestCase):
    def test_inserter_that_never_stops_leaves_only_a_tmp_file(self):
        initialise_repository(self.path)
        process = python("""
            import os, sys
            from testrepo.repository import open_repository
            from tests.repository.test_contract import run_test
            inserter = open_repository(sys.argv[1]).insert()
            inserter.startTestRun()
            run_test(inserter, "ran.first", "fail", traceback=b"boom")
            inserter.status(test_id="was.running", test_status="inprogress")
            os._exit(9)  # no stopTestRun, no cleanup: a killed runner
            """, self.path)
        process.communicate()
        self.assertEqual(9, process.returncode)
        repo = open_repository(self.path)
        self.assertEqual((0, [], {}), (repo.count(), repo.failing_ids(), repo.durations()))
        self.assertEqual([], os.listdir(os.path.join(self.path, "runs")))
        (leftover,) = os.listdir(os.path.join(self.path, "tmp"))
        with open(os.path.join(self.path, "tmp", leftover), "rb") as stream:
            events = parsed(stream.read())
        # Writes are flushed at most every FLUSH_INTERVAL, so a killed
        # runner leaves a prefix of its events: here at least the first.
        sent = ["ran.first"] * 3 + ["was.running"]
        received = [e[0] for e in events]
        self.assertTrue(received, "nothing reached the temp file")
        self.assertEqual(sent[:len(received)], received)

    def test_concurrent_inserts_from_processes_get_distinct_ids(self):
        initialise_repository(self.path)
        writers = start_together([[sys.executable, "-c", textwrap.dedent("""
            import sys
            from testrepo.repository import open_repository
            from tests.repository.test_contract import run_test
            path, writer = sys.argv[1:]
            repo = open_repository(path)
            print("ready", flush=True)
            sys.stdin.read()  # all start writing together, to contend for the lock
            for n in range(5):
                inserter = repo.insert(metadata={"writer": writer, "n": str(n)})
                inserter.startTestRun()
                run_test(inserter, "w%s.t%d" % (writer, n), "fail")
                inserter.stopTestRun()
                print(inserter.run_id)
            """), self.path, str(writer)] for writer in range(4)],
            env=dict(os.environ, PYTHONPATH=PROJECT_ROOT))
        printed = []
        for process in writers:
            out, err = process.communicate(timeout=120)
            self.assertEqual(0, process.returncode, err.decode())
            printed.extend(int(line) for line in out.split())
        repo = open_repository(self.path)
        self.assertEqual(list(range(20)), sorted(printed))
        self.assertEqual(list(range(20)), repo.run_ids())
        for record in repo.runs():
            test_ids = {e[0] for e in replayed(repo.get_run(record.run_id))}
            self.assertEqual({"w%(writer)s.t%(n)s" % record.metadata}, test_ids)
        # Each run was full, so the failing set is exactly the last run's.
        self.assertEqual(["w%(writer)s.t%(n)s" % repo.runs()[-1].metadata], repo.failing_ids())
        self.assertEqual([], os.listdir(os.path.join(self.path, "tmp")))


class TestSchemaUpgrade(FileRepositoryTestCase):
    def store_failure(self, test_id):
        inserter = open_repository(self.path).insert()
        inserter.startTestRun()
        run_test(inserter, test_id, "fail", traceback=b"boom " + test_id.encode())
        inserter.stopTestRun()

    def test_schema_1_index_is_upgraded_and_old_runs_still_show_failures(self):
        initialise_repository(self.path)
        self.store_failure("old.test")
        db = sqlite3.connect(os.path.join(self.path, "index.sqlite"))
        with db:
            db.execute("DROP TABLE run_failures")
            db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        db.close()
        self.store_failure("new.test")  # opening upgrades the index
        repo = open_repository(self.path)
        old, new = (repo.get_run(run_id) for run_id in repo.run_ids())
        self.assertIn(b"boom old.test", old.failures())
        self.assertIn(b"boom new.test", new.failures())
        self.assertNotIn(b"old.test", new.failures())
