"""The dynamic work queue: every id handed out once, groups whole, batches
shrinking, longest first, and a seed that fixes the order."""

import random

import testtools
from hypothesis import given, settings, strategies as st

from testrepo.scheduler import group_function
from testrepo.scheduler.queue import WorkQueue


def drain(queue):
    batches = []
    while True:
        batch = queue.next_batch()
        if not batch:
            return batches
        batches.append(batch)


class TestWorkQueue(testtools.TestCase):

    def test_every_id_exactly_once(self):
        test_ids = [f"m.T{n % 7}.test_{n}" for n in range(500)]
        batches = drain(WorkQueue.build(test_ids, 2, {}))
        handed = [test_id for batch in batches for test_id in batch]
        self.assertEqual(sorted(test_ids), sorted(handed))

    def test_batches_shrink_to_single_tests(self):
        queue = WorkQueue.build([f"t{n:05d}" for n in range(20000)], 2, {})
        self.assertEqual(1, len(queue.next_batch()))  # nothing known yet
        queue.observe(0.00003)
        sizes = [len(batch) for batch in drain(queue)]
        biggest = sizes.index(max(sizes))
        self.assertGreater(max(sizes), 3000)
        # A slow start up to the biggest batch, then shrinking to one test.
        self.assertEqual(sorted(sizes[:biggest]), sizes[:biggest])
        self.assertEqual(sorted(sizes[biggest:], reverse=True), sizes[biggest:])
        self.assertEqual(1, sizes[-1])
        self.assertLess(len(sizes), 60)

    def test_an_early_fast_estimate_cannot_hand_out_a_flood(self):
        queue = WorkQueue.build([f"t{n}" for n in range(1000)], 2, {})
        queue.next_batch()
        queue.observe(0.00001)  # the first test was trivial; the rest may not be
        self.assertLessEqual(len(queue.next_batch()), 2)

    def test_slow_tests_travel_alone(self):
        queue = WorkQueue.build([f"t{n}" for n in range(100)], 2, {})
        queue.next_batch()
        queue.observe(1.0)
        self.assertEqual(1, len(queue.next_batch()))

    def test_batches_start_small_even_with_history(self):
        test_ids = [f"t{n:03d}" for n in range(400)]
        queue = WorkQueue.build(test_ids, 2, dict.fromkeys(test_ids, 0.001))
        sizes = [len(batch) for batch in drain(queue)]
        self.assertEqual([1, 2, 4, 8, 16, 32, 64], sizes[:7])

    def test_longest_first_with_history(self):
        durations = {"m.a": 1.0, "m.b": 9.0, "m.c": 3.0}
        batches = drain(WorkQueue.build(["m.a", "m.b", "m.c"], 2, durations))
        self.assertEqual(["m.b"], batches[0])

    def test_listing_order_without_history(self):
        test_ids = ["m.c", "m.a", "m.b"]
        handed = [t for batch in drain(WorkQueue.build(test_ids, 1, {})) for t in batch]
        self.assertEqual(test_ids, handed)

    def test_groups_stay_whole_and_together(self):
        test_ids = [f"m.T{n % 5}.test_{n}" for n in range(100)]
        group_of = group_function(None, parallel_class=True)
        for batch in drain(WorkQueue.build(test_ids, 2, {}, group_of)):
            classes = {test_id.rsplit(".", 1)[0] for test_id in batch}
            for name in classes:
                members = [t for t in test_ids if t.startswith(name + ".")]
                self.assertTrue(set(members) <= set(batch), name)

    def test_seed_fixes_the_order_and_changes_it(self):
        test_ids = [f"m.T.test_{n}" for n in range(50)]

        def order(seed, durations):
            queue = WorkQueue.build(test_ids, 2, durations, rng=random.Random(seed))
            return [t for batch in drain(queue) for t in batch]

        first = order(3, {})
        # Durations change batch sizes, never the order for a seed.
        self.assertEqual(first, order(3, {t: 0.5 for t in test_ids[:10]}))
        self.assertNotEqual(first, test_ids)
        self.assertNotEqual(first, order(4, {}))

    def test_put_back_goes_first(self):
        queue = WorkQueue.build([f"t{n}" for n in range(40)], 2, {})
        queue.next_batch()
        queue.put_back(["x", "y"])
        self.assertEqual(["x", "y"], queue.next_batch()[-2:])

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.sampled_from([f"p.C{c}.t{t}" for c in range(4) for t in range(6)]),
                    unique=True),
           st.integers(1, 4),
           st.dictionaries(st.sampled_from([f"p.C{c}.t{t}" for c in range(4) for t in range(6)]),
                           st.floats(0, 10)))
    def test_invariants(self, test_ids, workers, durations):
        group_of = group_function(None, parallel_class=True)
        batches = drain(WorkQueue.build(test_ids, workers, durations, group_of))
        handed = [t for batch in batches for t in batch]
        self.assertEqual(sorted(test_ids), sorted(handed))
        owner = {}
        for index, batch in enumerate(batches):
            for test_id in batch:
                owner.setdefault(group_of(test_id), set()).add(index)
        self.assertTrue(all(len(found) == 1 for found in owner.values()))


class TestOrdering(testtools.TestCase):

    def test_short_tests_keep_listing_order_after_the_long_ones(self):
        test_ids = ["m.A.t1", "m.A.t2", "m.B.slow", "m.B.t3", "m.C.mid"]
        durations = {"m.A.t1": 0.001, "m.A.t2": 0.002, "m.B.slow": 5.0, "m.B.t3": 0.001,
                     "m.C.mid": 0.5}
        queue = WorkQueue.build(test_ids, 1, durations)
        handed = [t for batch in drain(queue) for t in batch]
        self.assertEqual(["m.B.slow", "m.C.mid"], handed[:2])
        self.assertEqual(["m.A.t1", "m.A.t2", "m.B.t3"], sorted(handed[2:]))
