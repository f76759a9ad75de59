"""The work source of a ``--queue`` node: the pool's workers pull batches
leased from the build's queue (``leaser``: a
:class:`testrepo.repository.sql_queue.BuildQueue`, or anything with its
``lease``), so the pool needs nothing new.

* A worker that asks again has run what it held (the pool keeps one
  batch per worker while ``__len__`` is at most 1, and it is): those
  items are reported as run with the next lease, in one transaction.
* Tests the pool puts back (their worker died) are handed out first,
  here, without a transaction: the node still holds their lease.
* With nothing to lease while other nodes still hold leases, a worker
  waits (``wait(seconds)``) and asks again, if no other worker of this
  node holds anything (then it gets nothing for now and asks when that
  batch ends): a node that died loses its leases after the TTL, and
  someone must be there to take them.
* If a lease fails (the database is down or unreachable), it is tried
  again every poll for ``patience`` seconds (the lease TTL: as long as
  the node's leases last; a dropped connection or a restarted server
  costs nothing); then the node stops leasing: what it holds still
  runs, and the error is kept in ``failure``.
"""

from __future__ import annotations

import collections
import time
from typing import Callable, Deque, Dict, List, Optional, Sequence

from testrepo.errors import RepositoryError


class LeasedWork:
    """Batches leased from a build's queue (see the module docstring)."""

    def __init__(self, leaser, poll_seconds: float, patience: float = 0.0,
                 wait: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        self._leaser = leaser
        self._poll = poll_seconds
        self._patience = patience
        self._wait = wait
        self._clock = clock
        self._failing_since: Optional[float] = None
        self._held: Dict[int, List[int]] = {}  # worker -> positions of its items
        self._ran: List[int] = []  # positions run, not yet reported
        self._put_back: Deque[str] = collections.deque()
        self._outstanding = 1  # unknown until the first lease
        self.leased: List[str] = []  # every id leased, in order
        self.leases = 0
        self.failure: Optional[RepositoryError] = None

    def __len__(self) -> int:
        # Only "is there work anywhere" is known here; 1 keeps the pool
        # from queueing a second batch behind a worker's running one.
        return 1 if (self._put_back or self._outstanding) else 0

    def observe(self, seconds: float) -> None:
        """Estimates come from the history; nothing to learn per node."""

    def starts_over(self, worker: int) -> bool:
        # Leases come longest first from a build-wide queue, not from a
        # listing-order plan: there is no order for a fresh process to keep.
        return False

    def put_back(self, test_ids: Sequence[str]) -> None:
        self._put_back.extend(test_ids)

    def next_batch(self, worker: Optional[int] = None) -> List[str]:
        if worker is None:  # the pool gives up: only what it put back
            batch = list(self._put_back)
            self._put_back.clear()
            return batch
        self._ran.extend(self._held.pop(worker, ()))
        if self._put_back:
            return [self._put_back.popleft()]
        while self.failure is None:
            try:
                items, self._outstanding = self._leaser.lease(self._ran)
            except RepositoryError as err:
                if self._give_up(err):
                    break
                continue
            self._failing_since = None
            self._ran = []
            if items:
                self.leases += 1
                self._held[worker] = [item.position for item in items]
                batch = [test_id for item in items for test_id in item.test_ids]
                self.leased.extend(batch)
                return batch
            if not self._outstanding or any(self._held.values()):
                break
            self._wait(self._poll)
        return []

    def _give_up(self, err: RepositoryError) -> bool:
        """After a failed lease: wait a poll and say False (try again), or,
        failing for ``patience`` seconds, keep ``err`` and say True."""
        now = self._clock()
        if self._failing_since is None:
            self._failing_since = now
        if now - self._failing_since >= self._patience:
            self.failure, self._outstanding = err, 0
            return True
        self._wait(self._poll)
        return False
