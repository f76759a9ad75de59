"""Dynamic scheduling for the built-in runner: workers pull work.

The selected tests become *units* (a whole group, or one test), ordered
longest-first by recorded duration (unknown tests are estimated at the
median, see :func:`testrepo.scheduler.static.partition`).  With no history
at all the listing order is kept, which keeps classes together.  With
``--random`` the unit order is a seeded shuffle instead (the members of a
group are shuffled too, but stay together).

Workers are handed batches that shrink as the queue drains (guided
self-scheduling): a batch holds about ``remaining work / (2 * workers)``
seconds of estimated work, never more than ``MAX_SLICE``, and at least one
unit.  Early batches of fast tests are big (few round trips on 20,000
trivial tests); slow tests travel one or a few at a time, and the last
batches are single units, so no worker is left holding a long tail while
another idles::

    queue = WorkQueue.build(['m.T.a', 'm.T.b', 'm.T.slow'], workers=2,
                            durations={'m.T.slow': 6.0, 'm.T.a': 1.0, 'm.T.b': 1.0})
    queue.next_batch()  -> ['m.T.slow']           (8 s left / 4 = 2 s: one unit)
    queue.next_batch()  -> ['m.T.a']
    queue.next_batch()  -> ['m.T.b']

Estimates: a recorded duration where there is one; for the other tests the
median recorded duration or, with no history at all, the mean duration
observed so far in this run (:meth:`WorkQueue.observe`).  The first batch
is one unit, and each batch at most doubles the last (a slow start), so a
poor early estimate costs little.

Inside a batch tests keep their listing order, so that tests of one class
that travel together stay one block (unittest then runs setUpClass once).
"""

from __future__ import annotations

import collections
import random
import statistics
from typing import Deque, List, Mapping, Optional, Sequence, Tuple

from testrepo.scheduler.static import GroupOf, _group_indices, strip_tags

# Estimated seconds of the members with a recorded duration, how many
# members have none, and the members' positions in test_ids.
Unit = Tuple[float, int, Tuple[int, ...]]

# Batches start at one unit and may at most double from one to the next
# (a slow start): an early estimate from a handful of fast tests must not
# send a thousand slow ones to one worker.
FIRST_BATCH_UNITS = 1
# No batch holds more than this much estimated work (seconds): estimates can
# be wrong by a lot, and a worker holding a long batch when the queue runs
# dry is the tail that wrecks a run's balance.  Round trips cost ~1 ms.
MAX_SLICE = 0.5
# Units shorter than this keep their listing order (see _longest_first).
SHORT_UNIT = 0.01


class WorkQueue:
    """The ordered units still to hand out."""

    def __init__(self, test_ids: Sequence[str], units: Sequence[Unit], workers: int,
                 shuffled: bool = False, unknown_estimate: Optional[float] = None):
        self._test_ids = list(test_ids)
        # A shuffled queue hands tests out exactly in queue order, so the
        # order for a seed does not depend on where batches happen to end.
        self._shuffled = shuffled
        self._units: Deque[Unit] = collections.deque(units)
        self._workers = max(1, workers)
        self._known_left = sum([unit[0] for unit in units])
        self._unknown_left = sum([unit[1] for unit in units])
        # Seconds assumed for a test with no recorded duration: the median of
        # the recorded ones, else (no history) the mean observed so far.
        self._history_estimate = unknown_estimate
        self._observed_seconds = 0.0
        self._observed_tests = 0
        self._unit_cap = FIRST_BATCH_UNITS

    @classmethod
    def build(cls, test_ids: Sequence[str], workers: int, durations: Mapping[str, float],
              group_of: Optional[GroupOf] = None,
              rng: Optional[random.Random] = None) -> "WorkQueue":
        known = _known_durations(test_ids, durations)
        if group_of is None:
            # One unit per test: the common case, kept cheap for 20,000 ids.
            seconds = known.get
            units = [(0.0, 1, (i,)) if (d := seconds(t)) is None else (d, 0, (i,))
                     for i, t in enumerate(test_ids)]
        else:
            units = _group_units(test_ids, known, group_of, rng)
        estimate = statistics.median(known.values()) if known else None
        if rng is not None:
            rng.shuffle(units)
            return cls(test_ids, units, workers, True, estimate)
        if known:
            units = _longest_first(units, estimate)
        return cls(test_ids, units, workers, False, estimate)

    def __len__(self) -> int:
        return len(self._units)

    def observe(self, seconds: float) -> None:
        """A test of this run took ``seconds``: without history, this is
        what the next batches are sized by."""
        self._observed_seconds += seconds
        self._observed_tests += 1

    def _unknown_estimate(self) -> Optional[float]:
        if self._history_estimate is not None:
            return self._history_estimate
        if self._observed_tests:
            return self._observed_seconds / self._observed_tests
        return None

    def next_batch(self, worker: Optional[int] = None) -> List[str]:
        """The next batch of test ids (empty when the queue is drained);
        any worker may take it (see :mod:`testrepo.scheduler.pinned`)."""
        guess = self._unknown_estimate()
        cap, self._unit_cap = self._unit_cap, self._unit_cap * 2
        if guess is None:
            taken = self._take(cap, 0.0, float("inf"))
        else:
            remaining = self._known_left + self._unknown_left * guess
            target = min(remaining / (2 * self._workers), MAX_SLICE)
            taken = self._take(cap, guess, target)
        if not self._shuffled:
            taken.sort()
        return [self._test_ids[i] for i in taken]

    def _take(self, cap: int, guess: float, target: float) -> List[int]:
        """Units from the front, at most ``cap`` of them and while their
        estimated work stays within ``target`` seconds, and always at least
        one.  (Called for every batch and looking at every unit: no
        function call per unit.)"""
        units = self._units
        taken: List[int] = []
        work, count = 0.0, 0
        known_left, unknown_left = self._known_left, self._unknown_left
        while units and count < cap:
            known, unknown, members = units[0]
            cost = known + unknown * guess
            if count and work + cost > target:
                break
            units.popleft()
            work += cost
            count += 1
            known_left -= known
            unknown_left -= unknown
            taken.extend(members)
        self._known_left, self._unknown_left = known_left, unknown_left
        return taken

    def put_back(self, test_ids: Sequence[str]) -> None:
        """Return ids a lost worker never ran to the front of the queue, as
        one unit each (their group's worker is gone anyway)."""
        start = len(self._test_ids)
        self._test_ids.extend(test_ids)
        units = [(0.0, 1, (start + offset,)) for offset in range(len(test_ids))]
        self._units.extendleft(reversed(units))
        self._unknown_left += len(test_ids)


def _longest_first(units: List[Unit], estimate: float) -> List[Unit]:
    """Units of at least ``SHORT_UNIT`` seconds, longest first (ties in
    listing order: the sort is stable), then the short ones in listing
    order: moving a short test cannot change the balance by more than its
    own length, and listing order keeps classes and modules together."""
    long_units, short_units = [], []
    for unit in units:
        seconds = unit[0] + unit[1] * estimate
        if seconds >= SHORT_UNIT:
            long_units.append((-seconds, unit))
        else:
            short_units.append(unit)
    long_units.sort(key=_first)
    return [unit for _, unit in long_units] + short_units


def _first(item):
    return item[0]


def _group_units(test_ids, known, group_of, rng) -> List[Unit]:
    groups = list(_group_indices(test_ids, group_of).values())
    units = []
    for members in groups:
        if rng is not None:
            rng.shuffle(members)
        times = [known.get(test_ids[i]) for i in members]
        units.append((sum(t for t in times if t is not None),
                      sum(t is None for t in times), tuple(members)))
    return units


def _known_durations(test_ids: Sequence[str], durations: Mapping[str, float]):
    """Recorded seconds of each listed test that has some (ids may carry a
    ``[...]`` tag suffix the recorded ones lack)."""
    known = {}
    if not durations:
        return known
    for test_id in test_ids:
        seconds = durations.get(test_id)
        if seconds is None:
            seconds = durations.get(strip_tags(test_id))
        if seconds is not None:
            known[test_id] = seconds
    return known
