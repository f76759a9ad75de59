"""The framing between the parent and built-in workers (both directions),
on two pipes of their own (the worker's ``--control R,W``; the tests keep
stdin, stdout and stderr).

Parent → worker: one JSON list of test ids per line, a batch.  Closing the
pipe tells the worker to finish.

Worker → parent: messages, each one of

* ``["r", N, ids]`` and a newline: discovery done, N tests found; the
  worker is ready.  ``ids`` is the list of test ids in discovery order if
  the worker was started with ``--send-ids`` (so the parent needs no
  listing process), else ``null``.  A worker another worker forked (the
  pytest worker's ``--fork-slots``) adds its pid: ``["r", N, null, pid]``.
* a test frame, one per finished test: ``T``, then a fixed binary header
  (:data:`_FRAME_HEADER`: status code as in subunit v2, ``has_details``,
  start and stop as epoch seconds in doubles, the lengths of the test id
  and of the payload), the test id in UTF-8 and the payload: the test's
  subunit v2 events (``has_details``: they carry attachments worth
  showing).  Binary because the parent reads 20,000 of these for 20,000
  trivial tests, and decoding a JSON header each time was the largest
  part of its work.
* ``["d", id]`` and a newline: the handed-out test ``id`` has run and
  reported its results under other ids (testscenarios multiplies a test
  when it runs); sent only then, so that it costs nothing per test.
* ``["b"]`` and a newline: the current batch is finished.

The parser turns a test frame into ``("t", test_id, status, start, stop,
size, has_details)``, the shape the JSON header had.

A frame is written with one ``write`` and flushed at once, so the parent
learns of every finished test immediately and a worker that dies loses at
most the test it was running.
"""

from __future__ import annotations

import json
import struct
from typing import BinaryIO, Dict, List, Optional, Tuple

from testrepo.subunit_v2 import STATUS_CODES, STATUS_NAMES

READY = "r"
TEST = "t"
HANDED_DONE = "d"
BATCH_DONE = "b"

_FRAME_MARK = b"T"
# status code, has_details, start, stop, len(test id), len(payload)
_FRAME_HEADER = struct.Struct("<BBddII")
_FRAME_START = len(_FRAME_MARK) + _FRAME_HEADER.size
_TEST_MARK = _FRAME_MARK[0]


def write_ready(out: BinaryIO, test_ids: List[str], send_ids: bool,
                pid: Optional[int] = None,
                holdings: Optional[Dict[int, List[str]]] = None) -> None:
    """``["r", N, ids or None]``, then the pid of a forked worker, then
    (worker 0 of a split pytest collection) the files each worker holds."""
    message = [READY, len(test_ids), test_ids if send_ids else None]
    if pid is not None or holdings is not None:
        message.append(pid)
    if holdings is not None:
        message.append(holdings)
    out.write(json.dumps(message).encode("utf-8") + b"\n")
    out.flush()


def write_test_frame(out: BinaryIO, test_id: str, status: str, start: float,
                     stop: float, data: bytes, has_details: bool) -> None:
    encoded_id = test_id.encode("utf-8")
    header = _FRAME_HEADER.pack(STATUS_CODES[status], has_details, start, stop,
                                len(encoded_id), len(data))
    out.write(b"".join((_FRAME_MARK, header, encoded_id, data)))
    out.flush()


def write_handed_done(out: BinaryIO, test_id: str) -> None:
    out.write(json.dumps([HANDED_DONE, test_id]).encode("utf-8") + b"\n")
    out.flush()


def write_batch_done(out: BinaryIO) -> None:
    out.write(b'["b"]\n')
    out.flush()


def encode_batch(test_ids: List[str]) -> bytes:
    return json.dumps(test_ids).encode("utf-8") + b"\n"


class ProtocolError(Exception):
    """The worker wrote something that is not a frame (a bug or a test
    that wrote to the worker's private stdout)."""


def parse_messages(buffer: bytes) -> Tuple[List[Tuple], int]:
    """The complete messages at the start of ``buffer`` as ``(kind, fields,
    payload)`` (payload: a test frame's v2 bytes, else ``b""``), and the
    number of bytes they used; an incomplete message is left for later."""
    messages = []
    pos, size = 0, len(buffer)
    unpack = _FRAME_HEADER.unpack_from
    while pos < size:
        if buffer[pos] == _TEST_MARK:
            if pos + _FRAME_START > size:
                break
            code, details, start, stop, id_size, data_size = unpack(buffer, pos + 1)
            id_end = pos + _FRAME_START + id_size
            end = id_end + data_size
            if end > size:
                break
            try:
                test_id = buffer[pos + _FRAME_START:id_end].decode("utf-8")
                status = STATUS_NAMES[code]
            except (UnicodeDecodeError, KeyError) as err:
                raise ProtocolError(
                    f"corrupt test frame from worker: {buffer[pos:end][:200]!r}") from err
            messages.append((TEST, (TEST, test_id, status, start, stop, data_size,
                                    bool(details)), buffer[id_end:end]))
            pos = end
            continue
        newline = buffer.find(b"\n", pos)
        if newline < 0:
            break
        try:
            message = json.loads(buffer[pos:newline])
        except ValueError as err:
            raise ProtocolError(
                f"unexpected output from worker: {buffer[pos:newline][:200]!r}") from err
        messages.append((message[0], message, b""))
        pos = newline + 1
    return messages, pos
