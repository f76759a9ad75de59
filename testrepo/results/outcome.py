"""One finished test, as the built-in runner reports it.

The built-in runner's workers send each finished test as a header plus that
test's subunit v2 bytes (see :mod:`testrepo.execution.protocol`), so the
parent can store, count and display results without parsing v2.  Stages
that accept outcomes implement ``add_outcome(outcome)`` next to the
StreamResult ``status()`` used for external test commands.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Dict, List, Optional

from testrepo import subunit_v2

_TEXT = "text/plain;charset=utf8"


@dataclasses.dataclass(slots=True)
class TestOutcome:
    """``events`` holds the test's v2 events, already tagged with its worker;
    ``start``/``stop`` are epoch seconds; ``has_details`` says whether the
    events carry attachments (traceback, captured output, skip reason)."""

    __test__ = False  # not a unittest class

    test_id: str
    status: str
    worker: int
    start: Optional[float]
    stop: Optional[float]
    events: bytes
    has_details: bool = True

    @property
    def duration(self) -> Optional[float]:
        if self.start is None or self.stop is None:
            return None
        return max(0.0, self.stop - self.start)


def read_attachments(events: bytes) -> Dict[str, List[bytes]]:
    """The text attachments in a test's v2 events, by name, in order."""
    found: Dict[str, List[bytes]] = {}
    for event in subunit_v2.iter_events(events):
        if event.file_name is not None and event.file_bytes is not None:
            if not event.mime_type or event.mime_type.startswith("text/"):
                found.setdefault(event.file_name, []).append(event.file_bytes)
    return found


def synthetic_outcome(test_id: str, worker: int, message: str,
                      status: str = "fail") -> TestOutcome:
    """An outcome the runner itself decides (a crash, a timeout, a test that
    was never run), with ``message`` as its traceback.  It has no duration:
    the time it took says nothing about the test, and must not reach the
    scheduler's history."""
    now = time.time()
    common = dict(tags=[f"worker-{worker}"], route_code=str(worker), timestamp=now)
    events = b"".join((
        subunit_v2.encode(test_id, "inprogress", **common),
        subunit_v2.encode(test_id, None, file_name="traceback",
                          file_bytes=message.encode("utf-8"), mime_type=_TEXT, eof=True,
                          **common),
        subunit_v2.encode(test_id, status, **common),
    ))
    return TestOutcome(test_id, status, worker, None, None, events, True)


def output_event(worker: int, name: str, data: bytes) -> bytes:
    """A v2 file event carrying a worker's stray output (no test id)."""
    return subunit_v2.encode(None, None, tags=[f"worker-{worker}"], file_name=name,
                             file_bytes=data, mime_type=_TEXT, eof=True,
                             route_code=str(worker), timestamp=time.time())
