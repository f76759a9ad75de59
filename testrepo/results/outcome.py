"""One finished test, as the built-in runner reports it.

The built-in runner's workers send each finished test as a header plus that
test's subunit v2 bytes (see :mod:`testrepo.execution.protocol`), so the
parent can store, count and display results without parsing v2.  Stages
that accept outcomes implement ``add_outcome(outcome)`` next to the
StreamResult ``status()`` used for external test commands.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
from typing import Dict, List, Optional

_UTC = datetime.timezone.utc
_TEXT = "text/plain;charset=utf8"


@dataclasses.dataclass
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
    """The file attachments in a test's v2 events, by name, in order."""
    import subunit
    import testtools

    found: Dict[str, List[bytes]] = {}

    class Collect(testtools.StreamResult):
        def status(self, file_name=None, file_bytes=None, mime_type=None, **kwargs):
            if file_name is not None and file_bytes is not None:
                if not mime_type or mime_type.startswith("text/"):
                    found.setdefault(file_name, []).append(bytes(file_bytes))

    subunit.ByteStreamToStreamResult(io.BytesIO(events)).run(Collect())
    return found


def synthetic_outcome(test_id: str, worker: int, message: str,
                      status: str = "fail", start: Optional[float] = None) -> TestOutcome:
    """An outcome the runner itself decides (a crash, a timeout, a test that
    was never run), with ``message`` as its traceback."""
    import time

    import subunit

    stop = time.time()
    start = stop if start is None else start
    sink = io.BytesIO()
    encoder = subunit.StreamResultToBytes(sink)
    common = dict(test_id=test_id, test_tags={f"worker-{worker}"}, route_code=str(worker))
    encoder.status(test_status="inprogress",
                   timestamp=datetime.datetime.fromtimestamp(start, _UTC), **common)
    encoder.status(file_name="traceback", file_bytes=message.encode("utf-8"), mime_type=_TEXT,
                   eof=True, timestamp=datetime.datetime.fromtimestamp(stop, _UTC), **common)
    encoder.status(test_status=status,
                   timestamp=datetime.datetime.fromtimestamp(stop, _UTC), **common)
    return TestOutcome(test_id, status, worker, start, stop, sink.getvalue(), True)


def output_event(worker: int, name: str, data: bytes) -> bytes:
    """A v2 file event carrying a worker's stray output (no test id)."""
    import subunit

    sink = io.BytesIO()
    subunit.StreamResultToBytes(sink).status(
        file_name=name, file_bytes=data, mime_type=_TEXT, eof=True,
        test_tags={f"worker-{worker}"}, route_code=str(worker),
        timestamp=datetime.datetime.now(_UTC))
    return sink.getvalue()
