"""The dynamic work queue: every id handed out once, groups whole, batches
shrinking, plans balanced longest-first but run in listing order, stealing,
and a seed that fixes the order."""

import random

import testtools
from hypothesis import given, settings, strategies as st

from testrepo.scheduler import group_function
from testrepo.scheduler.queue import WorkQueue


def drain(queue):
    """Batches handed out without naming a worker (the earliest units)."""
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
        sizes = [len(queue.next_batch(0)) for _ in range(7)]
        self.assertEqual([1, 2, 4, 8, 16, 32, 64], sizes)

    def test_plans_are_balanced_longest_first_and_run_in_listing_order(self):
        durations = {"m.a": 1.0, "m.b": 9.0, "m.c": 3.0, "m.d": 4.0}
        queue = WorkQueue.build(["m.a", "m.b", "m.c", "m.d"], 2, durations)
        # LPT: m.b (9) alone; m.d, m.c, m.a (8) on the other worker, in listing order.
        self.assertEqual(["m.b"], queue.next_batch(0))
        self.assertEqual(["m.a"], queue.next_batch(1))
        self.assertEqual(["m.c"], queue.next_batch(1))
        self.assertEqual(["m.d"], queue.next_batch(1))

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


class FakeClock:
    """Seconds that move only when a test says so."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def simulate(queue, durations, workers, clock, order=None, processes=None):
    """Run ``queue`` on ``workers`` simulated workers, each taking its
    next batch when it has finished the last one (tests take their
    ``durations``, 1 ms if unknown); ``order`` breaks ties between workers
    that are free at the same moment.  Returns each worker's sequence;
    ``processes`` (a list) gets each worker process's sequence, a fresh
    process starting wherever the queue says it ``starts_over``."""
    free_at = [(0.0, order[w] if order else w, w) for w in range(workers)]
    sequences = [[] for _ in range(workers)]
    current = [None] * workers
    while free_at:
        free_at.sort()
        now, tie, worker = free_at.pop(0)
        clock.now = max(clock.now, now)
        batch = queue.next_batch(worker)
        if not batch:
            continue  # this worker stops, as the pool's would
        for test_id in batch:
            seconds = durations.get(test_id, 0.001)
            queue.observe(seconds)
            now += seconds
        sequences[worker].extend(batch)
        if current[worker] is None or queue.starts_over(worker):
            current[worker] = []
            if processes is not None:
                processes.append(current[worker])
        current[worker].extend(batch)
        free_at.append((now, tie, worker))
    return sequences


def rises(sequence, test_ids):
    positions = [test_ids.index(test_id) for test_id in sequence]
    return positions == sorted(positions)


IDS = [f"p.m{m}.C{c}.t{t}" for m in range(3) for c in range(3) for t in range(4)]


class TestOrdering(testtools.TestCase):

    def test_each_worker_runs_listing_order_with_history(self):
        # Longest-first would start with the slow test of the last module.
        test_ids = [f"m{m}.T.t{t}" for m in range(4) for t in range(10)]
        durations = dict.fromkeys(test_ids, 0.01)
        durations["m3.T.t9"] = 0.2
        clock = FakeClock()
        queue = WorkQueue.build(test_ids, 2, durations, clock=clock)
        sequences = simulate(queue, durations, 2, clock)
        self.assertEqual(sorted(test_ids), sorted(sum(sequences, [])))
        for sequence in sequences:
            self.assertTrue(rises(sequence, test_ids), sequence)
        # The slow test got a worker nearly to itself: balance is kept.
        self.assertIn(len(sequences[0]) + len(sequences[1]), [40])
        self.assertGreater(abs(len(sequences[0]) - len(sequences[1])), 15)

    def test_a_worker_left_behind_has_the_back_of_its_plan_stolen(self):
        # The history says 1 s a test; worker 1 hangs in its first batch.
        test_ids = [f"m.T.t{n:02d}" for n in range(40)]
        clock = FakeClock()
        queue = WorkQueue.build(test_ids, 2, dict.fromkeys(test_ids, 1.0), clock=clock)
        stuck = queue.next_batch(1)
        processes = [[]]
        while batch := queue.next_batch(0):
            if queue.starts_over(0):
                processes.append([])
            processes[-1].extend(batch)
            clock.now += 1.0 * len(batch)
        taken = sum(processes, [])
        # Worker 0 took over nearly all of worker 1's plan (what is left is
        # not worth a fresh process); stepping back in the listing took a
        # fresh process, and each process ran its tests in listing order.
        self.assertGreaterEqual(len(taken), 36)
        self.assertGreater(len(processes), 1)
        for sequence in processes:
            self.assertTrue(rises(sequence, test_ids), sequence)
        self.assertFalse(queue.starts_over(0))  # said once per step back
        rest = sum(iter(lambda: queue.next_batch(1), []), [])
        self.assertEqual(sorted(test_ids), sorted(stuck + taken + rest))

    def test_the_shared_tail_absorbs_durations_that_changed(self):
        # The history says 1 s a test; this run, worker 0's tests take
        # 1.1 s and worker 1's 0.9 s (a loaded machine, say).  Planned
        # without a tail, worker 1 would run dry 4 s early with all that is
        # left listed before its last test: a step back and a fresh
        # process.  The shared tail lets it go on forward instead.
        test_ids = [f"m.T.t{n:02d}" for n in range(40)]
        clock = FakeClock()
        queue = WorkQueue.build(test_ids, 2, dict.fromkeys(test_ids, 1.0), clock=clock)
        real = {t: 1.1 if n % 2 == 0 else 0.9 for n, t in enumerate(test_ids)}
        processes = []
        sequences = simulate(queue, real, 2, clock, processes=processes)
        self.assertEqual(sorted(test_ids), sorted(sum(sequences, [])))
        self.assertEqual(2, len(processes))  # no worker started over
        for sequence in sequences:
            self.assertTrue(rises(sequence, test_ids), sequence)
        finished = [sum(real[t] for t in sequence) for sequence in sequences]
        self.assertLess(abs(finished[0] - finished[1]), 2.0, finished)

    def test_no_seam_for_a_gain_below_the_threshold(self):
        # Worker 0 finishes its plan first; what worker 1 has left is
        # listed before worker 0's last test and too small to be worth a
        # step back in the listing.
        # (One module each: a small module would be planned whole.)
        test_ids = ["a.T.x", "b.T.x", "c.T.x", "d.T.x"]
        durations = {"a.T.x": 0.002, "b.T.x": 0.002, "c.T.x": 0.002, "d.T.x": 0.006}
        clock = FakeClock()
        queue = WorkQueue.build(test_ids, 2, durations, clock=clock)
        self.assertEqual(["d.T.x"], queue.next_batch(0))    # plan 0: d
        self.assertEqual(["a.T.x"], queue.next_batch(1))    # plan 1: a b c
        clock.now = 0.006
        self.assertEqual([], queue.next_batch(0))
        self.assertEqual(["b.T.x"], queue.next_batch(1))
        self.assertEqual(["c.T.x"], queue.next_batch(1))

    def test_put_back_goes_to_the_front_of_its_workers_plan(self):
        test_ids = [f"m.T.t{n}" for n in range(8)]
        queue = WorkQueue.build(test_ids, 2, dict.fromkeys(test_ids, 1.0))
        lost = queue.next_batch(1)
        queue.put_back(lost)
        self.assertEqual(lost, queue.next_batch(1)[:len(lost)])

    def test_put_back_of_a_worker_that_is_not_replaced_is_taken_over(self):
        test_ids = [f"m.T.t{n}" for n in range(8)]
        queue = WorkQueue.build(test_ids, 2, dict.fromkeys(test_ids, 1.0))
        lost = queue.next_batch(1)
        queue.put_back(lost)
        handed = []
        while batch := queue.next_batch(0):
            handed.extend(batch)
        self.assertEqual(sorted(test_ids), sorted(handed))

    def test_workers_share_one_listing_order_queue_without_history(self):
        test_ids = [f"m.T.t{n}" for n in range(6)]
        queue = WorkQueue.build(test_ids, 2, {})
        self.assertEqual(["m.T.t0"], queue.next_batch(0))
        self.assertEqual(["m.T.t1", "m.T.t2"], queue.next_batch(1))

    # fixtures' test_logger: LogHandlerTest's first test passes only after
    # a FakeLoggerTest test (listed before it) left the root logger at INFO.
    MODULES = ([f"a.T.t{n}" for n in range(6)] + [f"log.F.t{n}" for n in range(10)]
               + [f"log.L.t{n}" for n in range(4)] + [f"b.T.t{n:02d}" for n in range(20)])

    def assertModuleRunsWhole(self, sequences, prefix):
        holders = [s for s in sequences if any(t.startswith(prefix) for t in s)]
        self.assertEqual(1, len(holders), sequences)
        positions = [n for n, t in enumerate(holders[0]) if t.startswith(prefix)]
        self.assertEqual(list(range(positions[0], positions[-1] + 1)), positions)

    def test_a_module_runs_whole_in_one_worker_without_history(self):
        # Batches of 1, 2, 4, 8 tests would cut log at both ends.
        clock = FakeClock()
        queue = WorkQueue.build(self.MODULES, 2, {}, clock=clock)
        sequences = simulate(queue, {}, 2, clock)
        self.assertEqual(sorted(self.MODULES), sorted(sum(sequences, [])))
        self.assertModuleRunsWhole(sequences, "log.")
        self.assertTrue(all(sequences), sequences)

    def test_a_module_runs_whole_in_one_worker_with_history(self):
        # Longest first, one test at a time, would deal log's tests out to
        # both workers.
        durations = dict.fromkeys(self.MODULES, 0.001)
        durations.update(dict.fromkeys(self.MODULES[:6], 0.1))
        durations["b.T.t19"] = 0.6
        clock = FakeClock()
        queue = WorkQueue.build(self.MODULES, 2, durations, clock=clock)
        sequences = simulate(queue, durations, 2, clock)
        self.assertEqual(sorted(self.MODULES), sorted(sum(sequences, [])))
        self.assertModuleRunsWhole(sequences, "log.")
        finished = [sum(durations[t] for t in sequence) for sequence in sequences]
        self.assertLess(abs(finished[0] - finished[1]), 0.1, finished)

    def test_a_module_larger_than_the_batches_is_still_shared(self):
        test_ids = [f"m.T{n // 50}.t{n:03d}" for n in range(400)]
        for durations in ({}, dict.fromkeys(test_ids, 0.01)):
            clock = FakeClock()
            queue = WorkQueue.build(test_ids, 2, durations, clock=clock)
            sequences = simulate(queue, dict.fromkeys(test_ids, 0.01), 2, clock)
            self.assertLess(abs(len(sequences[0]) - len(sequences[1])), 10,
                            [len(s) for s in sequences])

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.sampled_from(IDS), unique=True, min_size=1),
           st.integers(1, 4),
           st.dictionaries(st.sampled_from(IDS), st.floats(0, 3)),
           st.booleans(), st.one_of(st.none(), st.integers(0, 2 ** 32)),
           st.permutations(range(4)), st.lists(st.floats(0.5, 2.0), min_size=4, max_size=4))
    def test_simulated_runs(self, listed, workers, durations, grouped, seed, order, speed):
        """Every id once, groups whole and contiguous in a batch, each batch
        in reference order; whatever the workers' real speeds."""
        test_ids = [t for t in IDS if t in listed]
        group_of = group_function(None, parallel_class=True) if grouped else None
        rng = random.Random(seed) if seed is not None else None
        clock = FakeClock()
        queue = WorkQueue.build(test_ids, workers, durations, group_of, rng, clock=clock)
        real = {t: durations.get(t, 0.01) * speed[n % 4] for n, t in enumerate(test_ids)}
        processes = []
        sequences = simulate(queue, real, workers, clock, order, processes)
        handed = sum(sequences, [])
        self.assertEqual(sorted(test_ids), sorted(handed))
        if rng is None:  # every worker process runs in listing order
            for sequence in processes:
                self.assertTrue(rises(sequence, test_ids), sequence)
        if grouped:
            where = {}
            for worker, sequence in enumerate(sequences):
                for test_id in sequence:
                    where.setdefault(group_of(test_id), set()).add(worker)
            self.assertTrue(all(len(found) == 1 for found in where.values()), where)

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.sampled_from(IDS), unique=True, min_size=1), st.integers(1, 4),
           st.lists(st.floats(0, 0.004), min_size=len(IDS), max_size=len(IDS)),
           st.permutations(range(4)), st.booleans())
    def test_listing_order_per_worker_when_no_step_back_is_worth_it(
            self, listed, workers, seconds, order, history):
        """A worker only goes back in the listing to gain at least
        SEAM_MIN_SECONDS: on a suite shorter than that (or without
        history), every worker's sequence rises."""
        test_ids = [t for t in IDS if t in listed]
        durations = dict(zip(IDS, seconds))
        clock = FakeClock()
        queue = WorkQueue.build(test_ids, workers, durations if history else {}, clock=clock)
        for sequence in simulate(queue, durations, workers, clock, order):
            self.assertTrue(rises(sequence, test_ids), sequence)

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.sampled_from(IDS), unique=True, min_size=2),
           st.integers(1, 4), st.dictionaries(st.sampled_from(IDS), st.floats(0, 3)),
           st.integers(0, 2 ** 32))
    def test_a_seed_fixes_every_workers_order(self, listed, workers, durations, seed):
        """With --random each worker's sequence follows one shuffled order
        that depends on the seed alone; the plans on the seed and history."""
        test_ids = [t for t in IDS if t in listed]

        def run():
            clock = FakeClock()
            queue = WorkQueue.build(test_ids, workers, durations, rng=random.Random(seed),
                                    clock=clock)
            return simulate(queue, durations, workers, clock)

        first = run()
        self.assertEqual(first, run())
        # One worker, no history: the seed's order itself.
        shuffled = _drain_ids(WorkQueue.build(test_ids, 1, {}, rng=random.Random(seed)))
        self.assertEqual(sorted(test_ids), sorted(shuffled))
        if not durations:
            for sequence in first:
                positions = [shuffled.index(t) for t in sequence]
                self.assertEqual(sorted(positions), positions)


def _drain_ids(queue):
    return [t for batch in drain(queue) for t in batch]
