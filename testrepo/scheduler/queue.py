"""Dynamic scheduling for the built-in runner: a plan per worker, run in
listing order, and work stealing when a plan runs dry.

Suites are written against the order stestr and ``subunit.run`` give
them: each worker process runs its share of the tests *in listing order*.
A queue that hands out the longest tests first balances well but makes a
worker jump around the listing, and order-dependent tests (a later module
that leaves state behind, an earlier one that needs it clean) start
failing.  So this queue plans first and runs in order:

* The selected tests become *units* (a whole group, or one test), in the
  *reference order*: the listing order, or with ``--random`` a seeded
  shuffle of the units (the members of a group are shuffled too, but stay
  together).
* With recorded durations each worker gets a *plan*, a list of units
  kept in reference order.  The plans are made longest-first into the
  least loaded plan (LPT, as :func:`testrepo.scheduler.static.partition`
  does; unknown tests are estimated at the median), so they are balanced
  before the run starts (all but the tail, see below)::

      queue = WorkQueue.build(['m.A.a', 'm.A.b', 'm.B.slow', 'm.B.d'], workers=2,
                              durations={'m.B.slow': 3.0, 'm.A.a': 1.0,
                                         'm.A.b': 1.0, 'm.B.d': 1.0})
      queue.next_batch(0)  -> ['m.B.slow']        (plan 0: m.B.slow)
      queue.next_batch(1)  -> ['m.A.a']           (plan 1: m.A.a, m.A.b, m.B.d)

* The end of the reference order is not planned: a *tail* of short
  units (together at most ``TAIL_FRACTION`` of the work per worker, each
  at most half of that) is shared, and a worker whose plan
  runs dry takes its next batch from the tail's front.  Real durations
  differ from the recorded ones (a loaded machine, a test that waits on a
  pool); the tail absorbs that difference while every worker keeps going
  forward in the order, so it needs no steal back and no fresh process.
* With no history at all there is no plan: all workers take batches from
  the front of one shared queue in reference order, so each worker's
  sequence rises in that order.
* A module's tests stay together where balance allows, since neighbours
  in a module often share state as in a serial run: longest first places
  the consecutive tests of a module as one piece of at most
  ``MODULE_FRACTION`` of the work per worker (a bigger module is cut into
  such pieces; the plan still hands them out test by test), and a batch
  from a queue the workers share ends at a module's end rather than cut
  it (:meth:`WorkQueue._module_cut`).
* A worker takes batches from the front of its own plan.  Batches shrink
  as the work drains (guided self-scheduling): about ``remaining work /
  (2 * workers)`` seconds of estimated work, never more than
  ``MAX_SLICE``, at least one unit; the first batch is one unit and each
  batch at most doubles the last (a slow start, so a poor early estimate
  costs little).
* A worker whose plan is empty *steals* from the back of the plan whose
  worker should finish last, enough work to even out the two workers'
  estimated finishing times (the queue keeps, per worker, the time
  ``clock`` says it should run out of work).  It takes only units ranked
  after the last one it ran when it can, so its sequence keeps rising; a
  steal that makes it go back in the order (a *seam*) happens only when it
  evens out at least ``seam_gain`` seconds, the larger of
  ``SEAM_MIN_SECONDS`` and ``SEAM_FRACTION`` of the planned work per
  worker, or when the plan's worker is gone (it lost its work, see
  :meth:`WorkQueue.put_back`, and has not asked again).  A worker still
  believed busy takes at most one unit listed after its last one; if
  nothing qualifies it gets nothing *for now*: the pool keeps it waiting
  and it asks again whenever a batch ends, until the queue is empty.

So with history every worker runs its tests in listing order unless a
worker would otherwise idle for a noticeable share of the run; a stolen
block is itself run in listing order, and :meth:`WorkQueue.starts_over`
tells the pool to run a block that goes back in the order in a fresh
process: every worker *process* runs its tests in rising order.

Estimates: a recorded duration where there is one; for the other tests the
median recorded duration or, with no history at all, the mean duration
observed so far in this run (:meth:`WorkQueue.observe`).

``next_batch()`` without a worker (the pool reporting tests it gave up on)
hands out the earliest units of any plan, so draining the queue that way
yields exactly the reference order.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import random
import statistics
import time
from typing import Callable, Deque, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from testrepo.scheduler.static import GroupOf, group_indices, known_durations, module_of

# Estimated seconds of the members with a recorded duration, how many
# members have none, and the members' positions in test_ids.
Unit = Tuple[float, int, Tuple[int, ...]]

# Batches start at one unit and may at most double from one to the next
# (a slow start): an early estimate from a handful of fast tests must not
# send a thousand slow ones to one worker.
FIRST_BATCH_UNITS = 1
# No batch holds more than this much estimated work (seconds), but for a
# unit bigger than that, which travels alone: estimates can be wrong by a
# lot, and a worker holding a long batch when the queue runs dry is the
# tail that wrecks a run's balance.  Round trips cost ~1 ms.
MAX_SLICE = 0.1
# A steal that makes a worker go back in the reference order must be worth
# at least this much of the run's balance (seconds), and at least this
# share of the planned work per worker.
# A seam is run by a fresh worker process (see starts_over), so it must
# also pay for one start (interpreter, imports): at least a second.
SEAM_MIN_SECONDS = 1.0
SEAM_FRACTION = 0.05
# The shared tail (with history): this share of the planned work per
# worker.  Two workers' plans of a corpus suite ended 11 % apart on a
# loaded machine (futurist, 2026-12-05: 1.055 x the lower bound; with a
# tail of 0.25, 1.014 replayed on the same durations); with exact
# durations the tail costs about 0.3 % (the skewed suites, replayed), and
# 30 % noise on each test costs 0.1 % with it, 0.7 % without.
TAIL_FRACTION = 0.25
# With history, the consecutive tests of one module are placed as runs of
# at most this share of the planned work per worker, so that a module
# usually runs whole, in one worker, as in a serial run (fixtures'
# ``LogHandlerTest.test_captures_logging`` needs the ``FakeLoggerTest``
# listed just before it).  Runs this small leave the plans within 5 % of
# each other, which the shared tail absorbs; below MAX_SLICE the imbalance
# is not worth splitting a module for (a small suite's modules stay whole).
MODULE_FRACTION = 0.05


class SizedByWhatRan:
    """The seconds a test without a recorded duration is guessed to take:
    the history's estimate, else the mean of the tests this run has run so
    far (None before the first).  Shared by the work queues."""

    _history_estimate: Optional[float]
    _observed_seconds: float
    _observed_tests: int

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


class WorkQueue(SizedByWhatRan):
    """The units still to hand out, as one plan per worker."""

    def __init__(self, test_ids: Sequence[str], units: Sequence[Unit],
                 plans: Sequence[Sequence[int]], workers: int,
                 unknown_estimate: Optional[float] = None, shared: bool = False,
                 clock: Callable[[], float] = time.monotonic, tail: Sequence[int] = ()):
        self._test_ids = list(test_ids)
        self._units: List[Unit] = list(units)
        # The reference-order rank of each unit (put-back units share the
        # rank of the unit they came from).
        self._rank: List[int] = list(range(len(self._units)))
        self._plans: List[Deque[int]] = [collections.deque(plan) for plan in plans] or [
            collections.deque()]
        self._workers = max(workers, len(self._plans))
        # One plan that every worker takes from (no history).
        self._shared = shared
        self._known_left = [sum([units[u][0] for u in plan]) for plan in plans]
        self._unknown_left = [sum([units[u][1] for u in plan]) for plan in plans]
        # Units (in reference order) no plan holds: any worker whose plan
        # is empty takes its next batch from the front.
        self._tail: Deque[int] = collections.deque(tail)
        self._tail_known = sum([units[u][0] for u in tail])
        self._tail_unknown = sum([units[u][1] for u in tail])
        self._planned_known = sum(self._known_left) + self._tail_known
        self._planned_unknown = sum(self._unknown_left) + self._tail_unknown
        # Rank of the last unit handed to each worker (-1: none yet).
        self._last = [-1] * len(self._plans)
        # Estimated time (``clock``) at which each worker runs out of work.
        self._busy = [0.0] * len(self._plans)
        self._last_work = [0.0] * len(self._plans)
        self._clock = clock
        # Workers that lost the work they held (put_back) and have not
        # asked again: their plans are anybody's.
        self._gone: Set[int] = set()
        # test id -> (worker, position, rank) of its latest hand-out.
        self._handed: Dict[str, Tuple[int, int, int]] = {}
        self._history_estimate = unknown_estimate
        self._observed_seconds = 0.0
        self._observed_tests = 0
        self._unit_cap = FIRST_BATCH_UNITS
        # Workers whose plan now goes back in the reference order (a seam):
        # their next batch belongs in a fresh process.
        self._seams: Set[int] = set()

    @classmethod
    def build(cls, test_ids: Sequence[str], workers: int, durations: Mapping[str, float],
              group_of: Optional[GroupOf] = None,
              rng: Optional[random.Random] = None,
              clock: Callable[[], float] = time.monotonic) -> "WorkQueue":
        """Units in reference order (listing, or shuffled by ``rng``),
        planned for ``workers`` workers; ``clock`` times the estimated
        finishing times that stealing compares."""
        workers = max(1, workers)
        known = known_durations(test_ids, durations)
        if group_of is None:
            # One unit per test: the common case, kept cheap for 20,000 ids.
            seconds = known.get
            units = [(0.0, 1, (i,)) if (d := seconds(t)) is None else (d, 0, (i,))
                     for i, t in enumerate(test_ids)]
        else:
            units = _group_units(test_ids, known, group_of, rng)
        if rng is not None:
            rng.shuffle(units)
        estimate = statistics.median(known.values()) if known else None
        if not known:
            # No history: one plan all workers share, taken from the front,
            # so every worker's sequence rises (see the module docstring).
            return cls(test_ids, units, [range(len(units))], workers, None, True, clock)
        tail_start = _tail_start(units, workers, estimate)
        if group_of is None and rng is None:
            # Modules are placed whole (in runs) but handed out test by
            # test: batches stay small and stealable, and a plan holds its
            # modules' tests next to each other.  Unit i is test i here.
            per_worker = sum([k + u * estimate for k, u, _ in units]) / workers
            limit = max(MODULE_FRACTION * per_worker, MAX_SLICE)
            runs = _module_runs(units[:tail_start], test_ids, estimate, limit)
            plans = [[test for run in plan for test in runs[run][2]]
                     for plan in _longest_first_plans(runs, workers, estimate)]
        else:
            plans = _longest_first_plans(units[:tail_start], workers, estimate)
        return cls(test_ids, units, plans, workers, estimate, False, clock,
                   tail=range(tail_start, len(units)))

    def __len__(self) -> int:
        return sum([len(plan) for plan in self._plans]) + len(self._tail)

    def next_batch(self, worker: Optional[int] = None) -> List[str]:
        """The next batch of test ids for ``worker``, in reference order;
        empty when there is nothing for it (it may stop).  Without a worker,
        the earliest units of any plan."""
        # Whether the batch comes from a queue other workers take from too
        # (then it should not cut a module; a worker's own plan holds its
        # modules whole anyway).
        shared = self._shared
        if worker is None:
            worker, before = self._earliest_plan()
            if worker is None:
                if not self._tail:
                    return []
                worker, before = 0, None  # the tail comes after every plan
                shared = self._claim_tail(worker)
        else:
            before = None
            if self._shared:
                worker = 0
            self._ensure_plan(worker)
            self._gone.discard(worker)
            # It asks: it has finished what it held before its last batch.
            self._busy[worker] = min(self._busy[worker],
                                     self._clock() + self._last_work[worker])
            if not self._plans[worker]:
                if self._claim_tail(worker):
                    shared = True
                elif not self._steal(worker):
                    return []
        guess = self._unknown_estimate()
        cap, self._unit_cap = self._unit_cap, self._unit_cap * 2
        whole_modules = shared and before is None
        if guess is None:
            taken = self._take(worker, cap, 0.0, float("inf"), before, whole_modules)
        else:
            taken = self._take(worker, cap, guess, self._batch_target(guess), before,
                               whole_modules)
        return self._hand_out(worker, taken)

    def _batch_target(self, guess: float) -> float:
        """Seconds of estimated work in the next batch (guided self-scheduling)."""
        remaining = (sum(self._known_left) + self._tail_known
                     + (sum(self._unknown_left) + self._tail_unknown) * guess)
        return min(remaining / (2 * self._workers), MAX_SLICE)

    def _claim_tail(self, worker: int) -> bool:
        """Move the next batch's worth of the shared tail into ``worker``'s
        empty plan, for :meth:`_take` to hand out; False if the tail is empty."""
        if not self._tail:
            return False
        guess = self._unknown_estimate() or 0.0
        target = self._batch_target(guess)
        plan, tail, units = self._plans[worker], self._tail, self._units
        count = self._batch_size(tail, self._unit_cap, guess, target)
        for _ in range(self._module_cut(tail, count, target, guess)):
            known, unknown, _ = units[tail[0]]
            plan.append(tail.popleft())
            self._tail_known -= known
            self._tail_unknown -= unknown
            self._known_left[worker] += known
            self._unknown_left[worker] += unknown
        return True

    def _batch_size(self, queue: Deque[int], cap: int, guess: float, target: float,
                    before: Optional[int] = None) -> int:
        """How many units from the front of ``queue`` make the next batch:
        at most ``cap``, while their estimated work stays within ``target``
        seconds and (with ``before``) they rank before it; at least one.
        (No function call per unit: this sizes every batch of a
        20,000-test run.)"""
        units, rank = self._units, self._rank
        if before is None:
            before = len(rank) + 1
        work, count = 0.0, 0
        for unit in queue:
            if count == cap:
                break
            known, unknown, _ = units[unit]
            work += known + unknown * guess
            if count and (work > target or rank[unit] > before):
                break
            count += 1
        return count

    def _module_cut(self, queue: Deque[int], count: int, most_work: float,
                    guess: float) -> int:
        """Where a batch of the first ``count`` units of ``queue`` should
        end so as not to cut a module (a suite's neighbours often share
        state, as in a serial run): past the rest of the module its last
        unit is in, if that is at most ``count`` more units and
        ``most_work`` estimated seconds; else, if the module goes on,
        before the module's units in the batch, if they are at most half of
        it; else at ``count``.  A module's units are consecutive in a
        queue (queues keep the reference order), so its ends are found by
        bisection: a batch of 20,000 tests calls ``module_of`` ~30 times."""
        if not count or count >= len(queue):
            return count
        units, test_ids = self._units, self._test_ids
        module = module_of(test_ids[units[queue[count - 1]][2][-1]])

        def same(index: int) -> bool:
            return module_of(test_ids[units[queue[index]][2][0]]) == module

        bound = min(2 * count, len(queue))
        if bound == len(queue) or not same(bound):
            end = _first_false(same, count, bound)
            work = 0.0
            for unit in itertools.islice(queue, count, end):
                known, unknown, _ = units[unit]
                work += known + unknown * guess
            if work <= most_work:
                return end
            return count
        # The module goes on past what the batch may take: leave its start
        # to a later batch, which may then hold all of it.
        first = count - count // 2  # the module's units may start here or later
        if first < count and not same(first - 1):
            return _first_false(lambda index: not same(index), first, count)
        return count

    def starts_over(self, worker: int) -> bool:
        """True (once) when the batch just handed to ``worker`` goes back in
        the reference order: the pool runs it in a fresh process, so that
        every worker process runs its tests in that order."""
        if worker in self._seams:
            self._seams.discard(worker)
            return True
        return False

    def _earliest_plan(self):
        """The plan whose front unit comes first in reference order, and
        the rank of the next plan's front (None if no other plan has any)."""
        fronts = sorted((self._rank[plan[0]], worker)
                        for worker, plan in enumerate(self._plans) if plan)
        if not fronts:
            return None, None
        return fronts[0][1], (fronts[1][0] if len(fronts) > 1 else None)

    def _ensure_plan(self, worker: int) -> None:
        """A worker beyond the planned ones starts with an empty plan."""
        while worker >= len(self._plans):
            self._plans.append(collections.deque())
            self._known_left.append(0.0)
            self._unknown_left.append(0)
            self._last.append(-1)
            self._busy.append(0.0)
            self._last_work.append(0.0)
        self._workers = max(self._workers, len(self._plans))

    def _take(self, worker: int, cap: int, guess: float, target: float,
              before: Optional[int] = None, whole_modules: bool = False) -> List[int]:
        """The next batch from the front of ``worker``'s plan (see
        :meth:`_batch_size`); with ``whole_modules``, ending where a module
        does when it can (see :meth:`_module_cut`)."""
        plan, units = self._plans[worker], self._units
        count = self._batch_size(plan, cap, guess, target, before)
        if whole_modules:
            count = self._module_cut(plan, count, target, guess)
        taken: List[int] = []
        take, pop = taken.append, plan.popleft
        known_taken, unknown_taken = 0.0, 0
        for _ in range(count):
            unit = pop()
            take(unit)
            known, unknown, _ = units[unit]
            known_taken += known
            unknown_taken += unknown
        self._known_left[worker] -= known_taken
        self._unknown_left[worker] -= unknown_taken
        work = known_taken + unknown_taken * guess
        # When the worker should be done with what it holds (estimated).
        self._busy[worker] = max(self._busy[worker], self._clock()) + work
        self._last_work[worker] = work
        return taken

    def _hand_out(self, worker: int, taken: List[int]) -> List[str]:
        batch: List[str] = []
        handed, rank, units, test_ids = self._handed, self._rank, self._units, self._test_ids
        for unit in taken:
            for position in units[unit][2]:
                test_id = test_ids[position]
                handed[test_id] = (worker, position, rank[unit])
                batch.append(test_id)
        if taken:
            last = rank[taken[-1]]
            # After a seam the fresh process's sequence starts with this batch.
            self._last[worker] = last if worker in self._seams else max(self._last[worker], last)
        return batch

    # --- stealing ------------------------------------------------------------

    def _remaining(self, worker: int, guess: float) -> float:
        return self._known_left[worker] + self._unknown_left[worker] * guess

    def _steal(self, thief: int) -> bool:
        """Move the back of another plan into ``thief``'s empty plan; False
        if nothing is worth taking (see the module docstring)."""
        guess = self._unknown_estimate()
        guess = 1.0 if guess is None else guess
        now = self._clock()
        free = max(self._busy[thief], now)
        shares = []
        for victim, plan in enumerate(self._plans):
            if plan and victim != thief:
                left = self._remaining(victim, guess)
                gone = victim in self._gone
                if gone:
                    share = left / 2  # its worker is gone: take it over
                else:
                    # Even out the two workers' estimated finishing times.
                    share = (max(self._busy[victim], now) + left - free) / 2
                shares.append((-share, victim, gone, left))
        shares.sort()
        after = self._last[thief]
        for minus_share, victim, _, _ in shares:
            if minus_share < 0 and self._move_back(victim, thief, -minus_share, guess, after):
                return True
        gain = max(SEAM_MIN_SECONDS, SEAM_FRACTION * self._planned_per_worker(guess))
        for minus_share, victim, gone, _ in shares:
            if gone or -minus_share >= gain:
                moved = self._move_back(victim, thief, -minus_share, guess, None)
                if moved and self._rank[self._plans[thief][0]] <= after:
                    self._seams.add(thief)
                return moved
        # The thief should still be busy, but that is an estimate: rather
        # than stop it, give it the last unit of a plan with work worth
        # sharing, if that unit comes after its last one.
        for _, victim, _, left in shares:
            if left >= 2 * gain and self._move_back(victim, thief, 0.0, guess, after):
                return True
        return False

    def _planned_per_worker(self, guess: float) -> float:
        return (self._planned_known + self._planned_unknown * guess) / self._workers

    def _move_back(self, victim: int, thief: int, share: float, guess: float,
                   after: Optional[int]) -> bool:
        """Move about ``share`` seconds of ``victim``'s plan, from its back,
        to ``thief``'s plan; with ``after``, only units ranked after it.
        At least one unit if any qualifies."""
        plan, units, rank = self._plans[victim], self._units, self._rank
        moved: List[int] = []
        work = 0.0
        while plan and (not moved or work < share):
            if after is not None and rank[plan[-1]] <= after:
                break
            unit = plan.pop()
            known, unknown, _ = units[unit]
            work += known + unknown * guess
            self._known_left[victim] -= known
            self._unknown_left[victim] -= unknown
            self._known_left[thief] += known
            self._unknown_left[thief] += unknown
            moved.append(unit)
        self._plans[thief].extend(reversed(moved))
        return bool(moved)

    # --- crashes ---------------------------------------------------------------

    def put_back(self, test_ids: Sequence[str]) -> None:
        """Ids a lost worker never ran go back to the front of the plan
        they were handed from, one unit each (their group's worker is gone
        anyway), so its replacement runs them first; until it asks, any
        worker may take them."""
        by_worker: Dict[int, List[int]] = collections.defaultdict(list)
        for test_id in test_ids:
            worker, position, rank = self._handed.get(test_id, (0, None, -1))
            if position is None:
                position = len(self._test_ids)
                self._test_ids.append(test_id)
            self._units.append((0.0, 1, (position,)))
            self._rank.append(rank)
            by_worker[worker].append(len(self._units) - 1)
        for worker, new_units in by_worker.items():
            self._ensure_plan(worker)
            new_units.sort(key=self._rank.__getitem__)
            self._plans[worker].extendleft(reversed(new_units))
            self._unknown_left[worker] += len(new_units)
            self._gone.add(worker)
            self._busy[worker] = 0.0
            self._last[worker] = -1  # a fresh process starts a fresh sequence


def _longest_first_plans(units: List[Unit], workers: int, estimate: float) -> List[List[int]]:
    """LPT: each unit, longest first (ties in reference order), into the
    least loaded plan (ties: fewer units, then the lower worker); each plan
    then sorted back into reference order."""
    weighted = sorted(range(len(units)), key=lambda u: -(units[u][0] + units[u][1] * estimate))
    plans: List[List[int]] = [[] for _ in range(workers)]
    heap = [(0.0, 0, worker) for worker in range(workers)]
    push, pop = heapq.heappush, heapq.heappop
    for unit in weighted:
        load, count, worker = pop(heap)
        plans[worker].append(unit)
        known, unknown, _ = units[unit]
        push(heap, (load + known + unknown * estimate, count + 1, worker))
    for plan in plans:
        plan.sort()
    return plans


def _first_false(predicate: Callable[[int], bool], low: int, high: int) -> int:
    """The first index in [low, high) where ``predicate`` is false (it is
    true up to some index and false from there), or ``high``."""
    while low < high:
        middle = (low + high) // 2
        if predicate(middle):
            low = middle + 1
        else:
            high = middle
    return low


def _module_runs(units: List[Unit], test_ids: Sequence[str], estimate: float,
                 limit: float) -> List[Unit]:
    """Consecutive single-test units of one module joined into runs of at
    most ``limit`` estimated seconds (a longer test stays alone)."""
    runs: List[Unit] = []
    module, known, unknown, members = None, 0.0, 0, []
    for unit_known, unit_unknown, positions in units:
        cost = unit_known + unit_unknown * estimate
        unit_module = module_of(test_ids[positions[0]])
        if members and (unit_module != module
                        or known + unknown * estimate + cost > limit):
            runs.append((known, unknown, tuple(members)))
            known, unknown, members = 0.0, 0, []
        module = unit_module
        known += unit_known
        unknown += unit_unknown
        members.extend(positions)
    if members:
        runs.append((known, unknown, tuple(members)))
    return runs


def _tail_start(units: List[Unit], workers: int, estimate: float) -> int:
    """Where the shared tail starts: the longest run of units at the end of
    the reference order that holds at most ``TAIL_FRACTION`` of the work per
    worker, each unit at most half of that: a longer one (the longest test
    listed last) is better planned, longest first, than left to the end."""
    costs = [known + unknown * estimate for known, unknown, _ in units]
    budget = TAIL_FRACTION * sum(costs) / workers
    largest = budget / 2
    start, work = len(units), 0.0
    while start and costs[start - 1] <= largest and work + costs[start - 1] <= budget:
        start -= 1
        work += costs[start]
    return start


def _group_units(test_ids, known, group_of, rng) -> List[Unit]:
    groups = list(group_indices(test_ids, group_of).values())
    units = []
    for members in groups:
        if rng is not None:
            rng.shuffle(members)
        times = [known.get(test_ids[i]) for i in members]
        units.append((sum(t for t in times if t is not None),
                      sum(t is None for t in times), tuple(members)))
    return units
