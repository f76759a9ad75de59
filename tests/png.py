"""Just enough PNG decoding to count colours in a browser screenshot
(8-bit RGB or RGBA, not interlaced: what Chromium writes)."""

from __future__ import annotations

import collections
import re
import struct
import zlib


def _chunks(data: bytes):
    offset = 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        yield kind, data[offset + 8:offset + 8 + length]
        offset += 12 + length


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _add_bytes(x: bytes, y: bytes) -> bytes:
    """(x[i] + y[i]) mod 256 for every i, as one big-integer operation."""
    size = len(x)
    low, high = int.from_bytes(b"\x7f" * size, "big"), int.from_bytes(b"\x80" * size, "big")
    a, b = int.from_bytes(x, "big"), int.from_bytes(y, "big")
    return (((a & low) + (b & low)) ^ ((a ^ b) & high)).to_bytes(size, "big")


def _unfilter(kind, line, prior, bpp):
    if kind == 0:
        return bytearray(line)
    if kind == 2:  # Up, the common case: bytewise add without a Python loop
        return bytearray(_add_bytes(line, prior))
    out = bytearray(line)
    for i in range(len(out)):
        a = out[i - bpp] if i >= bpp else 0
        b = prior[i]
        c = prior[i - bpp] if i >= bpp else 0
        predictor = (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]
        out[i] = (out[i] + predictor) & 0xFF
    return out


def read_png(data: bytes):
    """(width, height, bytes per pixel, rows of raw pixel bytes)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    chunks = list(_chunks(data))
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}")
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * bpp
    prior = bytearray(stride)
    rows = []
    for y in range(height):
        start = y * (stride + 1)
        prior = _unfilter(raw[start], raw[start + 1:start + 1 + stride], prior, bpp)
        rows.append(bytes(prior))
    return width, height, bpp, rows


def colour_counts(data: bytes) -> collections.Counter:
    """How many pixels have each RGB colour."""
    _, _, bpp, rows = read_png(data)
    pixel = re.compile(b"(...)" + b"." * (bpp - 3), re.S)  # RGB, alpha dropped
    counts = collections.Counter()
    for row in rows:
        counts.update(pixel.findall(row))
    return collections.Counter({tuple(rgb): count for rgb, count in counts.items()})
