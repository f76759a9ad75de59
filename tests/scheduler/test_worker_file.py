"""Worker files: reading (I/O, validation) and the pure assignment."""

import re

import fixtures
import testtools

from testrepo import errors
from testrepo.scheduler import worker_file
from testrepo.scheduler.worker_file import WorkerEntry

IDS = ["t.api.A.a", "t.db.D.a", "t.api.A.b", "t.db.D.b", "t.ui.U.a"]


def entry(*patterns, concurrency=1):
    return WorkerEntry(tuple(re.compile(p) for p in patterns), concurrency)


class TestAssign(testtools.TestCase):

    def test_first_matching_entry_wins_and_order_is_kept(self):
        assignment = worker_file.assign(IDS, [entry("db"), entry("A", "D")])
        self.assertEqual((("t.db.D.a", "t.db.D.b"), ("t.api.A.a", "t.api.A.b")),
                         assignment.entries)
        self.assertEqual(("t.ui.U.a",), assignment.unmatched)

    def test_union_of_entries_and_unmatched_is_the_input(self):
        assignment = worker_file.assign(IDS, [entry("api"), entry("nothing")])
        found = [t for ids in assignment.entries for t in ids] + list(assignment.unmatched)
        self.assertEqual(sorted(IDS), sorted(found))
        self.assertEqual((), assignment.entries[1])

    def test_partitions_split_an_entry_by_its_concurrency_and_drop_empty_ones(self):
        entries = [entry("api", concurrency=2), entry("nothing"), entry("db")]
        assignment = worker_file.assign(IDS, entries)
        partitions = worker_file.partition(assignment, entries, {})
        self.assertEqual([["t.api.A.a"], ["t.api.A.b"], ["t.db.D.a", "t.db.D.b"],
                          ["t.ui.U.a"]], partitions)

    def test_queue_pins_each_entry_to_its_workers(self):
        entries = [entry("api", concurrency=2), entry("db")]
        queue = worker_file.build_queue(worker_file.assign(IDS, entries), entries, {})
        self.assertEqual(4, worker_file.worker_count(entries))
        self.assertEqual(["t.ui.U.a"], queue.next_batch(3))  # the unmatched tests' worker
        taken = queue.next_batch(2) + queue.next_batch(2)
        self.assertEqual({"t.db.D.a", "t.db.D.b"}, set(taken))
        api = queue.next_batch(0) + queue.next_batch(1) + queue.next_batch(0)
        self.assertEqual({"t.api.A.a", "t.api.A.b"}, set(api))
        self.assertEqual(0, len(queue))


class TestReadWorkerFile(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.directory = self.useFixture(fixtures.TempDir()).path

    def read(self, content):
        with open(f"{self.directory}/w.yaml", "w") as handle:
            handle.write(content)
        return worker_file.read_worker_file("w.yaml", self.directory)

    def test_reads_entries_with_default_concurrency(self):
        entries = self.read("- worker: [api, cli]\n- worker: [db]\n  concurrency: 3\n")
        self.assertEqual([["api", "cli"], ["db"]],
                         [[p.pattern for p in e.patterns] for e in entries])
        self.assertEqual([1, 3], [e.concurrency for e in entries])

    def test_empty_file_is_an_error(self):
        error = self.assertRaises(errors.ConfigError, self.read, "")
        self.assertEqual("w.yaml: expected a list of '- worker: [REGEX, ...]' entries, got None",
                         str(error))

    def test_empty_regex_list_is_an_error(self):
        error = self.assertRaises(errors.ConfigError, self.read, "- worker: []\n")
        self.assertIn("entry 1: worker: expected a non-empty list", str(error))
