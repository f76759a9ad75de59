"""testrepo.transfer.copy_history between backends.

``TransferContract`` holds the checks; each pair of backends is a small
subclass implementing ``make_source()`` and ``make_destination()`` (both
return a new, empty Repository). A new backend adds e.g.::

    class TestFileToSQLite(TransferContract, testtools.TestCase):
        def make_source(self):
            return file_repository(self)

        def make_destination(self):
            return initialise_repository(sqlite_url(self))
"""

import dataclasses

import fixtures
import testtools

from testrepo import errors, transfer
from testrepo.repository import initialise_repository
from testrepo.repository.memory import MemoryRepository
from tests.databases import postgresql_url, sqlite_url
from tests.repository.test_contract import at, parsed, run_test


def file_repository(test):
    """A new, empty file repository in a temporary directory of ``test``."""
    temp_dir = test.useFixture(fixtures.TempDir()).path
    return initialise_repository("file:%s/.testrepository" % temp_dir)


def store_run(repo, tests, partial=False, interrupted=False, metadata=None, hidden_tags=()):
    """Store a run of (test_id, status[, tags]) tuples, one second each;
    failures get a traceback naming the test. Returns the run id."""
    inserter = repo.insert(partial=partial, metadata=metadata)
    inserter.hide_tags(hidden_tags)
    inserter.startTestRun()
    for start, (test_id, status, *tags) in enumerate(tests):
        traceback = b"%s failed\n" % test_id.encode() if status == "fail" else None
        # A list, so the stream holds the tags in this order.
        run_test(inserter, test_id, status, start, 1.0, traceback,
                 test_tags=tags[0] if tags else None, route_code=str(start % 2))
    if interrupted:
        inserter.mark_interrupted()
    inserter.stopTestRun()
    return inserter.run_id


def stream_of(repo, run_id):
    with repo.get_run(run_id).stream() as stream:
        return stream.read()


class TransferContract:
    """What copy_history promises, whatever the two backends are."""

    def make_source(self):
        raise NotImplementedError(self.make_source)

    def make_destination(self):
        raise NotImplementedError(self.make_destination)

    def setUp(self):
        super().setUp()
        self.source = self.make_source()
        self.destination = self.make_destination()
        self.addCleanup(self.source.close)
        self.addCleanup(self.destination.close)

    def store_history(self):
        """Runs 0-4 with run 1 removed: full, retried, partial, interrupted;
        tags in an order a set would not keep; an imported duration."""
        store_run(self.source, [("a", "success"), ("b", "fail"), ("c", "skip")],
                  metadata={"seed": "42"})
        store_run(self.source, [("gone", "success")])
        store_run(self.source, [("a", "fail", ["zeta", "alpha", "worker-0", "mid"]),
                                ("b", "fail"), ("b", "success"), ("d", "success")],
                  metadata={"ci_job": "nightly-7"})
        store_run(self.source, [("a", "success"), ("e", "fail")], partial=True)
        store_run(self.source, [("d", "fail"), ("c", "success")], interrupted=True)
        self.source.remove_run(1)
        self.source.import_durations({"untimed": 4.5, "a": 99.0})
        return transfer.copy_history(self.source, self.destination)

    def test_every_run_is_copied_oldest_first_under_new_ids(self):
        outcome = self.store_history()
        self.assertEqual({0: 0, 2: 1, 3: 2, 4: 3}, dict(outcome.run_ids))
        self.assertEqual([0, 1, 2, 3], self.destination.run_ids())

    def test_records_are_the_same_but_for_the_run_id(self):
        outcome = self.store_history()
        for source_id, destination_id in outcome.run_ids.items():
            expected = dataclasses.replace(self.source.get_run(source_id).record,
                                           run_id=destination_id)
            self.assertEqual(expected, self.destination.get_run(destination_id).record)

    def test_streams_are_byte_identical(self):
        outcome = self.store_history()
        for source_id, destination_id in outcome.run_ids.items():
            self.assertEqual(stream_of(self.source, source_id),
                             stream_of(self.destination, destination_id))
        tags = [e[2] for e in parsed(stream_of(self.destination, 1)) if e[0] == "a"]
        self.assertIn(frozenset({"zeta", "alpha", "worker-0", "mid"}), tags)

    def test_partial_interrupted_and_metadata_are_kept(self):
        self.store_history()
        records = self.destination.runs()
        self.assertEqual([(False, False), (False, False), (True, False), (False, True)],
                         [(r.partial, r.interrupted) for r in records])
        self.assertEqual({"seed": "42"}, dict(records[0].metadata))
        # Run 2 retried b, which failed and then passed: flaky.
        self.assertEqual({"ci_job": "nightly-7", "flaky": "1"}, dict(records[1].metadata))

    def test_flaky_metadata_given_by_the_source_survives_unchanged(self):
        store_run(self.source, [("a", "success")], metadata={"flaky": "3", "note": "x=y"})
        transfer.copy_history(self.source, self.destination)
        self.assertEqual({"flaky": "3", "note": "x=y"},
                         dict(self.destination.get_run(0).record.metadata))

    def test_failing_set_is_the_sources_byte_for_byte(self):
        self.store_history()
        self.assertEqual(["d", "e"], self.source.failing_ids())
        self.assertEqual(self.source.failing_ids(), self.destination.failing_ids())
        self.assertEqual(self.source.failing_stream(), self.destination.failing_stream())

    def test_failing_set_replaced_by_an_importer_is_kept(self):
        # Like a format 1 import: the failing set is not what the runs make it.
        store_run(self.source, [("a", "fail"), ("b", "fail")])
        failing = transfer.failing_events(self.source)
        self.source.replace_failing({"b": failing["b"]}, 0)
        transfer.copy_history(self.source, self.destination)
        self.assertEqual(["b"], self.destination.failing_ids())
        self.assertEqual(self.source.failing_stream(), self.destination.failing_stream())

    def test_durations_include_imported_ones(self):
        outcome = self.store_history()
        durations = self.source.durations()
        self.assertEqual(4.5, durations["untimed"])
        self.assertEqual(durations, self.destination.durations())
        self.assertEqual(("untimed",), tuple(set(durations) - {"a", "b", "c", "d", "e"}))
        self.assertEqual((1, len(durations)), (outcome.imported_durations, outcome.durations))

    def test_slowest_of_each_run_is_the_same(self):
        outcome = self.store_history()
        for source_id, destination_id in outcome.run_ids.items():
            self.assertEqual(self.source.slowest(source_id),
                             self.destination.slowest(destination_id))

    def test_run_failures_are_the_same(self):
        outcome = self.store_history()
        for source_id, destination_id in outcome.run_ids.items():
            # Compared as events: a backend that does not index them
            # re-encodes them from the stream, tags in set order.
            self.assertEqual(parsed(self.source.get_run(source_id).failures()),
                             parsed(self.destination.get_run(destination_id).failures()))

    def test_hidden_tags_keep_the_counts_of_runs_recorded_with_filter_tags(self):
        store_run(self.source, [("a", "success", ["internal"]), ("b", "success")],
                  hidden_tags={"internal"})
        transfer.copy_history(self.source, self.destination, hidden_tags={"internal"})
        self.assertEqual((1, 1), (self.source.get_run(0).record.passed,
                                  self.destination.get_run(0).record.passed))

    def test_destination_with_runs_is_refused_and_left_alone(self):
        store_run(self.source, [("a", "success")])
        store_run(self.destination, [("z", "fail")])
        error = self.assertRaises(errors.UsageError, transfer.copy_history,
                                  self.source, self.destination)
        self.assertIn("The repository at %s already holds 1 runs" % self.destination.path,
                      error.message)
        self.assertIn("history remove all", error.message)
        self.assertEqual((1, ["z"]), (self.destination.count(), self.destination.failing_ids()))

    def test_empty_source_copies_nothing_but_its_durations(self):
        self.source.import_durations({"a": 2.0})
        outcome = transfer.copy_history(self.source, self.destination)
        self.assertEqual(({}, 0, 1), (dict(outcome.run_ids), outcome.failing,
                                      outcome.imported_durations))
        self.assertEqual((0, [], {"a": 2.0}), (self.destination.count(),
                                               self.destination.failing_ids(),
                                               self.destination.durations()))

    def test_empty_source_into_empty_destination(self):
        outcome = transfer.copy_history(self.source, self.destination)
        self.assertEqual(({}, 0, 0), (dict(outcome.run_ids), outcome.failing,
                                      outcome.durations))
        self.assertEqual(0, self.destination.count())


class TestFileToFile(TransferContract, testtools.TestCase):
    def make_source(self):
        return file_repository(self)

    def make_destination(self):
        return file_repository(self)


class TestFileToMemory(TransferContract, testtools.TestCase):
    def make_source(self):
        return file_repository(self)

    def make_destination(self):
        return MemoryRepository()


class TestMemoryToFile(TransferContract, testtools.TestCase):
    def make_source(self):
        return MemoryRepository()

    def make_destination(self):
        return file_repository(self)


def sql_repository(test, url):
    repo = initialise_repository(url)
    test.addCleanup(repo.close)
    return repo


class TestFileToSQLite(TransferContract, testtools.TestCase):
    def make_source(self):
        return file_repository(self)

    def make_destination(self):
        return sql_repository(self, sqlite_url(self))


class TestSQLiteToPostgreSQL(TransferContract, testtools.TestCase):
    def make_source(self):
        return sql_repository(self, sqlite_url(self))

    def make_destination(self):
        return sql_repository(self, postgresql_url(self))


class TestPostgreSQLToFile(TransferContract, testtools.TestCase):
    def make_source(self):
        return sql_repository(self, postgresql_url(self))

    def make_destination(self):
        return file_repository(self)


class UnreadableRunRepository(MemoryRepository):
    """A memory repository whose run ``broken`` cannot be read, as a file
    repository's would be with its stream deleted."""

    def __init__(self, broken):
        super().__init__()
        self.broken = broken

    def _get_run(self, run_id):
        if run_id == self.broken:
            raise errors.RepositoryCorrupt("run %d is unreadable" % run_id)
        return super()._get_run(run_id)


class TestFailedCopy(testtools.TestCase):
    def test_runs_already_copied_are_removed_again(self):
        source = UnreadableRunRepository(broken=1)
        store_run(source, [("a", "success")])
        store_run(source, [("b", "fail")])
        destination = file_repository(self)
        self.assertRaises(errors.RepositoryCorrupt, transfer.copy_history, source, destination)
        self.assertEqual((0, [], {}), (destination.count(), destination.failing_ids(),
                                       destination.durations()))
        # Emptied, so the copy can be tried again once the source is mended.
        source.broken = None
        outcome = transfer.copy_history(source, destination)
        self.assertEqual(2, len(outcome.run_ids))


class TestFailingEvents(testtools.TestCase):
    def test_each_failing_test_gets_its_own_stored_bytes(self):
        repo = MemoryRepository()
        store_run(repo, [("a", "fail"), ("b", "success"), ("c", "fail")])
        failing = transfer.failing_events(repo)
        self.assertEqual(["a", "c"], sorted(failing))
        self.assertEqual(repo.failing_stream(), failing["a"] + failing["c"])
        self.assertEqual([("a", "inprogress"), ("a", None), ("a", "fail")],
                         [e[:2] for e in parsed(failing["a"])])

    def test_timestamps_survive(self):
        repo = MemoryRepository()
        store_run(repo, [("a", "fail")])
        self.assertEqual(at(1), parsed(transfer.failing_events(repo)["a"])[-1][-1])
