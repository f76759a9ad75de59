"""testrepo.migrate on repositories written by the real testrepository and
stestr (tests/data/legacy/, see its README.rst and make_fixtures.sh)."""

import os
import shutil

import fixtures
import testtools
from testtools.testresult.doubles import StreamResult

from testrepo import errors, migrate
from testrepo.repository.memory import MemoryRepository
from tests.repository.test_contract import parsed, replayed, run_test

LEGACY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "legacy")
SAMPLE = "sample.test_sample."
GONE = "sample.test_gone.TestGone.test_gone"


def counts(repo):
    return [(r.passed, r.failed, r.skipped) for r in repo.runs()]


class LegacyCopy(fixtures.Fixture):
    """A writable copy of one legacy fixture repository, at ``self.path``."""

    def __init__(self, name, dirname=".testrepository.v1"):
        super().__init__()
        self.name = name
        self.dirname = dirname

    def _setUp(self):
        self.root = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.root, self.dirname)
        shutil.copytree(os.path.join(LEGACY, self.name), self.path)


class TestImportTestrepository(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.legacy = self.useFixture(LegacyCopy("testrepository"))
        self.repo = MemoryRepository()
        self.outcome = migrate.import_repository(self.legacy.path, self.repo)

    def test_every_run_is_imported_in_order_with_its_counts(self):
        self.assertEqual(((0, 1, 2, 3), (0, 1, 2, 3)),
                         (self.outcome.legacy_ids, self.outcome.run_ids))
        self.assertEqual([(5, 2, 1), (4, 2, 1), (1, 1, 0), (1, 0, 0)], counts(self.repo))

    def test_runs_keep_timestamps_tags_and_tracebacks(self):
        record = self.repo.get_run(1).record
        self.assertTrue(record.started.startswith("20"))
        self.assertGreater(record.duration, 0.05)
        events = replayed(self.repo.get_run(1))
        workers = {tag for e in events for tag in e[2] if tag.startswith("worker-")}
        self.assertEqual({"worker-0", "worker-1"}, workers)
        tracebacks = b"".join(e[5] for e in events if e[4] == "traceback")
        self.assertIn(b"RuntimeError: boom", tracebacks)
        self.assertIn(b"AssertionError: alpha is broken", tracebacks)

    def test_metadata_names_the_source_and_the_old_run_id(self):
        metadata = dict(self.repo.get_run(2).record.metadata)
        self.assertEqual({"imported-from": self.legacy.path, "imported-run-id": "2"}, metadata)

    def test_failing_set_is_the_legacy_failing_file_not_the_last_run(self):
        # Run 3 (a --partial run) failed nothing; testr still lists test_error.
        self.assertEqual([SAMPLE + "TestAlpha.test_error"], self.repo.failing_ids())
        events = parsed(self.repo.failing_stream())
        self.assertIn(b"RuntimeError: boom", b"".join(e[5] for e in events if e[5]))
        self.assertEqual(1, self.outcome.failing)

    def test_durations_come_from_the_runs_and_times_db_fills_gaps(self):
        durations = self.repo.durations()
        times = migrate.read_times(self.legacy.path)
        self.assertEqual(set(times), set(durations))
        self.assertGreater(durations[SAMPLE + "TestBeta.test_slow"], 0.04)
        # testr times skips, testrepo does not: that one comes from times.dbm.
        self.assertEqual(times[SAMPLE + "TestAlpha.test_skip"],
                         durations[SAMPLE + "TestAlpha.test_skip"])
        self.assertEqual(1, self.outcome.durations_from_times_db)


class TestImportStestr(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.legacy = self.useFixture(LegacyCopy("stestr", dirname=".stestr"))
        self.repo = MemoryRepository()
        # A project directory holding .stestr/ is enough.
        self.outcome = migrate.import_repository(self.legacy.root, self.repo)

    def test_runs_left_after_history_remove_are_imported(self):
        self.assertEqual(((1, 2, 3), (0, 1, 2)), (self.outcome.legacy_ids, self.outcome.run_ids))
        self.assertEqual([(4, 2, 1), (5, 1, 1), (5, 1, 1)], counts(self.repo))

    def test_stestr_metadata_is_kept(self):
        self.assertEqual("job=nightly-42", self.repo.get_run(2).record.metadata["imported-metadata"])
        self.assertNotIn("imported-metadata", self.repo.get_run(1).record.metadata)

    def test_timing_of_a_removed_run_survives_through_times_db(self):
        durations = self.repo.durations()
        self.assertAlmostEqual(0.02, durations[GONE], delta=0.015)
        self.repo.remove_runs(self.repo.run_ids())
        self.assertEqual([GONE, SAMPLE + "TestAlpha.test_skip"], sorted(self.repo.durations()))

    def test_failing_set(self):
        self.assertEqual([SAMPLE + "TestAlpha.test_error"], self.repo.failing_ids())


class TestImportRefusals(testtools.TestCase):
    def setUp(self):
        super().setUp()
        self.legacy = self.useFixture(LegacyCopy("testrepository"))

    def test_target_with_runs_is_refused(self):
        repo = MemoryRepository()
        inserter = repo.insert()
        inserter.startTestRun()
        run_test(inserter, "a", "success")
        inserter.stopTestRun()
        error = self.assertRaises(errors.UsageError, migrate.import_repository,
                                  self.legacy.path, repo)
        self.assertIn("already holds 1 runs", error.message)
        self.assertEqual(1, repo.count())

    def test_missing_source(self):
        error = self.assertRaises(errors.RepositoryNotFound, migrate.import_repository,
                                  self.legacy.root, MemoryRepository())
        self.assertIn("No testrepository or stestr repository at " + self.legacy.root,
                      error.message)

    def test_format_2_source_is_refused(self):
        with open(os.path.join(self.legacy.path, "format"), "w") as stream:
            stream.write("2\n")
        error = self.assertRaises(errors.UsageError, migrate.import_repository,
                                  self.legacy.path, MemoryRepository())
        self.assertIn("is already a testrepo (format 2) repository", error.message)

    def test_corrupt_times_db_is_named_and_nothing_is_imported(self):
        for garbage in ("'a', (0, 8)\n'b', {not python\n", "not a dbm index\n"):
            with open(os.path.join(self.legacy.path, "times.dbm.dir"), "w") as stream:
                stream.write(garbage)
            repo = MemoryRepository()
            error = self.assertRaises(errors.RepositoryCorrupt, migrate.import_repository,
                                      self.legacy.path, repo)
            self.assertIn(os.path.join(self.legacy.path, "times.dbm"), error.message)
            self.assertIn("delete times.dbm* to import without it", error.message)
            self.assertEqual((0, [], {}), (repo.count(), repo.failing_ids(), repo.durations()))


class TestReplayV1(testtools.TestCase):
    def test_non_subunit_lines_arrive_as_stdout(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, "0")
        with open(path, "wb") as stream:
            stream.write(b"hello\ntest: a\nsuccess: a\n")
        result = StreamResult()
        migrate.replay_v1(path, result)
        statuses = [e for e in result._events if e[0] == "status"]
        self.assertEqual([("a", "inprogress"), ("a", "success"), (None, None)],
                         [(e.test_id, e.test_status) for e in statuses])
        self.assertEqual((b"hello\n", "stdout"), (statuses[-1].file_bytes, statuses[-1].file_name))
        self.assertNotIn("startTestRun", [e[0] for e in result._events])
