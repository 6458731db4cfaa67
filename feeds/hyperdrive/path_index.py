"""append-tree 2's path index: the ``paths`` field of every Node, deflated and inflated.

A node at block ``seq`` whose name has ``n`` components stores up to ``n + 1`` lists of block numbers
(seqs), list ``k`` being the listing of the directory made of its first ``k`` components: one
representative node per child name, ascending.  Byte layout::

    header        one byte (read back as a varint): bit 0 set = every list ends with ``seq`` and that
                  trailing ``seq`` is left out of the bytes
    per list      varint(count) then ``count`` varint deltas (first value - 0, then value - previous)

Inflating reads lists until the buffer ends.  Beyond JS, :func:`inflate` checks every seq lies in
``[low, seq]`` (a node can only point at itself or at earlier nodes; ``low`` is the tree's first block),
so a hostile index cannot send a reader to block 0 or to a block that does not exist yet.

Both directions avoid per-value Python work where they can: deltas below 2**14 are encoded by table
lookup, and runs of one-byte varints are decoded as a slice.
"""

from __future__ import annotations

import operator
from itertools import accumulate, chain
from typing import Sequence

from hyperparty import varint

from .errors import CorruptMetadataError

__all__ = ["deflate", "inflate", "PathIndexError"]

_TABLE = [varint.encode(i) for i in range(1 << 14)]
_HIGH_BITS = bytes(1 if b >= 0x80 else 0 for b in range(256))  # bytes.translate table: continuation bytes -> 1


class PathIndexError(CorruptMetadataError):
    """A ``paths`` field that does not inflate (truncated, or pointing outside the tree)."""


def _encode_values(out: bytearray, values: Sequence[int]) -> None:
    """Append the varint deltas of the strictly ascending ``values``."""
    if not values:
        return
    deltas = list(map(operator.sub, values, chain((0,), values)))
    if min(deltas) <= 0 and (deltas[0] < 0 or min(deltas[1:], default=1) <= 0):
        raise ValueError("path index lists must be strictly ascending")
    if max(deltas) < 0x80:
        out += bytes(deltas)  # every delta is a one-byte varint
        return
    try:
        out += b"".join(map(_TABLE.__getitem__, deltas))
    except IndexError:
        for d in deltas:
            varint.encode_into(out, d)


def deflate(seq: int, index: Sequence[Sequence[int]]) -> bytes:
    """The ``paths`` bytes of the node at block ``seq`` with path index ``index``."""
    ends_with_seq = all(lst and lst[-1] == seq for lst in index)
    out = bytearray(b"\x01" if ends_with_seq else b"\x00")
    for lst in index:
        values = lst[:-1] if ends_with_seq else lst
        varint.encode_into(out, len(values))
        _encode_values(out, values)
    return bytes(out)


def _decode_run(buf: bytes, high: bytes, pos: int, count: int) -> tuple[list[int], int]:
    """``count`` varints from ``buf[pos:]``; ``high`` marks the continuation bytes of ``buf``."""
    out: list[int] = []
    need = count
    while need:
        j = high.find(1, pos, pos + need)
        if j == -1:
            out += buf[pos : pos + need]
            return out, pos + need
        out += buf[pos:j]
        need -= j - pos
        value, pos = varint.decode(buf, j)
        out.append(value)
        need -= 1
    return out, pos


def inflate(seq: int, buf: bytes | None, low: int = 0) -> list[list[int]]:
    """The path index of the node at block ``seq`` from its ``paths`` bytes (see module docstring)."""
    if not buf:
        raise PathIndexError(f"node {seq} has no path index")
    buf = bytes(buf)
    end = len(buf)
    try:
        header, pos = varint.decode(buf, 0)
        ends_with_seq = header & 1
        high = buf.translate(_HIGH_BITS)
        index: list[list[int]] = []
        while pos < end:
            count, pos = varint.decode(buf, pos)
            if count > end - pos:
                raise PathIndexError(f"node {seq}: path index list of {count} seqs is longer than its bytes")
            deltas, pos = _decode_run(buf, high, pos, count)
            if pos > end:
                raise PathIndexError(f"node {seq}: truncated path index")
            values = list(accumulate(deltas))
            if ends_with_seq:
                values.append(seq)
            if values and (values[0] < low or max(values) > seq):
                raise PathIndexError(f"node {seq}: path index points outside blocks {low}..{seq}")
            index.append(values)
    except varint.VarintError as err:
        raise PathIndexError(f"node {seq}: truncated path index ({err})") from None
    return index
