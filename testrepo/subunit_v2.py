"""A small, fast subunit v2 codec (encode packets, decode byte strings).

python-subunit's ``StreamResultToBytes`` and ``ByteStreamToStreamResult``
are the reference; this module writes byte-for-byte the same packets and
reads anything they write (the tests check both directions).  It exists
because the hot paths (a worker reporting 10,000 tests, ``testr last``
showing a run) cannot afford their per-packet overhead or the import of
testtools, and because it splits attachments bigger than a packet may hold
instead of failing.

Packet layout (subunit v2): signature ``0xB3``; 16-bit flags (version 2
in the top nibble, one bit per optional field, the status in the low 3
bits); the packet length as a variable-length number; then the optional
fields in this order: timestamp (32-bit seconds + varint nanoseconds), test
id, tags, MIME type, file name + content, route code; then a CRC32 of
everything before it.
"""

from __future__ import annotations

import struct
import zlib
from typing import Iterator, List, Optional, Sequence, Tuple

SIGNATURE = 0xB3
FLAG_TEST_ID = 0x0800
FLAG_ROUTE_CODE = 0x0400
FLAG_TIMESTAMP = 0x0200
FLAG_RUNNABLE = 0x0100
FLAG_TAGS = 0x0080
FLAG_FILE_CONTENT = 0x0040
FLAG_MIME_TYPE = 0x0020
FLAG_EOF = 0x0010
VERSION_2 = 0x2000

STATUS_CODES = {None: 0, "exists": 1, "inprogress": 2, "success": 3, "uxsuccess": 4,
                "skip": 5, "fail": 6, "xfail": 7}
STATUS_NAMES = {code: name for name, code in STATUS_CODES.items()}

# A packet's length field holds at most 3 bytes: 4,194,303 bytes in all.
MAX_PACKET = 4194303
# Room left for the other fields when a file's bytes are split.
_FILE_CHUNK = MAX_PACKET - 65536

_pack_16 = struct.Struct(">H").pack
_pack_32 = struct.Struct(">I").pack
_unpack_16 = struct.Struct(">H").unpack_from
_unpack_32 = struct.Struct(">I").unpack_from


def _number(value: int) -> bytes:
    """subunit's variable-length number (1 to 4 bytes, top 2 bits = size)."""
    if value < 0x40:
        return bytes((value,))
    if value < 0x4000:
        return _pack_16(value | 0x4000)
    if value < 0x400000:
        value |= 0x800000
        return bytes((value >> 16, (value >> 8) & 0xFF, value & 0xFF))
    if value < 0x40000000:
        return _pack_32(value | 0xC0000000)
    raise ValueError(f"value too large for subunit v2: {value}")


def _text(value: str) -> bytes:
    data = value.encode("utf-8")
    return _number(len(data)) + data


def _split_time(epoch: float) -> Tuple[int, int]:
    seconds = int(epoch)
    # Microsecond precision, as subunit's datetime-based writer has.
    micros = int(round((epoch - seconds) * 1_000_000))
    if micros >= 1_000_000:
        seconds, micros = seconds + 1, micros - 1_000_000
    return seconds, micros


def _timestamp(epoch: float) -> bytes:
    seconds, micros = _split_time(epoch)
    return _pack_32(seconds) + _number(micros * 1000)


def stored_time(epoch: float) -> float:
    """``epoch`` as a v2 timestamp keeps it, the very float decoding gives
    back: a writer that counts durations from these counts what a replay
    of its stream counts."""
    seconds, micros = _split_time(epoch)
    return seconds + micros / 1_000_000


def encode_tags(tags: Optional[Sequence[str]]) -> bytes:
    """The tags field, to reuse across packets (see :func:`encode`)."""
    if not tags:
        return b""
    return _number(len(tags)) + b"".join(_text(tag) for tag in tags)


def encode(test_id: Optional[str] = None, status: Optional[str] = None,
           tags: Optional[Sequence[str]] = None, runnable: bool = True,
           file_name: Optional[str] = None, file_bytes: bytes = b"", eof: bool = False,
           mime_type: Optional[str] = None, route_code: Optional[str] = None,
           timestamp: Optional[float] = None, *, encoded_tags: Optional[bytes] = None) -> bytes:
    """One event as v2 bytes (several packets if ``file_bytes`` is too big
    for one; only the last carries ``eof`` and ``status``).

    ``timestamp`` is seconds since the epoch (UTC).  ``encoded_tags`` is
    :func:`encode_tags` output, for callers that send many packets with the
    same tags.
    """
    if file_name is not None and len(file_bytes) > _FILE_CHUNK:
        head = encode(test_id, None, tags, runnable, file_name, file_bytes[:_FILE_CHUNK],
                      False, mime_type, route_code, timestamp, encoded_tags=encoded_tags)
        return head + encode(test_id, status, tags, runnable, file_name,
                             file_bytes[_FILE_CHUNK:], eof, mime_type, route_code, timestamp,
                             encoded_tags=encoded_tags)
    flags = VERSION_2 | STATUS_CODES[status]
    parts: List[bytes] = []
    if timestamp is not None:
        flags |= FLAG_TIMESTAMP
        parts.append(_timestamp(timestamp))
    if test_id is not None:
        flags |= FLAG_TEST_ID
        parts.append(_text(test_id))
    if encoded_tags is None:
        encoded_tags = encode_tags(tags)
    if encoded_tags:
        flags |= FLAG_TAGS
        parts.append(encoded_tags)
    if runnable:
        flags |= FLAG_RUNNABLE
    if mime_type:
        flags |= FLAG_MIME_TYPE
        parts.append(_text(mime_type))
    if file_name is not None:
        flags |= FLAG_FILE_CONTENT
        parts.append(_text(file_name))
        parts.append(_number(len(file_bytes)))
        parts.append(bytes(file_bytes))
    if eof:
        flags |= FLAG_EOF
    if route_code is not None:
        flags |= FLAG_ROUTE_CODE
        parts.append(_text(route_code))
    return _frame(flags, b"".join(parts))


def _frame(flags: int, body: bytes) -> bytes:
    """The packet around ``body``: signature, flags, length field, body, CRC."""
    # The length field's own size depends on the total (subunit's rule).
    base = 1 + 2 + len(body) + 4
    length = base + (1 if base <= 62 else 2 if base <= 16381 else 3)
    if length > MAX_PACKET:
        raise ValueError(f"subunit v2 packet too long: {length} bytes")
    content = b"\xb3" + _pack_16(flags) + _number(length) + body
    return content + _pack_32(zlib.crc32(content) & 0xFFFFFFFF)


class Event:
    """One decoded packet.  ``timestamp`` is epoch seconds (or None)."""

    __slots__ = ("test_id", "status", "tags", "runnable", "mime_type", "eof",
                 "file_name", "file_bytes", "route_code", "timestamp")

    def __init__(self, test_id=None, status=None, tags=None, runnable=True, mime_type=None,
                 eof=False, file_name=None, file_bytes=None, route_code=None, timestamp=None):
        self.test_id = test_id
        self.status = status
        self.tags = tags
        self.runnable = runnable
        self.mime_type = mime_type
        self.eof = eof
        self.file_name = file_name
        self.file_bytes = file_bytes
        self.route_code = route_code
        self.timestamp = timestamp

    def as_status(self) -> dict:
        """Keyword arguments for a testtools ``StreamResult.status`` call."""
        import datetime

        timestamp = None
        if self.timestamp is not None:
            timestamp = datetime.datetime.fromtimestamp(self.timestamp, datetime.timezone.utc)
        return dict(test_id=self.test_id, test_status=self.status,
                    test_tags=set(self.tags) if self.tags is not None else None,
                    runnable=self.runnable, mime_type=self.mime_type, eof=self.eof,
                    file_name=self.file_name, file_bytes=self.file_bytes,
                    route_code=self.route_code, timestamp=timestamp)


class DecodeError(ValueError):
    """A packet is corrupt (bad checksum, bad field) or cut short."""


def _read_number(data, pos: int):
    first = data[pos]
    kind = first & 0xC0
    if kind == 0x00:
        return first, pos + 1
    if kind == 0x40:
        return ((first & 0x3F) << 8) | data[pos + 1], pos + 2
    if kind == 0x80:
        return ((first & 0x3F) << 16) | (data[pos + 1] << 8) | data[pos + 2], pos + 3
    return (((first & 0x3F) << 24) | (data[pos + 1] << 16) | (data[pos + 2] << 8)
            | data[pos + 3]), pos + 4


def _read_text(data, pos: int):
    length, pos = _read_number(data, pos)
    end = pos + length
    if end > len(data):
        raise DecodeError("a string runs past the end of its packet")
    raw = bytes(data[pos:end])
    if b"\0" in raw:
        raise DecodeError("a string contains a NUL byte")
    return raw.decode("utf-8"), end


def decode_packet(data, start: int = 0):
    """Decode the packet at ``data[start]``; return ``(Event, end)``.

    :raises DecodeError: truncated or corrupt packet.
    """
    if len(data) - start < 6:
        raise DecodeError("truncated packet")
    flags = _unpack_16(data, start + 1)[0]
    try:
        length, body = _read_number(data, start + 3)
    except IndexError as err:  # a 3- or 4-byte length cut off
        raise DecodeError("truncated packet") from err
    end = start + length
    if length < 7 or end > len(data):
        raise DecodeError("truncated packet")
    if zlib.crc32(data[start:end - 4]) & 0xFFFFFFFF != _unpack_32(data, end - 4)[0]:
        raise DecodeError("bad checksum")
    try:
        return _fields(memoryview(data)[:end - 4], body, flags), end
    except (IndexError, UnicodeDecodeError, struct.error) as err:
        raise DecodeError(f"malformed packet: {err}") from err


def _fields(data, pos: int, flags: int) -> Event:
    event = Event(status=STATUS_NAMES[flags & 0x7], runnable=bool(flags & FLAG_RUNNABLE),
                  eof=bool(flags & FLAG_EOF))
    if flags & FLAG_TIMESTAMP:
        seconds = _unpack_32(data, pos)[0]
        nanos, pos = _read_number(data, pos + 4)
        event.timestamp = seconds + nanos // 1000 / 1_000_000
    if flags & FLAG_TEST_ID:
        event.test_id, pos = _read_text(data, pos)
    if flags & FLAG_TAGS:
        count, pos = _read_number(data, pos)
        tags = []
        for _ in range(count):
            tag, pos = _read_text(data, pos)
            tags.append(tag)
        event.tags = tags
    if flags & FLAG_MIME_TYPE:
        event.mime_type, pos = _read_text(data, pos)
    if flags & FLAG_FILE_CONTENT:
        event.file_name, pos = _read_text(data, pos)
        size, pos = _read_number(data, pos)
        if pos + size > len(data):
            raise DecodeError("file content runs past the end of its packet")
        event.file_bytes = bytes(data[pos:pos + size])
        pos += size
    if flags & FLAG_ROUTE_CODE:
        event.route_code, pos = _read_text(data, pos)
    return event


def iter_events(data: bytes, non_subunit_name: str = "stdout") -> Iterator[Event]:
    """Every event in ``data``.  Bytes that are not subunit arrive as a
    test-less file event named ``non_subunit_name``; a corrupt or cut-off
    packet arrives as a failing ``subunit.parser`` event (subunit's
    convention) and decoding resumes at the next signature byte."""
    pos, size = 0, len(data)
    while pos < size:
        if data[pos] != SIGNATURE:
            nxt = data.find(b"\xb3", pos + 1)
            nxt = size if nxt < 0 else nxt
            yield Event(file_name=non_subunit_name, file_bytes=bytes(data[pos:nxt]))
            pos = nxt
            continue
        try:
            event, pos = decode_packet(data, pos)
        except DecodeError as err:
            yield Event(test_id="subunit.parser", status="fail", eof=True,
                        file_name="Parser Error", file_bytes=str(err).encode("utf-8"),
                        mime_type="text/plain;charset=utf8")
            nxt = data.find(b"\xb3", pos + 1)
            nxt = size if nxt < 0 else nxt
            pos = nxt
            continue
        yield event


def replay(data: bytes, result, non_subunit_name: str = "stdout") -> None:
    """Feed every event in ``data`` to a testtools-style ``result.status``."""
    for event in iter_events(data, non_subunit_name):
        result.status(**event.as_status())
