"""Subunit v2 events as the repository sees them: which statuses end a
test, how a StreamResult ``status()`` call is encoded, and the per-test
results of a stored stream.
"""

from __future__ import annotations

import datetime
from typing import Dict, Optional, Tuple

from testrepo import subunit_v2

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

