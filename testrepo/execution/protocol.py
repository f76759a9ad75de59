"""The framing between the parent and built-in workers (both directions).

Parent → worker (stdin): one JSON list of test ids per line, a batch.
Closing stdin tells the worker to finish.

Worker → parent (stdout): lines of JSON, each a message:

* ``["r", N, ids]``: discovery done, N tests found; the worker is ready.
  ``ids`` is the list of test ids in discovery order if the worker was
  started with ``--send-ids`` (so the parent needs no listing process),
  else ``null``.
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
from typing import BinaryIO, List, Tuple

READY = "r"
TEST = "t"
BATCH_DONE = "b"


def write_ready(out: BinaryIO, test_ids: List[str], send_ids: bool) -> None:
    message = [READY, len(test_ids), test_ids if send_ids else None]
    out.write(json.dumps(message).encode("utf-8") + b"\n")
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


def parse_messages(buffer: bytes) -> Tuple[List[Tuple], int]:
    """The complete messages at the start of ``buffer`` as ``(kind, fields,
    payload)`` (payload: a test frame's v2 bytes, else ``b""``), and the
    number of bytes they used; an incomplete message is left for later."""
    messages = []
    pos, size = 0, len(buffer)
    while pos < size:
        newline = buffer.find(b"\n", pos)
        if newline < 0:
            break
        try:
            message = json.loads(buffer[pos:newline])
        except ValueError as err:
            raise ProtocolError(
                f"unexpected output from worker: {buffer[pos:newline][:200]!r}") from err
        if message[0] == TEST:
            end = newline + 1 + message[5]
            if end > size:
                break
            messages.append((TEST, message, buffer[newline + 1:end]))
            pos = end
        else:
            messages.append((message[0], message, b""))
            pos = newline + 1
    return messages, pos
