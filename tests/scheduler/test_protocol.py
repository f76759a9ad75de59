"""Every work queue implements the scheduler protocol the pool is typed against."""

import ast
import inspect

import testtools

from testrepo.execution import pool
from testrepo.scheduler.pinned import PinnedQueue, SingleTestQueue
from testrepo.scheduler.protocol import WorkSource
from testrepo.scheduler.queue import WorkQueue


class TestWorkSource(testtools.TestCase):

    def test_every_queue_implements_it(self):
        queues = [WorkQueue.build(["a", "b"], 2, {}), SingleTestQueue(["a"]),
                  PinnedQueue([WorkQueue.build(["a"], 1, {})])]
        for queue in queues:
            self.assertIsInstance(queue, WorkSource)
            self.assertEqual(["a"], queue.next_batch(0)[:1])
            queue.observe(0.1)

    def test_the_pool_imports_no_queue_module(self):
        tree = ast.parse(inspect.getsource(pool))
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        self.assertNotIn("testrepo.scheduler.queue", imported)
        self.assertNotIn("testrepo.scheduler.pinned", imported)
