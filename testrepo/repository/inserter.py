"""The shared half of every backend's inserter: a StreamResult that
re-encodes each event as v2, tallies the run and, on ``stopTestRun``, hands
the backend one ``PendingRun`` to commit.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import TYPE_CHECKING, FrozenSet, List, Mapping, Optional

from testrepo import subunit_v2
from testrepo.repository.events import encode_event, epoch_seconds
from testrepo.repository.records import PendingRun, RunRecord
from testrepo.repository.tally import RunTally

if TYPE_CHECKING:
    from testrepo.repository.abstract import Run


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
