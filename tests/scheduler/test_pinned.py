"""The single-test and pinned queues of the built-in runner."""

import testtools

from testrepo.scheduler.pinned import PinnedQueue, SingleTestQueue
from testrepo.scheduler.queue import WorkQueue


class TestSingleTestQueue(testtools.TestCase):

    def test_one_test_per_batch_in_order(self):
        queue = SingleTestQueue(["a", "b", "c"])
        self.assertEqual([["a"], ["b"], ["c"], []], [queue.next_batch(0) for _ in range(4)])

    def test_put_back_goes_first(self):
        queue = SingleTestQueue(["a", "b", "c"])
        queue.next_batch(0), queue.next_batch(0)
        queue.put_back(["a", "b"])
        self.assertEqual(["a"], queue.next_batch(1))
        self.assertEqual(2, len(queue))


class TestPinnedQueue(testtools.TestCase):

    def test_a_worker_only_gets_its_own_tests(self):
        first, second = WorkQueue.build(["a1", "a2"], 1, {}), WorkQueue.build(["b1"], 1, {})
        queue = PinnedQueue([first, second])
        self.assertEqual(["b1"], queue.next_batch(1))
        self.assertEqual([], queue.next_batch(1))
        self.assertEqual(2, len(queue))

    def test_put_back_returns_tests_to_their_own_queue(self):
        first, second = WorkQueue.build(["a1"], 1, {}), WorkQueue.build(["b1"], 1, {})
        queue = PinnedQueue([first, second])
        lost = queue.next_batch(0)
        queue.put_back(lost)
        self.assertEqual(["b1"], queue.next_batch(1))
        self.assertEqual(["a1"], queue.next_batch(0))

    def test_without_a_worker_any_queue_is_drained(self):
        queue = PinnedQueue([WorkQueue.build([], 1, {}), WorkQueue.build(["b1"], 1, {})])
        self.assertEqual(["b1"], queue.next_batch())
