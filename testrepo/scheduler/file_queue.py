"""Dynamic scheduling for pytest workers: files stay together.

A pytest worker pays for every file it runs tests of: it collects the
file (imports it and builds its items) the first time, and sets up the
file's module-scoped fixtures each time it enters the file.  The unittest
queue (:mod:`testrepo.scheduler.queue`) spreads single tests over the
workers, so with two workers both collect almost every file.  This queue
hands out *pieces* of files instead:

* The selected tests become *blocks* (a whole group, or one test) and the
  blocks become one piece per file (``tests/test_a.py`` for
  ``tests/test_a.py::TestA::test_x``), in the *reference order*: the
  listing order of files and, inside a file, of its tests; with
  ``--random`` a seeded shuffle of the files and of the blocks inside each
  file (a group's members are shuffled too, but stay together).
* With recorded durations each worker gets a *plan* of pieces: the
  pieces, longest first, go to the least loaded plan (LPT, as
  :func:`testrepo.scheduler.static.partition` does; unknown tests count the
  median recorded duration), and each plan then runs in reference order.  A
  file longer than the work per worker is first cut into consecutive
  pieces of at most that (no plan could hold it whole); collecting a file
  costs a plan whose worker has not collected it; with the collection
  split between the workers, LPT (which takes the pieces longest first)
  sends many pieces where their file must be collected again, so plans of
  each worker's own files (:func:`_home_plans`), evened out as below, are
  kept instead when they end no later; what LPT leaves
  unbalanced, the fullest plan gives the end of one of its files to the
  emptiest (the suffix that evens them out best, :func:`_even_out`), and
  what the run's own noise leaves, stealing evens out at the end::

      queue = FileQueue.build(['a.py::x', 'a.py::y', 'b.py::slow', 'c.py::z'],
                              workers=2, durations={'b.py::slow': 3.0,
                              'a.py::x': 1.0, 'a.py::y': 1.0, 'c.py::z': 1.0})
      queue.next_batch(0)  -> ['b.py::slow']        (plan 0: b.py)
      queue.next_batch(1)  -> ['a.py::x']           (plan 1: a.py, c.py)

* With no history there are no plans: the pieces wait in one shared queue
  in reference order, and a worker whose plan is empty takes the next
  whole file from it, the next it has collected if there is one (with the
  collection split between the workers, each holds a run of files:
  :mod:`testrepo.execution.pytest_split`).
* A worker takes batches from the front of its plan.  Batches shrink as
  the work drains (guided self-scheduling, as in the unittest queue):
  about ``remaining work / (2 * workers)`` seconds of estimated work, never
  more than ``MAX_SLICE``, at least one block; the first batch is one block
  and each batch at most doubles the last.
* A worker with nothing left in its plan or the shared queue *steals*
  half of the estimated work left in the fullest plan, from its back
  (its last file's last tests first), so the victim keeps going forward
  in its own files.  The thief runs what it stole in the same process:
  a pytest session is too expensive to restart for the order's sake
  (:meth:`FileQueue.starts_over` is always False).

So each file's tests run in reference order on every worker, each worker
runs its files in reference order until it steals, and a file is split
between workers only when it is long, or at the end of the run.

Estimates: a recorded duration where there is one; for the other tests the
median recorded duration or, with no history at all, the mean duration
observed so far in this run (:meth:`FileQueue.observe`).
"""

from __future__ import annotations

import collections
import random
import statistics
from typing import (Callable, Collection, Deque, Dict, List, Mapping, Optional, Sequence, Set,
                    Tuple)

from testrepo.scheduler.queue import FIRST_BATCH_UNITS, MAX_SLICE, SizedByWhatRan
from testrepo.scheduler.static import GroupOf, group_indices, known_durations

# What each worker has collected: its files, or None for every file.
Collected = Mapping[int, Optional[Collection[str]]]

# Estimated seconds of the members with a recorded duration, how many
# members have none, and the members' positions in test_ids.
Block = Tuple[float, int, Tuple[int, ...]]

# What collecting a file costs a worker, per test in it, in seconds (pytest
# 9.2 collects 10,000 trivial tests in 100 files in 0.95 s of CPU): a worker
# steals the end of a file it has not collected only if that saves more.
COLLECT_SECONDS_PER_TEST = 1e-4
# And per file: a collection of its own, however small the file (about 2 ms
# with pytest 9.2 for a file of 20 trivial tests).
COLLECT_SECONDS_PER_FILE = 2e-3


class Piece:
    """Blocks of one file, consecutive in reference order (block indices:
    the reference order is the order of the blocks)."""

    __slots__ = ("file", "blocks")

    def __init__(self, file: str, blocks):
        self.file = file
        self.blocks: Deque[int] = collections.deque(blocks)

    @property
    def rank(self) -> int:
        return self.blocks[0]


class FileQueue(SizedByWhatRan):
    """The pieces still to hand out: one plan per worker and a shared queue."""

    def __init__(self, test_ids: Sequence[str], blocks: Sequence[Block],
                 plans: Sequence[Sequence[Piece]], shared: Sequence[Piece], workers: int,
                 unknown_estimate: Optional[float] = None, collected: Optional[Collected] = None):
        self._test_ids = list(test_ids)
        self._blocks: List[Block] = list(blocks)
        self._plans: List[Deque[Piece]] = [collections.deque(plan) for plan in plans]
        self._shared: Deque[Piece] = collections.deque(shared)
        # The files each worker has collected (``collected``, then what it
        # was handed).
        self._collected: List[Set[str]] = [set() for _ in self._plans]
        self._workers = max(1, workers)
        collected = collected or {}
        self._ensure_plan(max([self._workers - 1, *collected]))
        self._left = sum(len(piece.blocks) for piece in self._pieces())
        self._known_left = sum(blocks[b][0] for piece in self._pieces() for b in piece.blocks)
        self._unknown_left = sum(blocks[b][1] for piece in self._pieces() for b in piece.blocks)
        self._history_estimate = unknown_estimate
        self._observed_seconds = 0.0
        self._observed_tests = 0
        self._unit_cap = FIRST_BATCH_UNITS
        # test id -> (worker, file) of the piece it was handed out from.
        self._handed: Dict[str, Tuple[int, str]] = {}
        self._size = collections.Counter(map(file_of, self._test_ids))
        self._collected = _held(collected, len(self._plans), self._size)
        # Pieces put back at the front of the shared queue, run first.
        self._requeued = 0

    @classmethod
    def build(cls, test_ids: Sequence[str], workers: int, durations: Mapping[str, float],
              group_of: Optional[GroupOf] = None, rng: Optional[random.Random] = None,
              collected: Optional[Collected] = None) -> "FileQueue":
        """Pieces in reference order (listing, or shuffled by ``rng``),
        planned for ``workers`` workers when ``durations`` know some;
        ``collected``: what each worker has collected already."""
        workers = max(1, workers)
        known = known_durations(test_ids, durations)
        blocks, files = _blocks_by_file(test_ids, known, group_of, rng)
        if not known:
            pieces = [Piece(file, members) for file, members in files]
            return cls(test_ids, blocks, [], pieces, workers, None, collected)
        estimate = statistics.median(known.values())
        costs = [k + u * estimate for k, u, _ in blocks]
        limit = sum(costs) / workers
        pieces = [piece for file, members in files
                  for piece in _cut(file, members, costs, limit)]
        sizes = collections.Counter(map(file_of, test_ids))
        collect_cost = lambda f: _collect_seconds(sizes[f])  # noqa: E731
        held = _held(collected or {}, workers, sizes)
        spare = [Piece(piece.file, piece.blocks) for piece in pieces]  # _even_out cuts pieces
        plans = _longest_first_plans(pieces, costs, workers, collect_cost, held)
        _even_out(plans, costs, collect_cost, held)
        home = _home_plans(spare, costs, workers, held)
        if home is not None:
            _even_out(home, costs, collect_cost, held, rounds=8 * workers)
            if (max(_loads(home, costs, collect_cost, held))
                    <= max(_loads(plans, costs, collect_cost, held))):
                plans = home
        return cls(test_ids, blocks, plans, [], workers, estimate, collected)

    def __len__(self) -> int:
        return self._left

    def starts_over(self, worker: int) -> bool:
        """Never: a stolen piece runs in the worker's own pytest session."""
        return False

    def next_batch(self, worker: Optional[int] = None) -> List[str]:
        """The next batch of test ids for ``worker``; empty when nothing is
        left.  Without a worker, the earliest piece left, whole."""
        if worker is None:
            return self._drain_one()
        self._ensure_plan(worker)
        plan = self._plans[worker]
        if not plan:
            if self._shared:
                plan.append(self._next_shared(worker))
            elif not self._steal(worker):
                return []
        guess = self._unknown_estimate()
        cap, self._unit_cap = self._unit_cap, self._unit_cap * 2
        target = float("inf") if guess is None else self._batch_target(guess)
        return self._take(worker, cap, guess or 0.0, target)

    def put_back(self, test_ids: Sequence[str]) -> None:
        """Ids a lost worker never ran: a piece per file, at the front of
        the shared queue, so the next worker that asks runs them first."""
        by_file: Dict[str, List[int]] = {}
        for test_id in test_ids:
            self._test_ids.append(test_id)
            self._blocks.append((0.0, 1, (len(self._test_ids) - 1,)))
            worker, file = self._handed.get(test_id, (None, file_of(test_id)))
            if worker is not None:
                self._collected[worker].clear()  # its replacement starts afresh
            by_file.setdefault(file, []).append(len(self._blocks) - 1)
        for file, blocks in reversed(list(by_file.items())):
            self._shared.appendleft(Piece(file, blocks))
            self._requeued += 1
            self._left += len(blocks)
            self._unknown_left += len(blocks)

    # --- taking ------------------------------------------------------------

    def _next_shared(self, worker: int) -> Piece:
        """The shared queue's first piece of a file ``worker`` has
        collected (tests put back first), else its first piece: with the
        collection split between the workers, each runs its own files
        before it collects another's."""
        position = 0
        if self._requeued:
            self._requeued -= 1
        else:
            held = self._collected[worker]
            position = next((p for p, piece in enumerate(self._shared) if piece.file in held), 0)
        piece = self._shared[position]
        del self._shared[position]
        return piece

    def _batch_target(self, guess: float) -> float:
        """Seconds of estimated work in the next batch (guided self-scheduling)."""
        remaining = self._known_left + self._unknown_left * guess
        return min(remaining / (2 * self._workers), MAX_SLICE)

    def _take(self, worker: int, cap: int, guess: float, target: float) -> List[str]:
        """Blocks from the front of ``worker``'s plan (-1: the shared queue),
        at most ``cap`` of them, while their estimated work stays within
        ``target``; at least one."""
        plan = self._shared if worker < 0 else self._plans[worker]
        batch: List[str] = []
        blocks, test_ids, handed = self._blocks, self._test_ids, self._handed
        collected = self._collected[worker] if worker >= 0 else set()
        work, count = 0.0, 0
        while plan and count < cap:
            piece = plan[0]
            known, unknown, members = blocks[piece.blocks[0]]
            cost = known + unknown * guess
            if count and work + cost > target:
                break
            piece.blocks.popleft()
            if not piece.blocks:
                plan.popleft()
            work += cost
            count += 1
            self._known_left -= known
            self._unknown_left -= unknown
            collected.add(piece.file)
            for position in members:
                test_id = test_ids[position]
                handed[test_id] = (worker, piece.file)
                batch.append(test_id)
        self._left -= count
        return batch

    def _steal(self, thief: int) -> bool:
        """Move about half the estimated work of the fullest plan, from its
        back, to ``thief``'s empty plan, less what collecting a file new to
        the thief costs; False if no plan has work worth that."""
        guess = self._unknown_estimate()
        guess = 1.0 if guess is None else guess
        loads = [(self._plan_work(plan, guess), -index) for index, plan in enumerate(self._plans)
                 if plan and index != thief]
        if not loads:
            return False
        work, minus_victim = max(loads)
        victim, known = self._plans[-minus_victim], self._collected[thief]
        moved: List[Piece] = []
        taken, cost = 0.0, 0.0
        while victim:
            piece = victim[-1]
            if not moved or moved[0].file != piece.file:
                extra = 0.0 if piece.file in known else self._collect_cost(piece.file)
                if taken >= (work - cost - extra) / 2:
                    break
                cost += extra
                moved.insert(0, Piece(piece.file, []))
            block = piece.blocks.pop()
            moved[0].blocks.appendleft(block)
            known_s, unknown, _ = self._blocks[block]
            taken += known_s + unknown * guess
            if not piece.blocks:
                victim.pop()
            if taken >= (work - cost) / 2:
                break
        self._plans[thief].extend(moved)
        return bool(moved)

    def _collect_cost(self, file: str) -> float:
        return _collect_seconds(self._size.get(file, 1))

    def _plan_work(self, plan: Deque[Piece], guess: float) -> float:
        blocks = self._blocks
        return sum(blocks[b][0] + blocks[b][1] * guess for piece in plan for b in piece.blocks)

    def _drain_one(self) -> List[str]:
        pieces = [(plan[0].rank, index) for index, plan in enumerate(self._plans) if plan]
        if self._shared:
            pieces.append((self._shared[0].rank, -1))
        if not pieces:
            return []
        _, index = min(pieces)
        plan = self._shared if index < 0 else self._plans[index]
        return self._take(index, len(plan[0].blocks), 0.0, float("inf"))

    def _pieces(self):
        for plan in self._plans:
            yield from plan
        yield from self._shared

    def _ensure_plan(self, worker: int) -> None:
        """A worker beyond the planned ones starts with an empty plan."""
        while worker >= len(self._plans):
            self._plans.append(collections.deque())
            self._collected.append(set())
        self._workers = max(self._workers, len(self._plans))


def _collect_seconds(tests: int) -> float:
    """What collecting a file of ``tests`` tests costs a worker."""
    return COLLECT_SECONDS_PER_FILE + COLLECT_SECONDS_PER_TEST * tests


def file_of(test_id: str) -> str:
    """``'tests/test_a.py::TestA::test_x[1]'`` -> ``'tests/test_a.py'``."""
    return test_id.split("::", 1)[0]


def _blocks_by_file(test_ids, known, group_of, rng):
    """The blocks in reference order, and ``(file, block indices)`` per
    file in reference order.  A group belongs to the file of its first
    member."""
    by_file: Dict[str, List[List[int]]] = {}
    for members in group_indices(test_ids, group_of).values():
        if rng is not None:
            rng.shuffle(members)
        by_file.setdefault(file_of(test_ids[members[0]]), []).append(members)
    files = list(by_file.items())
    if rng is not None:
        rng.shuffle(files)
    blocks: List[Block] = []
    layout = []
    for file, groups in files:
        if rng is not None:
            rng.shuffle(groups)
        first = len(blocks)
        for members in groups:
            times = [known.get(test_ids[i]) for i in members]
            blocks.append((sum(t for t in times if t is not None),
                           sum(t is None for t in times), tuple(members)))
        layout.append((file, range(first, len(blocks))))
    return blocks, layout


def _cut(file: str, members: range, costs: List[float], limit: float) -> List[Piece]:
    """``file``'s blocks as consecutive pieces of about ``limit`` seconds
    each (one piece if the file is no longer than that)."""
    pieces: List[Piece] = []
    current: List[int] = []
    work = 0.0
    for block in members:
        if current and work + costs[block] > limit * (1 + 1e-9):  # not for rounding
            pieces.append(Piece(file, current))
            current, work = [], 0.0
        current.append(block)
        work += costs[block]
    if current:
        pieces.append(Piece(file, current))
    return pieces


def _held(collected: Collected, workers: int, sizes: Mapping[str, int]) -> List[Set[str]]:
    """The files each of ``workers`` has collected (``sizes``: every file)."""
    held: List[Set[str]] = [set() for _ in range(workers)]
    for worker, files in collected.items():
        if worker < workers:
            held[worker].update(sizes if files is None else files)
    return held


def _longest_first_plans(pieces: List[Piece], costs: List[float], workers: int,
                         collect_cost: Callable[[str], float],
                         held: Sequence[Set[str]]) -> List[List[Piece]]:
    """LPT: each piece, longest first (ties in reference order), into the
    plan where it would end first, counting what collecting its file costs
    a plan that has no piece of it yet (ties: fewer pieces, then the lower
    worker); each plan then runs in reference order."""
    work = [sum(costs[b] for b in piece.blocks) for piece in pieces]
    order = sorted(range(len(pieces)), key=lambda p: (-work[p], pieces[p].rank))
    plans: List[List[Piece]] = [[] for _ in range(workers)]
    loads = [0.0] * workers
    files: List[Set[str]] = [set(files) for files in held]
    for p in order:
        file = pieces[p].file
        cost = collect_cost(file)
        load, _, best = min(
            (loads[w] + work[p] + (0.0 if file in files[w] else cost),
             len(plans[w]), w) for w in range(workers))
        loads[best] = load
        plans[best].append(pieces[p])
        files[best].add(file)
    for plan in plans:
        plan.sort(key=lambda piece: piece.rank)
    return plans


def _home_plans(pieces: List[Piece], costs: List[float], workers: int,
                held: Sequence[Set[str]]) -> Optional[List[List[Piece]]]:
    """With the collection split between the workers (each file held by
    one): each piece in the plan of the worker that holds its file (a file
    nobody holds: the emptiest plan), for :func:`_even_out` to balance by
    moving the ends of files.  LPT balances whole pieces better, but sends
    some pieces where their file must be collected again; the build keeps
    whichever ends first.  None where no worker holds only some files."""
    files = {piece.file for piece in pieces}
    if not any(0 < len(files & mine) < len(files) for mine in held):
        return None
    plans: List[List[Piece]] = [[] for _ in range(workers)]
    loads = [0.0] * workers
    for piece in pieces:
        home = next((w for w in range(workers) if piece.file in held[w]), None)
        if home is None:
            home = min(range(workers), key=loads.__getitem__)
        plans[home].append(piece)
        loads[home] += sum(costs[b] for b in piece.blocks)
    return plans


def _loads(plans: List[List[Piece]], costs: List[float],
           collect_cost: Callable[[str], float], held: Sequence[Set[str]]) -> List[float]:
    """Each plan's estimated seconds, with collecting the files its worker
    has not collected."""
    return [sum(costs[b] for piece in plan for b in piece.blocks)
            + sum(map(collect_cost, {p.file for p in plan} - held[w]))
            for w, plan in enumerate(plans)]


def _even_out(plans: List[List[Piece]], costs: List[float],
              collect_cost: Callable[[str], float], held: Sequence[Set[str]],
              rounds: Optional[int] = None) -> None:
    """What whole pieces leave uneven: the fullest plan gives the end of
    one of its files (the suffix that best evens the two out) to the
    emptiest plan, where it runs in reference order, as long as that
    shortens the longer of the two, counting what collecting the file
    costs the emptiest plan's worker if it has not collected it.

    LPT over whole files leaves the plans apart by up to a file's work;
    the steal at the end can then move only the back of the fullest plan,
    and a long test there still ends the run late.  Here any file's end
    can move, chosen with every estimate known."""
    loads = _loads(plans, costs, collect_cost, held)  # as LPT counted them
    for _ in range(2 * len(plans) if rounds is None else rounds):
        full = max(range(len(plans)), key=loads.__getitem__)
        empty = min(range(len(plans)), key=loads.__getitem__)
        best = (loads[full], None, 0, 0.0, 0.0)
        has = {p.file for p in plans[empty]}
        for position, piece in enumerate(plans[full]):
            extra = 0.0 if piece.file in has or piece.file in held[empty] else collect_cost(piece.file)
            moved = 0.0
            for count, block in enumerate(reversed(piece.blocks), 1):
                moved += costs[block]
                longer = max(loads[full] - moved, loads[empty] + moved + extra)
                if longer < best[0] - 1e-9:
                    best = (longer, position, count, moved, extra)
        _, position, count, moved, extra = best
        if position is None:
            return
        piece = plans[full][position]
        blocks = list(piece.blocks)
        tail = Piece(piece.file, blocks[len(blocks) - count:])
        if count == len(blocks):
            del plans[full][position]
        else:
            piece.blocks = collections.deque(blocks[:len(blocks) - count])
        plans[empty].append(tail)
        plans[empty].sort(key=lambda p: p.rank)
        loads[full] -= moved
        loads[empty] += moved + extra
