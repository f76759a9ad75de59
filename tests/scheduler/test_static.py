"""Tests for testrepo.scheduler.static: data in, partitions out."""

import collections
import random
import re

from hypothesis import given, settings, strategies as st
from testtools import TestCase

from testrepo.scheduler import group_function, partition, shuffle_within
from testrepo.scheduler.static import module_of

BY_CLASS = group_function(None, parallel_class=True)


def estimated_loads(partitions, durations):
    return [sum(durations[t] for t in tests) for tests in partitions]


class PartitionInvariants:
    """Assertions every partitioning must satisfy."""

    def assertValidPartition(self, partitions, test_ids, concurrency, group_of=None):
        self.assertEqual(concurrency, len(partitions))
        flat = [t for tests in partitions for t in tests]
        self.assertEqual(collections.Counter(test_ids), collections.Counter(flat))
        owners = {}
        for worker, tests in enumerate(partitions):
            for test_id in tests:
                key = (group_of(test_id) if group_of else None) or test_id
                # Same key on two workers: a split group or a non-disjoint id.
                self.assertEqual(worker, owners.setdefault(key, worker), test_id)
        for tests in partitions:
            # Original order: each partition is a subsequence of test_ids
            # (``in`` on an iterator consumes it up to the match).
            remaining = iter(test_ids)
            self.assertTrue(all(t in remaining for t in tests), tests)


class TestGroupFunction(TestCase):

    def test_neither_option_means_no_grouping(self):
        self.assertIsNone(group_function(None))

    def test_parallel_class_groups_by_class(self):
        self.assertEqual("pkg.test_a.TestA", BY_CLASS("pkg.test_a.TestA.test_x"))

    def test_parallel_class_ignores_tags_containing_dots(self):
        self.assertEqual(
            "pkg.test_a.TestA", BY_CLASS("pkg.test_a.TestA.test_x[id-1.5,smoke]")
        )

    def test_parallel_class_groups_pytest_node_ids_by_parent(self):
        self.assertEqual("t/test_a.py::TestA", BY_CLASS("t/test_a.py::TestA::test_x[1.5::a]"))
        self.assertEqual("t/test_a.py", BY_CLASS("t/test_a.py::test_f"))

    def test_parallel_class_leaves_dotless_ids_ungrouped(self):
        self.assertIsNone(BY_CLASS("test_x"))

    def test_parallel_class_wins_over_group_regex(self):
        group_of = group_function(re.compile(r"^[^.]+"), parallel_class=True)
        self.assertEqual("pkg.mod.T", group_of("pkg.mod.T.test_x"))

    def test_group_regex_match_is_the_group(self):
        group_of = group_function(re.compile(r"^[^.]+\.[^.]+"))
        self.assertEqual("pkg.mod", group_of("pkg.mod.T.test_x"))

    def test_group_regex_matches_at_the_start_only(self):
        group_of = group_function(re.compile(r"mod"))
        self.assertIsNone(group_of("pkg.mod.T.test_x"))


class TestModuleOf(TestCase):

    def test_the_module_is_what_comes_before_the_class(self):
        self.assertEqual("pkg.test_a", module_of("pkg.test_a.TestA.test_x"))

    def test_scenarios_and_tags_may_hold_dots(self):
        self.assertEqual("pkg.test_a", module_of("pkg.test_a.TestA.test_x(v1.2)"))
        self.assertEqual("pkg.test_a", module_of("pkg.test_a.TestA.test_x[id-1.5,smoke]"))

    def test_pytest_node_ids_and_dotless_ids(self):
        self.assertEqual("t/test_a.py", module_of("t/test_a.py::TestA::test_x[1.5]"))
        self.assertEqual("README_rst", module_of("README_rst"))


class TestPartition(PartitionInvariants, TestCase):

    TEST_IDS = [
        "pkg.test_a.TestA.test_1", "pkg.test_a.TestA.test_2",
        "pkg.test_a.TestB.test_1", "pkg.test_b.TestC.test_1",
        "pkg.test_b.TestC.test_2", "pkg.test_b.TestC.test_3",
        "pkg.test_c.TestD.test_1", "pkg.test_c.TestE.test_1",
    ]

    def test_invariants_hold_with_class_groups(self):
        durations = {"pkg.test_a.TestA.test_1": 3.0, "pkg.test_b.TestC.test_2": 0.5}
        partitions = partition(self.TEST_IDS, 3, durations, BY_CLASS)
        self.assertValidPartition(partitions, self.TEST_IDS, 3, BY_CLASS)

    def test_same_input_gives_same_partitions(self):
        durations = {"pkg.test_a.TestA.test_1": 3.0}
        first = partition(self.TEST_IDS, 3, durations, BY_CLASS)
        reordered_durations = dict(reversed(list(durations.items())))
        self.assertEqual(first, partition(self.TEST_IDS, 3, reordered_durations, BY_CLASS))

    def test_more_workers_than_groups_leaves_some_empty(self):
        partitions = partition(["a.T.test_1", "a.T.test_2"], 4, {}, BY_CLASS)
        self.assertEqual([["a.T.test_1", "a.T.test_2"], [], [], []], partitions)

    def test_no_tests_gives_empty_partitions(self):
        self.assertEqual([[], []], partition([], 2, {}))

    def test_duplicate_ids_are_kept(self):
        test_ids = ["a.T.test_1", "a.T.test_1", "a.T.test_2"]
        partitions = partition(test_ids, 2, {})
        self.assertValidPartition(partitions, test_ids, 2)

    def test_concurrency_below_one_is_a_programming_error(self):
        self.assertRaises(ValueError, partition, ["a.T.test_1"], 0, {})

    def test_longest_first_balances_known_durations(self):
        durations = {f"t.T.test_{d}": float(d) for d in range(1, 8)}
        partitions = partition(sorted(durations), 3, durations)
        loads = estimated_loads(partitions, durations)
        # 28s over 3 workers: 10s is optimal, and what LPT finds here.
        self.assertEqual([9.0, 9.0, 10.0], sorted(loads))

    def test_makespan_is_within_the_greedy_bound(self):
        rng = random.Random(42)
        durations = {f"t.T.test_{i:02}": rng.uniform(0.1, 20) for i in range(40)}
        for concurrency in (2, 3, 5, 8):
            loads = estimated_loads(partition(list(durations), concurrency, durations), durations)
            # Any greedy list schedule: makespan <= mean + (1 - 1/m) * longest.
            bound = sum(durations.values()) / concurrency + (
                1 - 1 / concurrency) * max(durations.values())
            self.assertLessEqual(max(loads), bound + 1e-9)

    def test_untimed_tests_fill_the_lighter_workers(self):
        # stestr deals untimed tests round-robin from worker 0 regardless of
        # the 30s already there; they belong on the idle workers.
        durations = {"t.T.test_heavy": 30.0, "t.T.test_a": 1.0, "t.T.test_b": 1.0}
        untimed = [f"t.U.test_{i}" for i in range(6)]
        partitions = partition(list(durations) + untimed, 3, durations)
        self.assertEqual(["t.T.test_heavy"], partitions[0])
        counts = [len(set(untimed) & set(tests)) for tests in partitions]
        self.assertEqual([0, 3, 3], counts)

    def test_without_any_durations_balances_by_count(self):
        test_ids = [f"t.T.test_{i}" for i in range(10)]
        partitions = partition(test_ids, 3, {})
        self.assertEqual([3, 3, 4], sorted(len(tests) for tests in partitions))

    def test_unknown_tests_are_estimated_with_the_median(self):
        # Known 12, 3, 3: the median (3) makes the four untimed tests fill
        # worker 1 to 15s, level with worker 0.  A mean (6) or a flat 1.0
        # would give other splits.
        durations = {"t.T.test_h": 12.0, "t.T.test_m1": 3.0, "t.T.test_m2": 3.0}
        untimed = [f"t.U.test_u{i}" for i in range(1, 5)]
        partitions = partition(list(durations) + untimed, 2, durations)
        self.assertEqual(["t.T.test_h", "t.U.test_u3"], partitions[0])
        estimates = dict(durations, **{t: 3.0 for t in untimed})
        self.assertEqual([15.0, 15.0], estimated_loads(partitions, estimates))

    def test_durations_recorded_without_tags_are_found(self):
        durations = {"t.T.test_slow": 10.0, "t.T.test_a": 1.0, "t.T.test_b": 1.0}
        test_ids = ["t.T.test_a", "t.T.test_slow[smoke]", "t.T.test_b"]
        partitions = partition(test_ids, 2, durations)
        self.assertEqual([["t.T.test_slow[smoke]"], ["t.T.test_a", "t.T.test_b"]], partitions)

    def test_exact_id_duration_wins_over_the_untagged_one(self):
        durations = {"t.T.test_x[a]": 10.0, "t.T.test_x": 0.0, "t.T.test_y": 1.0,
                     "t.T.test_z": 1.0}
        partitions = partition(["t.T.test_y", "t.T.test_x[a]", "t.T.test_z"], 2, durations)
        self.assertEqual([["t.T.test_x[a]"], ["t.T.test_y", "t.T.test_z"]], partitions)

    def test_group_estimate_is_the_sum_of_its_members(self):
        durations = {"a.T.test_1": 4.0, "a.T.test_2": 4.0, "b.U.test_1": 6.0,
                     "c.V.test_1": 1.0}
        partitions = partition(list(durations), 2, durations, BY_CLASS)
        self.assertEqual([["a.T.test_1", "a.T.test_2"], ["b.U.test_1", "c.V.test_1"]],
                         partitions)

    def test_tests_keep_listing_order_within_a_partition(self):
        test_ids = ["z.T.test_1", "a.T.test_9", "m.T.test_5", "a.T.test_1"]
        self.assertEqual([test_ids], partition(test_ids, 1, {"a.T.test_1": 5.0}))


TEST_IDS = st.lists(
    st.builds(
        "{}.T{}.test_{}{}".format,
        st.sampled_from(["a", "b", "c"]),
        st.integers(0, 3),
        st.integers(0, 5),
        st.sampled_from(["", "[smoke]", "[id-1.5]"]),
    ),
    max_size=40,
)


class TestPartitionProperties(PartitionInvariants, TestCase):

    @settings(max_examples=200, deadline=None)
    @given(
        test_ids=TEST_IDS,
        concurrency=st.integers(1, 6),
        timed=st.data(),
        by_class=st.booleans(),
    )
    def test_invariants(self, test_ids, concurrency, timed, by_class):
        durations = timed.draw(st.dictionaries(
            st.sampled_from(test_ids) if test_ids else st.nothing(),
            st.floats(0, 100, allow_nan=False)))
        group_of = BY_CLASS if by_class else None
        partitions = partition(test_ids, concurrency, durations, group_of)
        self.assertValidPartition(partitions, test_ids, concurrency, group_of)
        self.assertEqual(partitions, partition(test_ids, concurrency, durations, group_of))


class TestShuffleWithin(TestCase):

    PARTITIONS = [
        ["a.T.test_1", "a.T.test_2", "a.T.test_3", "b.U.test_1", "b.U.test_2",
         "c.V.test_1"],
        ["d.W.test_1", "d.W.test_2", "e.X.test_1"],
        [],
    ]

    def shuffled(self, seed):
        return shuffle_within(self.PARTITIONS, random.Random(seed), BY_CLASS)

    def test_each_partition_keeps_its_tests(self):
        for seed in range(20):
            result = self.shuffled(seed)
            self.assertEqual([sorted(p) for p in self.PARTITIONS], [sorted(p) for p in result])

    def test_groups_stay_contiguous(self):
        for seed in range(20):
            for tests in self.shuffled(seed):
                blocks = [BY_CLASS(t) for t in tests]
                # Collapsing runs of the same class leaves no class twice.
                runs = [k for i, k in enumerate(blocks) if i == 0 or blocks[i - 1] != k]
                self.assertEqual(len(set(runs)), len(runs), tests)

    def test_some_seed_changes_group_and_member_order(self):
        results = [self.shuffled(seed)[0] for seed in range(20)]
        self.assertTrue(any(r[0].startswith(("b.", "c.")) for r in results))
        self.assertTrue(any(r[:3] != self.PARTITIONS[0][:3] and r[0].startswith("a.")
                            for r in results))

    def test_same_seed_gives_same_order(self):
        self.assertEqual(self.shuffled(7), self.shuffled(7))

    def test_without_groups_every_order_is_reachable(self):
        tests = ["a.T.test_1", "b.U.test_1", "a.T.test_2"]
        results = {tuple(shuffle_within([tests], random.Random(seed))[0])
                   for seed in range(100)}
        self.assertEqual(6, len(results))

    def test_input_is_not_modified(self):
        before = [list(p) for p in self.PARTITIONS]
        self.shuffled(3)
        self.assertEqual(before, self.PARTITIONS)
