"""Queues for the built-in runner that constrain who runs what.

Both implement :class:`~testrepo.scheduler.protocol.WorkSource`, the interface the
worker pool uses (``len``, ``next_batch(worker)``, ``put_back``,
``observe``):

* :class:`SingleTestQueue` (``run --isolated``) hands out one test at a
  time, in the order given; the pool gives each one to a fresh worker
  process::

      queue = SingleTestQueue(['m.T.a', 'm.T.b'])
      queue.next_batch(0)  -> ['m.T.a']
      queue.next_batch(1)  -> ['m.T.b']
      queue.next_batch(0)  -> []

* :class:`PinnedQueue` (``run --worker-file``) gives each worker its own
  queue: the tests of a worker-file entry are only ever run by that
  entry's workers (several workers of one entry share its queue)::

      queue = PinnedQueue([db_queue, db_queue, rest_queue])   # workers 0-2
      queue.next_batch(2)  -> a batch from rest_queue only
"""

from __future__ import annotations

import collections
from typing import Deque, Dict, List, Optional, Sequence


class SingleTestQueue:
    """One test per batch, in the given order."""

    def __init__(self, test_ids: Sequence[str]):
        self._test_ids: Deque[str] = collections.deque(test_ids)

    def __len__(self) -> int:
        return len(self._test_ids)

    def next_batch(self, worker: Optional[int] = None) -> List[str]:
        return [self._test_ids.popleft()] if self._test_ids else []

    def put_back(self, test_ids: Sequence[str]) -> None:
        self._test_ids.extendleft(reversed(list(test_ids)))

    def observe(self, seconds: float) -> None:
        pass

    def starts_over(self, worker: int) -> bool:
        return False  # one test per process anyway (or per batch)


class PinnedQueue:
    """Per-worker queues: ``queues[N]`` feeds worker N (a queue object may
    feed several workers). ``next_batch()`` without a worker (the pool
    reporting tests it gave up on) drains any queue."""

    def __init__(self, queues: Sequence):
        self._queues = list(queues)
        # Worker N is worker ``self._local[N]`` of its own queue (a queue
        # feeding workers 2 and 3 plans for its workers 0 and 1).
        seen: Dict[int, int] = collections.Counter()
        self._local = []
        for queue in self._queues:
            self._local.append(seen[id(queue)])
            seen[id(queue)] += 1
        # Each distinct queue once, in worker order.
        self._distinct = list({id(queue): queue for queue in self._queues}.values())
        self._owner: Dict[str, object] = {}

    def __len__(self) -> int:
        return sum(len(queue) for queue in self._distinct)

    def next_batch(self, worker: Optional[int] = None) -> List[str]:
        if worker is not None:
            if worker >= len(self._queues):
                return []
            queues, local = [self._queues[worker]], self._local[worker]
        else:
            queues, local = [queue for queue in self._distinct if len(queue)][:1], None
        for queue in queues:
            batch = queue.next_batch(local)
            for test_id in batch:
                self._owner[test_id] = queue
            return batch
        return []

    def put_back(self, test_ids: Sequence[str]) -> None:
        """Tests a lost worker never ran go back to the queue they came from."""
        by_queue: Dict[int, List[str]] = collections.defaultdict(list)
        for test_id in test_ids:
            by_queue[id(self._owner[test_id])].append(test_id)
        for queue in self._distinct:
            if by_queue.get(id(queue)):
                queue.put_back(by_queue[id(queue)])

    def observe(self, seconds: float) -> None:
        for queue in self._distinct:
            queue.observe(seconds)

    def starts_over(self, worker: int) -> bool:
        if worker >= len(self._queues):
            return False
        return self._queues[worker].starts_over(self._local[worker])
