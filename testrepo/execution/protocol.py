"""The framing between the parent and built-in workers (both directions).

Parent → worker (stdin): one JSON list of test ids per line, a batch.
Closing stdin tells the worker to finish.

Worker → parent (stdout): lines of JSON, each a message:

* ``["r", N]``: discovery done, N tests found; the worker is ready.
* ``["t", test_id, status, start, stop, size, has_details]`` followed by
  exactly ``size`` bytes: the test's subunit v2 events (times are epoch
  seconds; ``has_details``: the events carry attachments worth showing).
* ``["b"]``: the current batch is finished.

A frame is written with one ``write`` and flushed at once, so the parent
learns of every finished test immediately and a worker that dies loses at
most the test it was running.
"""

from __future__ import annotations

import json
from typing import BinaryIO, Iterator, List, Tuple

READY = "r"
TEST = "t"
BATCH_DONE = "b"


def write_ready(out: BinaryIO, count: int) -> None:
    out.write(json.dumps([READY, count]).encode("utf-8") + b"\n")
    out.flush()


def write_test_frame(out: BinaryIO, test_id: str, status: str, start: float,
                     stop: float, data: bytes, has_details: bool) -> None:
    header = json.dumps([TEST, test_id, status, start, stop, len(data), has_details])
    out.write(header.encode("utf-8") + b"\n" + data)
    out.flush()


def write_batch_done(out: BinaryIO) -> None:
    out.write(b'["b"]\n')
    out.flush()


def write_batch(stdin: BinaryIO, test_ids: List[str]) -> None:
    stdin.write(json.dumps(test_ids).encode("utf-8") + b"\n")
    stdin.flush()


class ProtocolError(Exception):
    """The worker wrote something that is not a frame (a bug or a test
    that wrote to the worker's private stdout)."""


def read_messages(stream: BinaryIO) -> Iterator[Tuple]:
    """Yield ``(kind, fields, payload)`` until EOF; payload is the v2 bytes
    of a test frame, else ``b""``."""
    readline, read = stream.readline, stream.read
    while True:
        line = readline()
        if not line:
            return
        try:
            message = json.loads(line)
        except ValueError as err:
            raise ProtocolError(f"unexpected output from worker: {line[:200]!r}") from err
        if message[0] == TEST:
            size = message[5]
            payload = read(size) if size else b""
            if len(payload) != size:
                return  # the worker died mid-frame
            yield TEST, message, payload
        else:
            yield message[0], message, b""
