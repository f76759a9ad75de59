"""The build queue's policy (pure): items, lease sizes, node counts."""

import testtools

from testrepo.scheduler import build_queue
from testrepo.scheduler.build_queue import Item


class TestBuildQueue(testtools.TestCase):

    def test_items_untimed_first_then_longest_groups_whole(self):
        ids = ["m.A.a", "m.A.b", "m.B.c", "m.C.new", "m.D.d"]
        durations = {"m.A.a": 1.0, "m.A.b": 2.0, "m.B.c": 5.0, "m.D.d": 0.5}
        items = build_queue.plan_items(ids, durations, lambda t: t.rpartition(".")[0])
        self.assertEqual([Item(0, ("m.C.new",), 1.5, False), Item(1, ("m.B.c",), 5.0),
                          Item(2, ("m.A.a", "m.A.b"), 3.0), Item(3, ("m.D.d",), 0.5)], items)
        no_history = build_queue.plan_items(["b", "a"], {})
        self.assertEqual([("b",), ("a",)], [item.test_ids for item in no_history])

    def test_lease_sizes(self):
        self.assertEqual(build_queue.LEASE_MIN_SECONDS, build_queue.lease_target(3.0, 8))
        self.assertEqual(build_queue.LEASE_MAX_SECONDS, build_queue.lease_target(1e6, 8))
        self.assertEqual(10.0, build_queue.lease_target(160.0, 8))
        # One node alone so far (the others have yet to join): no lease
        # holds more than the build's longest item.
        self.assertEqual(28.8, build_queue.lease_target(240.0, 2, 28.8))
        self.assertEqual(1, build_queue.lease_count([(28.8, True), (19.2, True)], 28.8))
        timed = [(4.0, True)] * 5
        self.assertEqual(2, build_queue.lease_count(timed, 9.0))
        self.assertEqual(1, build_queue.lease_count([(30.0, True), (1.0, True)], 9.0))
        untimed = [(0.1, False)] * 10
        self.assertEqual(build_queue.UNTIMED_PER_LEASE, build_queue.lease_count(untimed, 9.0))

    def test_recommend_nodes(self):
        self.assertEqual(4, build_queue.recommend_nodes(240.0, 12.0, 2, 30.0))
        self.assertEqual(5, build_queue.recommend_nodes(241.0, 12.0, 2, 30.0))
        self.assertIsNone(build_queue.recommend_nodes(240.0, 40.0, 2, 30.0))
