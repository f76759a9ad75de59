"""LeasedWork (a --queue node's work source) with a fake leaser: the
narrow ``lease(ran)`` protocol of sql_queue.BuildQueue."""

import testtools

from testrepo.errors import RepositoryError
from testrepo.scheduler.build_queue import Item
from testrepo.scheduler.leased import LeasedWork


class FlakyLeaser:
    """Fails ``failures`` leases, then hands out ``items`` one a lease."""

    def __init__(self, failures, items):
        self.failures, self.items, self.calls = failures, list(items), []

    def lease(self, ran):
        self.calls.append(list(ran))
        if self.failures:
            self.failures -= 1
            raise RepositoryError("database down")
        taken = self.items[:1]
        del self.items[:1]
        return taken, len(self.items) + len(taken)


class TestLeasedWork(testtools.TestCase):

    def make(self, failures, patience):
        self.now = 0.0
        waits = []

        def wait(seconds):
            waits.append(seconds)
            self.now += seconds

        leaser = FlakyLeaser(failures, [Item(0, ("a",), 1.0), Item(1, ("b",), 1.0)])
        work = LeasedWork(leaser, 0.5, patience=patience, wait=wait, clock=lambda: self.now)
        return work, leaser, waits

    def test_a_lease_failing_shorter_than_the_patience_is_tried_again(self):
        work, leaser, waits = self.make(failures=3, patience=2.0)
        self.assertEqual(["a"], work.next_batch(0))
        self.assertEqual(["b"], work.next_batch(0))
        self.assertEqual([0.5, 0.5, 0.5], waits)
        # What worker 0 ran is reported with the next lease that succeeds.
        self.assertEqual([[], [], [], [], [0]], leaser.calls)
        self.assertIsNone(work.failure)

    def test_a_lease_failing_for_the_patience_stops_leasing(self):
        work, leaser, waits = self.make(failures=10, patience=2.0)
        self.assertEqual([], work.next_batch(0))
        self.assertEqual("database down", str(work.failure))
        self.assertEqual(0, len(work))
        self.assertEqual(5, len(leaser.calls))
        self.assertEqual([], work.next_batch(1), "no lease is tried after that")
        self.assertEqual(5, len(leaser.calls))
