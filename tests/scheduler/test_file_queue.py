"""The pytest workers' queue: every id handed out once, groups whole, a
file's tests on one worker unless the file is long or the run ends,
plans balanced longest-first between files and evened out with a
file's end, stealing from the back."""

import random

import testtools
from hypothesis import given, settings, strategies as st

from testrepo.scheduler import group_function
from testrepo.scheduler.file_queue import FileQueue, file_of


def drain(queue):
    batches = []
    while batch := queue.next_batch():
        batches.append(batch)
    return batches


def simulate(queue, durations, workers):
    """Run ``queue`` on simulated workers, each asking for its next batch
    when it has run the last (tests take their ``durations``, 1 ms if
    unknown); a worker that gets nothing stops.  Returns each worker's
    sequence and the makespan."""
    free_at = [(0.0, w) for w in range(workers)]
    sequences = [[] for _ in range(workers)]
    end = 0.0
    while free_at:
        free_at.sort()
        now, worker = free_at.pop(0)
        batch = queue.next_batch(worker)
        if not batch:
            continue
        for test_id in batch:
            seconds = durations.get(test_id, 0.001)
            queue.observe(seconds)
            now += seconds
        sequences[worker].extend(batch)
        end = max(end, now)
        free_at.append((now, worker))
    return sequences, end


def files_of(sequence):
    return {file_of(test_id) for test_id in sequence}


def suite(files, tests_per_file):
    return [f"tests/test_{f:03d}.py::test_{t:03d}" for f in range(files)
            for t in range(tests_per_file)]


class TestFileQueue(testtools.TestCase):

    def test_without_history_each_file_goes_to_one_worker(self):
        test_ids = suite(20, 10)
        sequences, _ = simulate(FileQueue.build(test_ids, 2, {}), {}, 2)
        self.assertEqual(sorted(test_ids), sorted(sum(sequences, [])))
        shared = files_of(sequences[0]) & files_of(sequences[1])
        # Only the file running when the shared queue ran dry is split.
        self.assertLessEqual(len(shared), 1, shared)
        for sequence in sequences:
            self.assertEqual(sorted(sequence), sequence)  # files in listing order

    def test_with_history_files_are_planned_longest_first(self):
        test_ids = suite(6, 5)
        durations = dict.fromkeys(test_ids, 0.1)
        for test_id in suite(1, 5):  # test_000.py: 2.5 s, as long as the others together
            durations[test_id] = 0.5
        queue = FileQueue.build(test_ids, 2, durations)
        sequences, end = simulate(queue, durations, 2)
        self.assertEqual({"tests/test_000.py"}, files_of(sequences[0]))
        self.assertEqual(5, len(files_of(sequences[1])))
        self.assertAlmostEqual(2.5, end)
        self.assertEqual(sorted(sequences[1]), sequences[1])

    def test_a_file_longer_than_a_plan_is_cut_into_consecutive_pieces(self):
        test_ids = suite(1, 40) + suite(5, 4)[4:]
        durations = dict.fromkeys(test_ids, 0.1)
        sequences, end = simulate(FileQueue.build(test_ids, 2, durations), durations, 2)
        long_file = [t for t in test_ids if t.startswith("tests/test_000.py")]
        runs = []
        for sequence in sequences:
            mine = [test_ids.index(t) for t in sequence if t in long_file]
            self.assertEqual(list(range(mine[0], mine[0] + len(mine))), mine)
            runs.append(mine)
        self.assertEqual(list(range(40)), sorted(sum(runs, [])))
        # The long file, and at most one file of a steal at the very end.
        self.assertLessEqual(len(files_of(sequences[0]) & files_of(sequences[1])), 2)
        self.assertLessEqual(end, 2.8 + 1e-9)  # the lower bound: 5.6 s / 2

    def test_a_worker_that_ran_dry_takes_the_back_of_the_fullest_plan(self):
        test_ids = suite(2, 20)
        # The history is wrong: test_001.py's tests take 10 x their record.
        durations = dict.fromkeys(test_ids, 0.1)
        actual = {t: (1.0 if "test_001" in t else 0.1) for t in test_ids}
        queue = FileQueue.build(test_ids, 2, durations)
        sequences, end = simulate(queue, actual, 2)
        self.assertEqual(sorted(test_ids), sorted(sum(sequences, [])))
        self.assertIn("tests/test_001.py", files_of(sequences[0]))
        # What the thief took is the end of the victim's file, run in order.
        stolen = [t for t in sequences[0] if file_of(t) == "tests/test_001.py"]
        self.assertEqual(test_ids[-len(stolen):], stolen)
        self.assertEqual(sorted(sequences[1]), sequences[1])
        self.assertLess(end, 0.6 * 20 * 1.0)

    def test_what_whole_files_leave_uneven_the_end_of_a_file_evens_out(self):
        # Two files of 1 s, one of 0.3 s that ends with its longest test:
        # LPT puts it with a 1 s file, and a steal at the end could only
        # move that 0.25 s test (1.25 s).  Planned, test_000.py's last test
        # moves instead.
        test_ids = suite(3, 10)[:26]
        durations = dict.fromkeys(test_ids[:20], 0.1)
        durations.update(dict.fromkeys(test_ids[20:25], 0.01))
        durations[test_ids[25]] = 0.25
        sequences, end = simulate(FileQueue.build(test_ids, 2, durations), durations, 2)
        self.assertAlmostEqual(1.2, end)
        self.assertEqual(test_ids[9:20], sequences[1])  # test_000.py's end, then test_001.py

    def test_no_file_goes_where_collecting_it_costs_more_than_it_saves(self):
        test_ids = suite(2, 1000)
        durations = dict.fromkeys(test_ids, 0.00001)
        # Worker 0 has collected both files; worker 1 would have to collect
        # 1,000 tests (about 0.1 s) to run 0.01 s of them.
        queue = FileQueue.build(test_ids, 2, durations, collected={0: None})
        sequences, _ = simulate(queue, durations, 2)
        self.assertEqual([], sequences[1])
        # Without history too: worker 1 runs the second file, but steals
        # nothing of the first.
        queue = FileQueue.build(test_ids, 2, {}, collected={0: None})
        sequences, _ = simulate(queue, durations, 2)
        self.assertEqual({"tests/test_001.py"}, files_of(sequences[1]))

    def test_a_split_collection_keeps_each_worker_on_its_own_files(self):
        # pytest_split: worker 0 collected the first two files, worker 1
        # the last two.  With history the plans are its own files but for
        # the end of one file; without, each takes its own files first.
        test_ids = suite(4, 10)
        held = {0: {"tests/test_000.py", "tests/test_001.py"},
                1: {"tests/test_002.py", "tests/test_003.py"}}
        durations = dict.fromkeys(test_ids, 0.01)
        durations.update(dict.fromkeys(test_ids[:10], 0.05))  # the first file is long
        sequences, end = simulate(FileQueue.build(test_ids, 2, durations, collected=held),
                                  durations, 2)
        self.assertLess(end, 0.41)  # lower bound 0.4
        foreign = [files_of(sequences[w]) - held[w] for w in (0, 1)]
        self.assertLessEqual(len(foreign[0]) + len(foreign[1]), 1, sequences)
        sequences, _ = simulate(FileQueue.build(test_ids, 2, {}, collected=held),
                                dict.fromkeys(test_ids, 0.01), 2)
        self.assertEqual("tests/test_002.py", file_of(sequences[1][0]))
        self.assertEqual([set(), set()], [files_of(sequences[w]) - held[w] for w in (0, 1)])

    def test_the_collecting_worker_steals_where_others_would_not(self):
        test_ids = suite(1, 1000)
        durations = dict.fromkeys(test_ids, 0.001)
        queue = FileQueue.build(test_ids, 2, durations, collected={1: None})
        sequences, end = simulate(queue, durations, 2)
        self.assertTrue(sequences[1])
        self.assertLess(end, 0.6)

    def test_groups_stay_whole(self):
        test_ids = [f"t/test_{f}.py::C{c}::test_{t}" for f in range(3) for c in range(3)
                    for t in range(4)]
        group_of = group_function(None, parallel_class=True)
        queue = FileQueue.build(test_ids, 2, {}, group_of)
        for worker in (0, 1, 0, 1, 0, 1):
            batch = queue.next_batch(worker)
            groups = {}
            for test_id in batch:
                groups[group_of(test_id)] = groups.get(group_of(test_id), 0) + 1
            self.assertTrue(all(count == 4 for count in groups.values()), batch)

    def test_seed_fixes_the_order_and_changes_it_files_stay_together(self):
        test_ids = suite(5, 6)

        def order(seed):
            return sum(drain(FileQueue.build(test_ids, 2, {}, rng=random.Random(seed))), [])

        self.assertEqual(order(3), order(3))
        self.assertNotEqual(test_ids, order(3))
        files = [file_of(t) for t in order(3)]
        self.assertEqual(5, sum(1 for a, b in zip([None] + files, files) if a != b))

    def test_put_back_goes_first_to_the_next_worker_that_asks(self):
        test_ids = suite(4, 10)
        queue = FileQueue.build(test_ids, 2, {})
        lost = queue.next_batch(0)
        queue.put_back(lost)
        self.assertEqual(lost, queue.next_batch(1)[:len(lost)])

    def test_starts_over_is_never_asked_for(self):
        queue = FileQueue.build(suite(3, 3), 2, dict.fromkeys(suite(3, 3), 1.0))
        while queue.next_batch(1):
            self.assertFalse(queue.starts_over(1))

    @settings(max_examples=100, deadline=None)
    @given(st.lists(st.sampled_from([f"t/test_{f}.py::C{c}::test_{t}" for f in range(3)
                                     for c in range(2) for t in range(4)]), unique=True),
           st.integers(1, 4),
           st.dictionaries(st.sampled_from([f"t/test_{f}.py::C{c}::test_{t}" for f in range(3)
                                            for c in range(2) for t in range(4)]),
                           st.floats(0, 10)),
           st.sampled_from([{}, {0: None}, {1: None}, {0: None, 1: None},
                            {0: {"t/test_0.py"}, 1: {"t/test_1.py", "t/test_2.py"}}]))
    def test_invariants(self, test_ids, workers, durations, collected):
        group_of = group_function(None, parallel_class=True)
        queue = FileQueue.build(test_ids, workers, durations, group_of, collected=collected)
        batches = []
        for turn in range(200):
            if not len(queue):
                break
            if batch := queue.next_batch(turn % workers):
                batches.append(batch)
        batches += drain(queue)
        handed = [t for batch in batches for t in batch]
        self.assertEqual(sorted(test_ids), sorted(handed))
        self.assertEqual(0, len(queue))
        owner = {}
        for index, batch in enumerate(batches):
            for test_id in batch:
                owner.setdefault(group_of(test_id), set()).add(index)
        self.assertTrue(all(len(found) == 1 for found in owner.values()))
