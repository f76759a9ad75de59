"""The repository contract: stored runs, the failing set and test durations.

A repository holds numbered runs (0, 1, 2, ...). Each run is the subunit v2
byte stream that was inserted, plus a ``RunRecord`` summary kept in an index.
Beside the runs it keeps two things the scheduler and reports read back
without re-parsing streams:

* the *failing set*: which test ids currently fail, with each one's stored
  events (so ``failing_stream()`` can show tracebacks);
* the latest known *duration* of each test id.

This module holds the ``Repository`` and ``Run`` contracts. All
bookkeeping (counting, durations, failing-set changes, buffering each
test's events) is shared, in template methods here and in its neighbours,
and a backend only stores what it is handed (``_begin``/``_write``/
``_commit`` on its ``Inserter``, the ``_``-prefixed queries on its
``Repository``):

* ``records``: the values stored and handed out (``RunRecord``,
  ``PendingRun``, ``FailingUpdate``);
* ``events``: status vocabulary and v2 event encoding;
* ``tally``: what a run did, event by event (``RunTally``, ``TallyResult``);
* ``inserter``: the ``Inserter`` contract and its shared logic;
* ``removal``: what removing runs does to the index (``RemovalPlan``);
* ``spool``: the local temp file a run is written to while it records,
  and recovery of those a killed testr left behind.
"""

from __future__ import annotations

import abc
from typing import BinaryIO, Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple

from testrepo import subunit_v2
from testrepo.errors import NoRunsError, RepositoryError, UnknownRunError
from testrepo.repository.events import (NON_FINAL_STATUSES, PASSING_STATUSES, SKIPPED_STATUS,
                                        TIMED_STATUSES, encode_event, epoch_seconds,
                                        results_of_stream)
from testrepo.repository.inserter import Inserter
from testrepo.repository.records import FailingUpdate, PendingRun, RunRecord
from testrepo.repository.removal import RemovalPlan, plan_removal
from testrepo.repository.tally import RunTally, TallyResult

# The contract's vocabulary, importable from here as it always was.
__all__ = [
    "NON_FINAL_STATUSES",
    "PASSING_STATUSES",
    "SKIPPED_STATUS",
    "TIMED_STATUSES",
    "FailingUpdate",
    "Inserter",
    "PendingRun",
    "RemovalPlan",
    "Repository",
    "Run",
    "RunRecord",
    "RunTally",
    "TallyResult",
    "encode_event",
    "epoch_seconds",
    "results_of_stream",
]


class Run(abc.ABC):
    """One stored run: its record and its subunit v2 bytes."""

    def __init__(self, record: RunRecord):
        self.record = record
        self.run_id = record.run_id

    @abc.abstractmethod
    def stream(self) -> BinaryIO:
        """The run's subunit v2 bytes as stored, as a binary file object."""

    def failures(self) -> bytes:
        """The v2 events of each test this run failed (tracebacks included),
        in test id order: what ``testr last`` shows.  Backends that index
        them answer without reading the stream."""
        tally = TallyResult()
        self.replay(tally)
        return b"".join(events for _, events in sorted(tally.tally.failed_events.items()))

    def replay(self, result) -> None:
        """Parse the stored stream into the StreamResult ``result``.

        Does not call ``startTestRun``/``stopTestRun``, so several runs can
        be replayed into one result. Bytes that are not subunit arrive as
        test-less ``stdout`` file events.
        """
        with self.stream() as stream:
            subunit_v2.replay(stream.read(), result)


def _checked_metadata(metadata):
    metadata = dict(metadata or {})
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            # A caller bug (e.g. an int seed not yet formatted), not a user
            # error: the index stores strings only.
            raise TypeError("run metadata must map str to str, got %r: %r" % (key, value))
    return metadata


class Repository(abc.ABC):
    """A store of test runs. ``url`` and ``path`` name it in messages."""

    url: str
    path: str

    def insert(self, partial: bool = False,
               metadata: Optional[Mapping[str, str]] = None) -> Inserter:
        """An Inserter that stores one run when its ``stopTestRun`` is called.

        ``partial=True`` marks a run of a subset of the tests (filtered,
        ``--failing``): it changes the failing set only for the tests it ran.
        """
        return self._make_inserter(bool(partial), _checked_metadata(metadata))

    def append(self, run_id: int) -> Inserter:
        """An Inserter that adds its events to stored run ``run_id`` (``run
        --combine``, ``load --id``) instead of storing a new run.

        When it commits, the run keeps its id and holds its old stream
        followed by the new events; its record counts both and its failures
        are the combined run's. Durations and the failing set change as a
        partial run of just the new events would change them. Raises
        UnknownRunError if there is no such run.
        """
        run = self.get_run(run_id)
        inserter = self._make_inserter(run.record.partial, dict(run.record.metadata))
        inserter.append_to(run)
        return inserter

    def latest_id(self) -> int:
        run_id = self._latest_id()
        if run_id is None:
            raise NoRunsError(
                "No runs in the repository at %s yet; run `testr run` or "
                "`testr load` first." % self.path)
        return run_id

    def run_ids(self) -> List[int]:
        return sorted(self._run_ids())

    def get_run(self, run_id: int) -> Run:
        run = self._get_run(run_id)
        if run is None:
            raise UnknownRunError(self._unknown_run_message(run_id))
        return run

    def _unknown_run_message(self, run_id):
        ids = self.run_ids()
        if not ids:
            held = "it holds no runs yet; run `testr run` or `testr load` first"
        else:
            held = "it holds runs %d to %d" % (ids[0], ids[-1])
        return "No run %r in the repository at %s; %s." % (run_id, self.path, held)

    def runs(self) -> List[RunRecord]:
        return sorted(self._runs(), key=lambda record: record.run_id)

    def failing_ids(self) -> List[str]:
        return sorted(self._failing_ids())

    def failing_stream(self) -> bytes:
        """The stored events of every failing test, in test id order."""
        return b"".join(events for _, events in sorted(self._failing_events()))

    def durations(self, test_ids: Optional[Iterable[str]] = None) -> Dict[str, float]:
        """Latest known seconds per test id; ids without one are left out."""
        wanted = None if test_ids is None else list(dict.fromkeys(test_ids))
        return dict(self._durations(wanted))

    def recover_orphans(self) -> List[RunRecord]:
        """Store runs left half-written by killed processes as interrupted
        partial runs and return their records (backends without such a
        thing: none)."""
        return []

    def run_durations(self, run_id: int) -> Dict[str, float]:
        """Durations measured by ``run_id`` that are still the latest known
        for their test: for the latest run, every test it timed."""
        return dict(self._run_durations(run_id))

    def slowest(self, run_id: int, limit: Optional[int] = None) -> List[Tuple[str, float]]:
        """``(test id, seconds)`` of :meth:`run_durations`, slowest first
        (ties by id), at most ``limit`` of them."""
        return self._slowest(run_id, limit)

    def _slowest(self, run_id, limit):
        rows = sorted(self._run_durations(run_id), key=lambda row: (-row[1], row[0]))
        return rows if limit is None else rows[:limit]

    def count(self) -> int:
        return self._count()

    def failed_tests(self, run_ids: Iterable[int]) -> Dict[int, List[str]]:
        """{run id: sorted test ids whose final result in that run is a
        failure} for each stored run of ``run_ids`` (ids that are not stored
        runs are left out). Backends answer from their index, without
        reading the streams, so ``report --history`` can look at 1,000 runs."""
        wanted = set(run_ids)
        found: Dict[int, List[str]] = {run_id: [] for run_id in self._run_ids()
                                       if run_id in wanted}
        for run_id, test_id in self._failed_tests(sorted(found)):
            found[run_id].append(test_id)
        for test_ids in found.values():
            test_ids.sort()
        return found

    def _failed_tests(self, run_ids: List[int]) -> Iterable[Tuple[int, str]]:
        """(run id, test id) of every failure of the stored runs ``run_ids``.
        This default reads each stream; backends with an index override it."""
        for run_id in run_ids:
            for test_id, (status, _) in self._test_results(run_id).items():
                if status not in PASSING_STATUSES and status != SKIPPED_STATUS:
                    yield run_id, test_id

    def test_results(self, run_id: int) -> Dict[str, Tuple[str, Optional[float]]]:
        """{test id: (final status, seconds or None)} of every test of stored
        run ``run_id``; a retried test gives its latest attempt."""
        self.get_run(run_id)  # UnknownRunError
        return dict(self._test_results(run_id))

    def _test_results(self, run_id: int) -> Mapping[str, Tuple[str, Optional[float]]]:
        """This default decodes the stream (only ids, statuses and times);
        backends that keep per-test rows override it."""
        with self.get_run(run_id).stream() as stream:
            data = stream.read()
        return results_of_stream(data)

    def close(self) -> None:
        """Release connections the backend keeps open (a database pool);
        the repository can still be used afterwards and reconnects."""

    @abc.abstractmethod
    def _make_inserter(self, partial: bool, metadata: Dict[str, str]) -> Inserter:
        """A new backend Inserter."""

    @abc.abstractmethod
    def _latest_id(self) -> Optional[int]:
        """The highest run id, or None when there are no runs."""

    @abc.abstractmethod
    def _run_ids(self) -> Iterable[int]:
        """All run ids, in any order."""

    @abc.abstractmethod
    def _get_run(self, run_id: int) -> Optional[Run]:
        """The run, or None if there is no such run id."""

    @abc.abstractmethod
    def _runs(self) -> Iterable[RunRecord]:
        """Every run's record, in any order."""

    @abc.abstractmethod
    def _failing_ids(self) -> Iterable[str]:
        """The failing test ids, in any order."""

    @abc.abstractmethod
    def _failing_events(self) -> Iterable[Tuple[str, bytes]]:
        """(test id, v2 events) for each failing test, in any order."""

    @abc.abstractmethod
    def _durations(self, test_ids: Optional[List[str]]) -> Iterable[Tuple[str, float]]:
        """(test id, seconds) for ``test_ids`` (distinct), or all if None."""

    @abc.abstractmethod
    def _run_durations(self, run_id: int) -> Iterable[Tuple[str, float]]:
        """(test id, seconds) for the tests whose stored duration ``run_id``
        measured."""

    @abc.abstractmethod
    def _count(self) -> int:
        """The number of stored runs."""

    # Removing runs and carrying state over from another repository. The
    # index is left as if the removed runs had never been inserted; see
    # ``remove_runs``.

    def remove_run(self, run_id: int) -> None:
        """Remove one run; see ``remove_runs``."""
        self.remove_runs([run_id])

    def remove_runs(self, run_ids: Iterable[int]) -> None:
        """Remove runs, leaving the index as if they had never been inserted.

        The failing set becomes what the remaining runs make it: if a full
        run newer than every removed run remains it is unchanged, otherwise
        it is rebuilt from the streams of the remaining runs since the
        latest remaining full run. A test whose latest duration a removed
        run measured gets the latest duration a remaining run measured, or
        none. Durations carried over by ``import_durations`` belong to no
        run and stay. Run ids are never reused: the next run still gets a
        higher id than any run ever stored. Raises UnknownRunError (and
        removes nothing) if any id is not a stored run.
        """
        wanted = frozenset(run_ids)
        for _ in range(_REMOVE_ATTEMPTS):
            records = self.runs()
            stored = [record.run_id for record in records]
            missing = sorted(wanted.difference(stored))
            if missing:
                raise UnknownRunError(self._unknown_run_message(missing[0]))
            if not wanted or self._remove(self._removal_plan(wanted, records)):
                return
        raise RepositoryError(
            "The repository at %s kept changing while runs %s were being removed; "
            "try again when no other testr process is writing to it."
            % (self.path, ", ".join(str(run_id) for run_id in sorted(wanted))))

    def replace_failing(self, events: Mapping[str, bytes], run_id: int) -> None:
        """Make the failing set exactly ``events`` ({test id: v2 events}),
        as failed by stored run ``run_id``. For importers: a normal run
        updates the failing set itself."""
        self.get_run(run_id)
        self._replace_failing({test_id: (bytes(data), run_id)
                               for test_id, data in events.items()})

    def import_durations(self, durations: Mapping[str, float]) -> int:
        """Record durations (seconds) for tests that have none yet, e.g.
        timings carried over from another repository; returns how many were
        added. They belong to no stored run: removing runs keeps them, and
        the next run that times a test replaces its value."""
        new = {test_id: float(seconds) for test_id, seconds in durations.items()}
        known = self.durations(new)
        return self._import_durations(
            {test_id: seconds for test_id, seconds in new.items() if test_id not in known})

    def _removal_plan(self, removed: FrozenSet[int], records: List[RunRecord]) -> RemovalPlan:
        return plan_removal(self, removed, records)

    @abc.abstractmethod
    def _timed_by(self, run_ids: FrozenSet[int]) -> Iterable[str]:
        """Test ids whose stored duration was measured by one of ``run_ids``."""

    @abc.abstractmethod
    def _remove(self, plan: "RemovalPlan") -> bool:
        """Apply ``plan`` atomically and delete the runs' streams; return
        False, changing nothing, if the stored run ids are no longer
        ``plan.seen_ids`` (another process inserted or removed a run)."""

    @abc.abstractmethod
    def _replace_failing(self, failing: Dict[str, Tuple[bytes, int]]) -> None:
        """Make the failing set exactly ``failing`` ({test id: (events, run id)})."""

    @abc.abstractmethod
    def _import_durations(self, durations: Dict[str, float]) -> int:
        """Store durations for tests that have none, belonging to no run;
        return how many were stored."""


# How often remove_runs recomputes its plan when other processes keep
# changing the repository underneath it.
_REMOVE_ATTEMPTS = 3
