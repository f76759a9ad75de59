"""Working out what a run did, event by event: its counts, the durations
it measured and how it changes the failing set (``RunTally``), for an
inserter or for a stream replayed into a ``TallyResult``.
"""

from __future__ import annotations

import datetime
from typing import Dict, FrozenSet, List, Optional, Tuple

from testrepo.repository.events import (
    NON_FINAL_STATUSES,
    PASSING_STATUSES,
    SKIPPED_STATUS,
    TIMED_STATUSES,
    encode_event,
    epoch_seconds,
)
from testrepo.repository.records import FailingUpdate, PendingRun, RunRecord

_UTC = datetime.timezone.utc


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
