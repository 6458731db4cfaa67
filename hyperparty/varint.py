"""Unsigned LEB128 varints, as protobuf, hypercore-protocol 6 and bitfield-rle write them (one copy for
every layer: the wire, the party codec, the RLE bitfields).

7 bits per byte, least significant group first, ``0x80`` marks a continuation.  JS encodes any number
below 2**53; we accept up to 64 bits on decode (protobuf ``uint64``) and refuse longer encodings.
"""

from __future__ import annotations

__all__ = ["encode", "encode_into", "decode", "VarintError", "MAX_VARINT_BYTES"]

MAX_VARINT_BYTES = 10

# Single-byte encodings are by far the most common (headers, small fields): precompute them.
_SMALL = [bytes([i]) for i in range(128)]


class VarintError(ValueError):
    """A varint that is truncated, too long, or negative."""


def encode(n: int) -> bytes:
    """The varint encoding of ``n`` (``n >= 0``)."""
    if 0 <= n < 128:
        return _SMALL[n]
    if n < 0:
        raise VarintError(f"cannot encode negative number {n} as a varint")
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def encode_into(out: bytearray, n: int) -> None:
    """Append the varint encoding of ``n`` to ``out``."""
    if n < 0:
        raise VarintError(f"cannot encode negative number {n} as a varint")
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def decode(buf, pos: int = 0, end: int | None = None) -> tuple[int, int]:
    """Decode a varint from ``buf[pos:end]``; returns ``(value, new_pos)``.

    Raises :class:`VarintError` when the input ends inside the varint or it runs past 10 bytes.
    """
    if end is None:
        end = len(buf)
    if pos < end:
        b = buf[pos]
        if b < 0x80:
            return b, pos + 1
    result = 0
    shift = 0
    start = pos
    while True:
        if pos >= end:
            raise VarintError("truncated varint")
        if pos - start >= MAX_VARINT_BYTES:
            raise VarintError("varint longer than 10 bytes")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
