"""The queue of a build shared by many nodes (``--queue``): its items and
how much of it one lease takes.  Pure: the rows live in PostgreSQL
(:mod:`testrepo.repository.sql_queue`); the replay simulator
(``benchmarks/fleet_replay.py``) uses the same policy.

* The selection becomes *items*: a whole group, or one test, each with
  its estimated seconds (recorded, else the median recorded duration of
  the selection, else 1 s).  Items with an untimed test come first (in
  listing order: one may be long, and early is when a surprise costs
  least), then the others longest first (ties in listing order).  Every
  node leases from the front, so the long tests start first and the tail
  is made of short ones whose length is known.
* A lease takes items from the front while their estimated work stays
  within :func:`lease_target`: the remaining work divided by twice the
  fleet's workers (guided self-scheduling, as the single-machine queue
  does), never less than ``LEASE_MIN_SECONDS`` (a lease is a database
  transaction; tiny ones at 100 nodes would be hundreds a second) and
  never more than ``LEASE_MAX_SECONDS`` (what a dying node takes with it),
  and never more than the build's longest item (no lease then takes
  longer than the lower bound's longest-item term).  That last bound
  matters at the start: the first node plans and leases before the
  others have joined, so the fleet it divides by is itself alone, and a
  lease sized for one node gave one worker the three longest tests in a
  row (a 4-node build then took twice its lower bound).  At least one
  item.
"""

from __future__ import annotations

import dataclasses
import statistics
from typing import List, Mapping, Optional, Sequence, Tuple

from testrepo.scheduler.static import GroupOf, group_indices, strip_tags

LEASE_MIN_SECONDS = 1.0
LEASE_MAX_SECONDS = 60.0


# A lease takes at most this many items with an untimed test: their
# estimate is a guess, and a lease of a hundred "median" tests may hold
# minutes of work that a late node then waits for.
UNTIMED_PER_LEASE = 4


@dataclasses.dataclass(frozen=True)
class Item:
    """One unit of the build's queue: ``position`` 0 is leased first;
    ``timed``: every test of it has a recorded duration."""

    position: int
    test_ids: Tuple[str, ...]
    estimate: float
    timed: bool = True


def plan_items(test_ids: Sequence[str], durations: Mapping[str, float],
               group_of: Optional[GroupOf] = None) -> List[Item]:
    """The build's items, longest first::

        plan_items(['a', 'b', 'c'], {'a': 1.0, 'b': 3.0})
        -> [Item(0, ('c',), 2.0), Item(1, ('b',), 3.0), Item(2, ('a',), 1.0)]

    (``c`` is untimed: it comes first and counts the median, 2.0.)
    """
    def known(test_id: str) -> Optional[float]:
        found = durations.get(test_id)
        return durations.get(strip_tags(test_id)) if found is None else found

    recorded = [seconds for seconds in map(known, test_ids) if seconds is not None]
    default = statistics.median(recorded) if recorded else 1.0
    units = []
    for members in group_indices(test_ids, group_of).values():
        ids = tuple(test_ids[i] for i in members)
        seconds = [known(test_id) for test_id in ids]
        untimed = any(s is None for s in seconds)
        estimate = sum(default if s is None else s for s in seconds)
        units.append((not untimed, -estimate if not untimed else 0.0, members[0], estimate, ids))
    units.sort(key=lambda unit: unit[:3])
    return [Item(position, unit[4], unit[3], unit[0]) for position, unit in enumerate(units)]


def lease_target(remaining_seconds: float, workers: int,
                 longest_seconds: float = LEASE_MAX_SECONDS) -> float:
    """Seconds of estimated work one lease should take (module docstring;
    ``longest_seconds``: the build's longest item)."""
    guided = min(remaining_seconds / (2 * max(1, workers)), longest_seconds)
    return min(LEASE_MAX_SECONDS, max(LEASE_MIN_SECONDS, guided))


def lease_count(front: Sequence[Tuple[float, bool]], target: float) -> int:
    """How many of the front items (``(estimate, timed)``, in order) one
    lease takes: while their sum stays within ``target`` and at most
    UNTIMED_PER_LEASE are untimed; at least one."""
    total, count, untimed = 0.0, 0, 0
    for estimate, timed in front:
        untimed += not timed
        if count and (total + estimate > target or untimed > UNTIMED_PER_LEASE):
            break
        total += estimate
        count += 1
    return count


def recommend_nodes(total_seconds: float, longest_seconds: float, workers_per_node: int,
                    target_seconds: float) -> Optional[int]:
    """The fewest nodes whose lower bound, ``max(total / (nodes *
    workers), longest)``, is within ``target_seconds``; None if no number
    of nodes is (the longest item alone takes longer)."""
    if longest_seconds > target_seconds or target_seconds <= 0:
        return None
    per_node = target_seconds * max(1, workers_per_node)
    return max(1, -int(-total_seconds // per_node))


def poll_seconds(lease_ttl: float) -> float:
    """How often a node with nothing to lease, while other nodes hold
    leases, asks again (their leases may expire and must not be left):
    a quarter of the TTL, at most 5 s (100 waiting nodes then cost 20
    transactions a second, and only in the build's last minutes)."""
    return min(5.0, lease_ttl / 4)


def heartbeat_seconds(lease_ttl: float) -> float:
    """How often a node renews its leases: three times per TTL."""
    return lease_ttl / 3
