"""WorkerPool's contract with its queue, with real worker processes: a
worker the queue has nothing for *now* waits while tests are left, and is
only told to finish once the queue is empty."""

import os
import unittest

import fixtures
import testtools

from testrepo.execution import commands, pool
from testrepo.config import Config

TESTS = '''\
import unittest


class T(unittest.TestCase):
'''
METHOD = '''
    def test_{index}(self):
        pass
'''


class ScriptedQueue:
    """Worker 1 is refused until worker 0 has finished its first batch;
    then anyone takes one test at a time."""

    def __init__(self, test_ids):
        self.test_ids = list(test_ids)
        self.refused = 0
        self.first_done = False

    def next_batch(self, worker=None):
        if not self.test_ids:
            return []
        if worker == 1 and not self.first_done:
            self.refused += 1
            return []
        return [self.test_ids.pop(0)]

    def put_back(self, test_ids):
        self.test_ids[:0] = test_ids

    def observe(self, seconds):
        self.first_done = True

    def starts_over(self, worker):
        return False

    def __len__(self):
        return len(self.test_ids)


class Sink:

    def __init__(self):
        self.outcomes = []

    def add_outcome(self, outcome):
        self.outcomes.append(outcome)

    def add_output(self, worker, name, data):
        pass

    def flush(self):
        pass

    def heartbeat(self, running, now):
        pass


class TestParking(testtools.TestCase):

    def test_a_refused_worker_waits_and_takes_work_later(self):
        path = self.useFixture(fixtures.TempDir()).path
        os.makedirs(os.path.join(path, "sample"))
        open(os.path.join(path, "sample", "__init__.py"), "w").close()
        with open(os.path.join(path, "sample", "test_p.py"), "w") as handle:
            handle.write(TESTS + "".join(METHOD.format(index=i) for i in range(20)))
        config = Config(test_path="sample", top_dir=".")
        workers = pool.WorkerPool(commands.builtin_argv(config), path, 2)
        self.addCleanup(workers.close)
        workers.start()
        listed = workers.listing()
        self.assertEqual(20, len(listed))
        queue, sink = ScriptedQueue(listed), Sink()
        workers.run(queue, sink)
        self.assertGreater(queue.refused, 0)
        self.assertEqual(sorted(listed), sorted(o.test_id for o in sink.outcomes))
        self.assertEqual({"success"}, {o.status for o in sink.outcomes})
        # Refused at first, worker 1 was not let go: it ran tests later.
        self.assertIn(1, {o.worker for o in sink.outcomes})


if __name__ == "__main__":
    unittest.main()
