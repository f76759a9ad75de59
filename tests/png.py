"""Just enough PNG decoding to count colours in a browser screenshot
(8-bit RGB or RGBA, not interlaced: what Chromium writes)."""

from __future__ import annotations

import collections
import itertools
import re
import struct
import zlib


def _chunks(data: bytes):
    offset = 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        yield kind, data[offset + 8:offset + 8 + length]
        offset += 12 + length


def _add_bytes(x: bytes, y: bytes) -> bytes:
    """(x[i] + y[i]) mod 256 for every i, as one big-integer operation."""
    size = len(x)
    low, high = int.from_bytes(b"\x7f" * size, "big"), int.from_bytes(b"\x80" * size, "big")
    a, b = int.from_bytes(x, "big"), int.from_bytes(y, "big")
    return (((a & low) + (b & low)) ^ ((a ^ b) & high)).to_bytes(size, "big")


def _unfilter_sub(out, bpp):
    # Each channel is a running sum mod 256 of its bytes.
    for channel in range(bpp):
        sums = itertools.accumulate(out[channel::bpp])
        out[channel::bpp] = bytes(map((0xFF).__and__, sums))


def _unfilter_average(out, prior, bpp):
    for i in range(len(out)):
        left = out[i - bpp] if i >= bpp else 0
        out[i] = (out[i] + ((left + prior[i]) >> 1)) & 0xFF


def _unfilter_paeth(out, prior, bpp):
    for i in range(bpp):  # no left neighbours: the predictor is the byte above
        out[i] = (out[i] + prior[i]) & 0xFF
    for i in range(bpp, len(out)):
        a, b, c = out[i - bpp], prior[i], prior[i - bpp]
        pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - c - c)
        if pa <= pb and pa <= pc:
            out[i] = (out[i] + a) & 0xFF
        elif pb <= pc:
            out[i] = (out[i] + b) & 0xFF
        else:
            out[i] = (out[i] + c) & 0xFF


def _unfilter(kind, line, prior, bpp):
    if kind == 2:  # Up, the common case: bytewise add without a Python loop
        return bytearray(_add_bytes(line, prior))
    out = bytearray(line)
    if kind == 1:
        _unfilter_sub(out, bpp)
    elif kind == 3:
        _unfilter_average(out, prior, bpp)
    elif kind == 4:
        _unfilter_paeth(out, prior, bpp)
    elif kind != 0:
        raise ValueError(f"unknown PNG filter type {kind}")
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


def colour_counts(image) -> collections.Counter:
    """How many pixels of ``image`` (what :func:`read_png` returns) have
    each RGB colour."""
    _, _, bpp, rows = image
    pixel = re.compile(b"(...)" + b"." * (bpp - 3), re.S)  # RGB, alpha dropped
    counts = collections.Counter()
    for row in rows:
        counts.update(pixel.findall(row))
    return collections.Counter({tuple(rgb): count for rgb, count in counts.items()})
