"""The repository contract: stored runs, the failing set and test durations.

A repository holds numbered runs (0, 1, 2, ...). Each run is the subunit v2
byte stream that was inserted, plus a ``RunRecord`` summary kept in an index.
Beside the runs it keeps two things the scheduler and reports read back
without re-parsing streams:

* the *failing set*: which test ids currently fail, with each one's stored
  events (so ``failing_stream()`` can show tracebacks);
* the latest known *duration* of each test id.

All bookkeeping (counting, durations, failing-set changes, buffering each
test's events) lives here as template methods; a backend only stores what
it is handed (``_begin``/``_write``/``_commit`` on its ``Inserter``, the
``_``-prefixed queries on its ``Repository``).
"""

from __future__ import annotations

import abc
import dataclasses
import datetime
import types
from typing import BinaryIO, Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple

from testrepo import subunit_v2

from testrepo.errors import NoRunsError, RepositoryError, UnknownRunError

# Statuses that end a test. Anything final that is not passing or skipping
# counts as a failure (fail, uxsuccess).
PASSING_STATUSES = frozenset({"success", "xfail"})
SKIPPED_STATUS = "skip"
# Statuses that do not end a test: "exists" is enumeration (a listing), not
# a result, and None marks an attachment or non-test output.
NON_FINAL_STATUSES = frozenset({None, "exists", "inprogress"})
# Skips are excluded: a skipped test's elapsed time says nothing about how
# long it takes to run, and would mislead the scheduler.
TIMED_STATUSES = frozenset({"success", "fail", "xfail", "uxsuccess"})

_UTC = datetime.timezone.utc


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """One run's summary, as kept in the index.

    ``passed`` counts success and xfail, ``failed`` counts fail and
    uxsuccess, ``skipped`` counts skip; ``exists`` events and output that
    belongs to no test are not counted. ``duration`` is the seconds from the
    earliest to the latest event timestamp (0.0 if there were none) and
    ``started`` the earliest timestamp in ISO 8601, or None.
    """

    run_id: int
    passed: int
    failed: int
    skipped: int
    duration: float
    started: Optional[str]
    partial: bool
    interrupted: bool
    # Excluded from hashing (a mapping is unhashable) but compared.
    metadata: Mapping[str, str] = dataclasses.field(default_factory=dict, hash=False)

    def __post_init__(self):
        # A read-only copy, so a record handed out cannot be changed by the
        # caller, nor by whoever passed the mapping in.
        object.__setattr__(self, "metadata", types.MappingProxyType(dict(self.metadata)))

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped


@dataclasses.dataclass(frozen=True)
class FailingUpdate:
    """How one run changes the failing set.

    A full run (``replace_all``) makes the failing set exactly ``failed``.
    A partial or interrupted run removes ``cleared`` (tests it passed or
    skipped) and adds or replaces ``failed``; tests it did not run keep
    their entries.
    """

    replace_all: bool
    failed: Mapping[str, bytes]
    cleared: FrozenSet[str]

    def apply(self, failing: Dict[str, bytes]) -> None:
        """Apply this update to a ``{test_id: events}`` dict in place."""
        if self.replace_all:
            failing.clear()
        for test_id in self.cleared:
            failing.pop(test_id, None)
        failing.update(self.failed)


@dataclasses.dataclass(frozen=True)
class PendingRun:
    """Everything a backend stores when an inserter commits, bar the run id."""

    summary: RunRecord  # run_id is -1 until the backend allocates one
    durations: Mapping[str, float]
    failing: FailingUpdate
    # Set when events are appended to stored run ``run_id``
    # (Repository.append): the backend replaces that run instead of
    # allocating an id, and ``run_failures`` are all of the combined run's
    # failures (``failing`` then only holds what the new events change).
    run_id: Optional[int] = None
    run_failures: Optional[Mapping[str, bytes]] = None
    # {test id: (status, start, stop)} of every test in the stored run, for
    # backends that keep per-test rows (Inserter.keep_results); else None.
    results: Optional[Mapping[str, Tuple[str, Optional[float], Optional[float]]]] = None

    def record(self, run_id: int) -> RunRecord:
        return dataclasses.replace(self.summary, run_id=run_id)

    @property
    def failures(self) -> Mapping[str, bytes]:
        """{test id: events} of every test the stored run failed."""
        return self.failing.failed if self.run_failures is None else self.run_failures


class RunTally:
    """Counts, durations and failing-set changes of one run, event by event.

    Events are keyed by (test id, route code), as testtools' StreamToDict
    does, so the same test id running on two workers does not get its
    events interleaved.
    """

    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        # Epoch seconds of the earliest and latest event.
        self.first: Optional[float] = None
        self.last: Optional[float] = None
        self.durations: Dict[str, float] = {}
        self.failed_events: Dict[str, bytes] = {}
        self.cleared: set = set()
        self.flaky: set = set()  # failed, then passed on a retry
        self._counted: Dict[str, str] = {}  # test id -> counter it is in
        self._started: Dict[Tuple[str, Optional[str]], float] = {}
        self._buffers: Dict[Tuple[str, Optional[str]], List[bytes]] = {}
        # filter_tags: a test carrying one of these is not counted unless
        # it fails (see Inserter.hide_tags); keys of such tests in progress.
        self.hidden_tags: FrozenSet[str] = frozenset()
        self._hidden: set = set()
        # {test id: (status, start, stop)} of each test's latest attempt
        # (epoch seconds or None); kept only for backends that store
        # per-test rows (Inserter.keep_results), since 100,000 of them cost
        # memory the others do not need.
        self.results: Optional[Dict[str, Tuple[str, Optional[float], Optional[float]]]] = None

    def observe(self, data, test_id, test_status, route_code, timestamp, tags=None):
        """Account for one event whose v2 encoding is ``data`` (``timestamp``
        in epoch seconds, or None; ``tags`` its test tags)."""
        self._note_time(timestamp)
        if test_id is None or test_status == "exists":
            return
        key = (test_id, route_code)
        if tags and self.hidden_tags and not self.hidden_tags.isdisjoint(tags):
            self._hidden.add(key)
        self._buffers.setdefault(key, []).append(data)
        if test_status == "inprogress":
            if timestamp is not None:
                self._started[key] = timestamp
        elif test_status not in NON_FINAL_STATUSES:
            self._finish(key, test_status, timestamp)

    def _note_time(self, timestamp):
        if timestamp is None:
            return
        # min/max rather than first/last seen: workers' events interleave
        # and need not arrive in timestamp order.
        if self.first is None or timestamp < self.first:
            self.first = timestamp
        if self.last is None or timestamp > self.last:
            self.last = timestamp

    def _finish(self, key, test_status, timestamp):
        events = b"".join(self._buffers.pop(key))
        started = self._started.pop(key, None)
        duration = None
        if started is not None and timestamp is not None:
            duration = timestamp - started
        hidden = key in self._hidden
        self._hidden.discard(key)
        self._record(key[0], test_status, events, duration, hidden, started, timestamp)

    def observe_outcome(self, outcome):
        """Account for a test the built-in runner reported whole (a
        :class:`~testrepo.results.outcome.TestOutcome`)."""
        self._note_time(outcome.start)
        self._note_time(outcome.stop)
        self._record(outcome.test_id, outcome.status, outcome.events, outcome.duration,
                     start=outcome.start, stop=outcome.stop)

    def _record(self, test_id, test_status, events, duration, hidden=False, start=None,
                stop=None):
        self._uncount_earlier_attempt(test_id, test_status, hidden)
        if self.results is not None:
            self.results[test_id] = (test_status, start, stop)
        if test_status in PASSING_STATUSES or test_status == SKIPPED_STATUS:
            if hidden:
                pass  # filter_tags: not counted, but still clears the failing set
            elif test_status == SKIPPED_STATUS:
                self.skipped += 1
            else:
                self.passed += 1
            # Latest result within the run wins: a retried test that
            # finally passes leaves the failing set.
            self.failed_events.pop(test_id, None)
            self.cleared.add(test_id)
        else:
            self.failed += 1
            self.failed_events[test_id] = events
            self.cleared.discard(test_id)
        if test_status in TIMED_STATUSES and duration is not None:
            # Clamp: clock steps between workers can make this negative.
            self.durations[test_id] = max(0.0, duration)

    def _uncount_earlier_attempt(self, test_id, test_status, hidden=False):
        """A test reported again in one run (``run --retry``) counts once, as
        its latest attempt; one that failed and then passed is flaky."""
        counted = self._counted.pop(test_id, None)
        if counted is not None:
            setattr(self, counted, getattr(self, counted) - 1)
            if counted == "failed" and test_status in PASSING_STATUSES:
                self.flaky.add(test_id)
        if hidden and test_status in PASSING_STATUSES | {SKIPPED_STATUS}:
            return  # filter_tags: not counted at all
        if test_status in PASSING_STATUSES:
            self._counted[test_id] = "passed"
        elif test_status == SKIPPED_STATUS:
            self._counted[test_id] = "skipped"
        else:
            self._counted[test_id] = "failed"

    def pending(self, partial, interrupted, metadata) -> PendingRun:
        duration = 0.0
        started = None
        if self.first is not None:
            duration = self.last - self.first
            started = datetime.datetime.fromtimestamp(self.first, _UTC).isoformat()
        summary = RunRecord(
            run_id=-1,
            passed=self.passed,
            failed=self.failed,
            skipped=self.skipped,
            duration=duration,
            started=started,
            partial=partial,
            interrupted=interrupted,
            metadata=dict(metadata, flaky=str(len(self.flaky))) if self.flaky else metadata,
        )
        failing = FailingUpdate(
            replace_all=not (partial or interrupted),
            failed=dict(self.failed_events),
            cleared=frozenset(self.cleared),
        )
        return PendingRun(summary, dict(self.durations), failing, results=self.results)


def results_of_stream(data: bytes) -> Dict[str, Tuple[str, Optional[float]]]:
    """{test id: (final status, seconds or None)} of a v2 stream, keeping
    each test's latest attempt: the per-test part of what RunTally works
    out, without re-encoding or buffering any event."""
    started: Dict[Tuple[str, Optional[str]], float] = {}
    results: Dict[str, Tuple[str, Optional[float]]] = {}
    for event in subunit_v2.iter_events(data):
        status = event.status
        if event.test_id is None:
            continue
        if status in NON_FINAL_STATUSES:
            if status == "inprogress" and event.timestamp is not None:
                started[(event.test_id, event.route_code)] = event.timestamp
            continue
        start = started.pop((event.test_id, event.route_code), None)
        seconds = None
        if start is not None and event.timestamp is not None and status in TIMED_STATUSES:
            seconds = max(0.0, event.timestamp - start)
        results.pop(event.test_id, None)  # insertion order = order of final results
        results[event.test_id] = (status, seconds)
    return results


def epoch_seconds(timestamp) -> Optional[float]:
    """A StreamResult timestamp (datetime) as epoch seconds; a naive
    datetime is taken as UTC, which is what subunit itself emits."""
    if timestamp is None:
        return None
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=_UTC)
    return timestamp.timestamp()


def encode_event(test_id=None, test_status=None, test_tags=None, runnable=True,
                 file_name=None, file_bytes=None, eof=False, mime_type=None,
                 route_code=None, timestamp=None) -> bytes:
    """A StreamResult ``status()`` call as v2 bytes."""
    if test_status not in subunit_v2.STATUS_CODES:
        # A caller bug: v2 cannot record it, so it could never be replayed.
        raise ValueError(
            "test status %r of %r is not a subunit v2 status" % (test_status, test_id))
    return subunit_v2.encode(
        test_id, test_status, list(test_tags) if test_tags else None, runnable,
        file_name, b"" if file_bytes is None else file_bytes, eof, mime_type, route_code,
        epoch_seconds(timestamp))


class Inserter:
    """A StreamResult that stores one run; ``Repository.insert()`` makes one.

    Every event is re-encoded as subunit v2 and handed to the backend as it
    arrives. ``stopTestRun`` commits the run atomically and then sets
    ``run_id`` and ``record``. An inserter stores exactly one run.
    """

    # Backends that store a row per test result set this (see RunTally.results).
    keep_results = False

    def __init__(self, partial: bool = False, metadata: Optional[Mapping[str, str]] = None):
        self.partial = partial
        self.metadata = dict(metadata or {})
        self.run_id: Optional[int] = None
        self.record: Optional[RunRecord] = None
        self._interrupted = False
        self._state = "new"  # -> "open" -> "done"
        self._tally = RunTally()
        if self.keep_results:
            self._tally.results = {}
        # Repository.append: the stored run the events are added to, and a
        # tally of the new events alone (only they change the failing set).
        self._base: Optional[Run] = None
        self._new_tally: Optional[RunTally] = None

    def append_to(self, run: "Run") -> None:
        """Add the events to stored ``run`` instead of storing a new run;
        ``Repository.append`` calls this."""
        self._base = run
        self._new_tally = RunTally()

    def hide_tags(self, tags) -> None:
        """filter_tags: a test carrying one of ``tags`` is not counted in the
        run's totals unless it fails (testr's documented behaviour). It is
        still stored, timed and cleared from the failing set."""
        for tally in (self._tally, self._new_tally):
            if tally is not None:
                tally.hidden_tags = frozenset(tags)

    @property
    def hidden_tags(self) -> FrozenSet[str]:
        return self._tally.hidden_tags

    def startTestRun(self):
        if self._state == "done":
            raise RuntimeError("this inserter already stored run %s" % self.run_id)
        if self._state == "new":
            self._begin()
            self._state = "open"
            if self._base is not None:
                self._copy_base()

    def _copy_base(self):
        """Start with the stored run's bytes, counted as if just received."""
        with self._base.stream() as stream:
            data = stream.read()
        self._write(data)
        for event in subunit_v2.iter_events(data):
            encoded = subunit_v2.encode(
                event.test_id, event.status, event.tags, event.runnable, event.file_name,
                event.file_bytes or b"", event.eof, event.mime_type, event.route_code,
                event.timestamp)
            self._tally.observe(encoded, event.test_id, event.status, event.route_code,
                                event.timestamp, event.tags)

    def status(self, test_id=None, test_status=None, test_tags=None, runnable=True,
               file_name=None, file_bytes=None, eof=False, mime_type=None,
               route_code=None, timestamp=None):
        data = encode_event(test_id, test_status, test_tags, runnable, file_name,
                            file_bytes, eof, mime_type, route_code, timestamp)
        self.startTestRun()
        self._write(data)
        for tally in (self._tally, self._new_tally):
            if tally is not None:
                tally.observe(data, test_id, test_status, route_code, epoch_seconds(timestamp),
                              test_tags)

    def add_outcome(self, outcome):
        """Store a test the built-in runner reported whole: its v2 bytes are
        written verbatim, never re-encoded."""
        self.startTestRun()
        self._write(outcome.events)
        for tally in (self._tally, self._new_tally):
            if tally is not None:
                tally.observe_outcome(outcome)

    def add_raw(self, data: bytes):
        """Store already-encoded v2 bytes that belong to no test (a
        worker's stray output)."""
        self.startTestRun()
        self._write(data)

    def flush(self):
        """Push what was written so far to storage (no fsync); called when
        the run goes idle, so a killed process loses as little as possible."""
        if self._state == "open":
            self._flush()

    def _flush(self) -> None:
        """Backends that buffer writes push them out here."""

    def failed_ids(self) -> List[str]:
        """Tests whose latest result in this run so far is a failure."""
        return sorted(self._tally.failed_events)

    def mark_interrupted(self):
        """Store this run as interrupted; it then only updates the failing
        set for the tests it ran, like a partial run."""
        self._interrupted = True

    def stopTestRun(self):
        self.startTestRun()
        pending = self._tally.pending(self.partial, self._interrupted, self.metadata)
        if self._base is not None:
            pending = self._appended(pending)
        # Whatever happens, this inserter is finished: retrying a failed
        # commit would need the temp file the backend may have moved.
        self._state = "done"
        self.record = self._commit(pending)
        self.run_id = self.record.run_id

    def _appended(self, combined: PendingRun) -> PendingRun:
        """What committing an append stores: the combined run's record and
        failures under the stored run's id; durations and failing-set
        changes of the new events only, applied as a partial run would."""
        base = self._base.record
        new = self._new_tally.pending(True, self._interrupted, {})
        summary = dataclasses.replace(
            combined.summary, partial=base.partial,
            interrupted=base.interrupted or self._interrupted)
        return PendingRun(summary, new.durations, new.failing, run_id=base.run_id,
                          run_failures=combined.failing.failed, results=combined.results)

    @abc.abstractmethod
    def _begin(self) -> None:
        """Prepare storage for the run's bytes (e.g. open a temp file)."""

    @abc.abstractmethod
    def _write(self, data: bytes) -> None:
        """Store one event's v2 bytes; called in arrival order."""

    @abc.abstractmethod
    def _commit(self, pending: PendingRun) -> RunRecord:
        """Atomically allocate a run id and store the run; return its record."""


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

    def _removal_plan(self, removed: FrozenSet[int], records: List[RunRecord]) -> "RemovalPlan":
        remaining = [record for record in records if record.run_id not in removed]
        tallies: Dict[int, RunTally] = {}
        return RemovalPlan(
            run_ids=removed,
            seen_ids=tuple(record.run_id for record in records),
            failing=self._failing_without(removed, remaining, tallies),
            durations=self._durations_without(removed, remaining, tallies))

    def _failing_without(self, removed, remaining, tallies):
        full_ids = [r.run_id for r in remaining if not (r.partial or r.interrupted)]
        if full_ids and full_ids[-1] > max(removed):
            return None  # the failing set was rebuilt after every removed run
        start = full_ids[-1] if full_ids else -1
        failing: Dict[str, Tuple[bytes, int]] = {}
        for record in remaining:
            if record.run_id < start:
                continue
            tally = self._tally(record.run_id, tallies)
            update = tally.pending(record.partial, record.interrupted, {}).failing
            if update.replace_all:
                failing.clear()
            for test_id in update.cleared:
                failing.pop(test_id, None)
            failing.update((test_id, (data, record.run_id))
                           for test_id, data in update.failed.items())
        return failing

    def _durations_without(self, removed, remaining, tallies):
        # A duration row names the newest run that timed its test, so only
        # older remaining runs can supply a replacement: search newest first.
        lost = set(self._timed_by(removed))
        found: Dict[str, Optional[Tuple[float, int]]] = {}
        for record in reversed(remaining):
            if not lost:
                break
            durations = self._tally(record.run_id, tallies).durations
            for test_id in lost.intersection(durations):
                found[test_id] = (durations[test_id], record.run_id)
            lost.difference_update(durations)
        found.update((test_id, None) for test_id in lost)
        return found

    def _tally(self, run_id: int, tallies: Dict[int, RunTally]) -> RunTally:
        if run_id not in tallies:
            result = TallyResult()
            self.get_run(run_id).replay(result)
            tallies[run_id] = result.tally
        return tallies[run_id]

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


@dataclasses.dataclass(frozen=True)
class RemovalPlan:
    """What removing ``run_ids`` does to the index, worked out from the
    runs that remain (``Repository.remove_runs`` documents the rules).

    ``seen_ids``: every stored run id the plan was computed from.
    ``failing``: the new failing set, {test id: (events, run id that failed
    it)}, or None to leave it unchanged. ``durations``: for each test whose
    duration a removed run measured, the replacement (seconds, run id), or
    None to forget its duration.
    """

    run_ids: FrozenSet[int]
    seen_ids: Tuple[int, ...]
    failing: Optional[Mapping[str, Tuple[bytes, int]]]
    durations: Mapping[str, Optional[Tuple[float, int]]]


class TallyResult:
    """Counts, durations and failing-set changes of a stream, worked out
    exactly as an Inserter would (``self.tally``), storing nothing.

    Used to re-derive what a stored (or imported) run did, e.g. when runs
    are removed.
    """

    def __init__(self):
        self.tally = RunTally()

    def startTestRun(self):
        pass

    def stopTestRun(self):
        pass

    def status(self, test_id=None, test_status=None, route_code=None, timestamp=None,
               **event):
        data = encode_event(test_id=test_id, test_status=test_status,
                            route_code=route_code, timestamp=timestamp, **event)
        self.tally.observe(data, test_id, test_status, route_code, epoch_seconds(timestamp))
