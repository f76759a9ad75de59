"""Dynamic scheduling for the built-in runner: workers pull work.

The selected tests become *units* (a whole group, or one test), ordered
longest-first by recorded duration (unknown tests are estimated at the
median, see :func:`testrepo.scheduler.static.partition`).  With no history
at all the listing order is kept, which keeps classes together.  With
``--random`` the unit order is a seeded shuffle instead (the members of a
group are shuffled too, but stay together).

Workers are handed batches that shrink as the queue drains (guided
self-scheduling): a batch holds about ``remaining work / (2 * workers)``
seconds of estimated work, and at least one unit.  Early batches are big
(few round trips on 20,000 trivial tests); the last ones are single units,
so no worker is left holding a long tail while another idles::

    queue = WorkQueue.build(['m.T.a', 'm.T.b', 'm.T.slow'], workers=2,
                            durations={'m.T.slow': 6.0, 'm.T.a': 1.0, 'm.T.b': 1.0})
    queue.next_batch()  -> ['m.T.slow']           (8 s left / 4 = 2 s: one unit)
    queue.next_batch()  -> ['m.T.a']
    queue.next_batch()  -> ['m.T.b']

Inside a batch tests keep their listing order, so that tests of one class
that travel together stay one block (unittest then runs setUpClass once).
"""

from __future__ import annotations

import collections
import random
from typing import Deque, List, Mapping, Optional, Sequence, Tuple

from testrepo.scheduler.static import GroupOf, _estimator, _group_indices

Unit = Tuple[float, Tuple[int, ...]]  # (estimated seconds, positions in test_ids)


class WorkQueue:
    """The ordered units still to hand out."""

    def __init__(self, test_ids: Sequence[str], units: Sequence[Unit], workers: int,
                 shuffled: bool = False):
        self._test_ids = list(test_ids)
        # A shuffled queue hands tests out exactly in queue order, so the
        # order for a seed does not depend on where batches happen to end.
        self._shuffled = shuffled
        self._units: Deque[Unit] = collections.deque(units)
        self._workers = max(1, workers)
        self._remaining = sum(unit[0] for unit in units)
        # Ids put back after a crash are estimated at the mean unit.
        self._mean = self._remaining / len(units) if units else 1.0

    @classmethod
    def build(cls, test_ids: Sequence[str], workers: int, durations: Mapping[str, float],
              group_of: Optional[GroupOf] = None,
              rng: Optional[random.Random] = None) -> "WorkQueue":
        estimate = _estimator(test_ids, durations)
        groups = list(_group_indices(test_ids, group_of).values())
        if rng is not None:
            for members in groups:
                rng.shuffle(members)
        units = [(sum(estimate(test_ids[i]) for i in members), tuple(members))
                 for members in groups]
        if rng is not None:
            rng.shuffle(units)
            return cls(test_ids, units, workers, shuffled=True)
        if any(durations.get(test_id) is not None for test_id in test_ids):
            # Longest first; ties keep listing order (sort is stable).
            units.sort(key=lambda unit: -unit[0])
        return cls(test_ids, units, workers)

    def __len__(self) -> int:
        return len(self._units)

    def next_batch(self) -> List[str]:
        """The next batch of test ids (empty when the queue is drained)."""
        target = self._remaining / (2 * self._workers)
        taken: List[int] = []
        work = 0.0
        while self._units and (not taken or work + self._units[0][0] <= target):
            seconds, members = self._units.popleft()
            work += seconds
            taken.extend(members)
        self._remaining = max(0.0, self._remaining - work)
        if not self._shuffled:
            taken.sort()
        return [self._test_ids[i] for i in taken]

    def put_back(self, test_ids: Sequence[str]) -> None:
        """Return ids a lost worker never ran to the front of the queue, as
        one unit each (their group's worker is gone anyway)."""
        start = len(self._test_ids)
        self._test_ids.extend(test_ids)
        units = [(self._mean, (start + offset,)) for offset in range(len(test_ids))]
        self._units.extendleft(reversed(units))
        self._remaining += self._mean * len(test_ids)
