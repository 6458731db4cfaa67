"""One-pass decoding of the hottest message, ``Data`` (one per replicated block); compiled with mypyc
when available (see :mod:`hyperparty._native`).

Layout (protobuf): ``08 index`` | ``12 len value`` | ``1a len node`` (repeated; node = ``08 index``
``12 20 hash[32]`` ``18 size``) | ``22 len signature``.  :func:`decode_data` handles payloads written
like that (what hypercore writes) and returns ``None`` for anything else — unknown or repeated-out-of-
order fields, multi-byte tags, a node whose hash is not 32 bytes, truncation — so the caller falls back to
the generic decoder (which decides whether the payload is valid at all).  Nodes come back as ``node_type``
tuples ``(index, hash, size)``, checked well-formed, so they go to ``Hypercore.put_many`` unchanged.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["decode_data"]


def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """``(value, new position)``, or ``(-1, -1)`` when truncated or longer than 10 bytes."""
    result = 0
    shift = 0
    start = pos
    while pos < end and pos - start < 10:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
    return -1, -1


def decode_data(buf: bytes, node_type: Callable[[int, bytes, int], Any]) -> tuple[int, bytes | None, list[Any], bytes | None] | None:
    """``(index, value, nodes, signature)`` of a ``Data`` payload, or None (use the generic decoder)."""
    end = len(buf)
    pos = 0
    index = -1
    value: bytes | None = None
    nodes: list[Any] = []
    signature: bytes | None = None
    while pos < end:
        tag = buf[pos]
        pos += 1
        if tag == 0x08:
            index, pos = _varint(buf, pos, end)
            if pos < 0:
                return None
            continue
        if tag != 0x12 and tag != 0x1A and tag != 0x22:
            return None
        if pos >= end:
            return None
        n = buf[pos]
        if n < 0x80:
            pos += 1
        else:
            n, pos = _varint(buf, pos, end)
            if pos < 0:
                return None
        stop = pos + n
        if stop > end:
            return None
        if tag == 0x1A:
            # node: 08 index 12 20 hash 18 size, exactly
            if pos >= stop or buf[pos] != 0x08:
                return None
            node_index, p = _varint(buf, pos + 1, stop)
            if p < 0 or p + 34 > stop or buf[p] != 0x12 or buf[p + 1] != 32:
                return None
            node_hash = buf[p + 2 : p + 34]
            p += 34
            if p >= stop or buf[p] != 0x18:
                return None
            size, p = _varint(buf, p + 1, stop)
            if p != stop:
                return None
            nodes.append(node_type(node_index, node_hash, size))
        elif tag == 0x12:
            value = buf[pos:stop]
        else:
            signature = buf[pos:stop]
        pos = stop
    if index < 0:
        return None
    return index, value, nodes, signature
