"""One-pass encoding and decoding of the hottest messages, ``Data`` and ``Request`` (one of each per
replicated block); compiled with mypyc when available (see :mod:`hyperparty._native`).

Layout (protobuf): ``08 index`` | ``12 len value`` | ``1a len node`` (repeated; node = ``08 index``
``12 20 hash[32]`` ``18 size``) | ``22 len signature``.  :func:`decode_data` handles payloads written
like that (what hypercore writes) and returns ``None`` for anything else — unknown or repeated-out-of-
order fields, multi-byte tags, a node whose hash is not 32 bytes, truncation — so the caller falls back to
the generic decoder (which decides whether the payload is valid at all).  Nodes come back as ``node_type``
tuples ``(index, hash, size)``, checked well-formed, so they go to ``Hypercore.put_many`` unchanged.

:func:`decode_request` reads a ``Request`` payload written field by field in number order (``08 index``, then
any of ``10 bytes``, ``18 hash``, ``20 nodes``, each at most once, varints of at most 9 bytes) and returns
``None`` for anything else, with the same fallback.

:func:`encode_data_into` writes a whole Data frame in that layout (absent fields left out), byte for byte
what the generic encoder writes; :func:`encode_request_into` does the same for a Request (``08 index``
``10 bytes`` ``18 hash`` ``20 nodes``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["decode_data", "decode_request", "encode_data_into", "encode_request_into"]

_new_tuple = tuple.__new__


def _put_varint(out: bytearray, n: int) -> None:
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _varint_size(n: int) -> int:
    return 1 if n < 0x80 else (n.bit_length() + 6) // 7


def encode_data_into(
    out: bytearray, header: int, index: int, value: bytes | None, nodes: list[Any], signature: bytes | None
) -> None:
    """Append the frame of a Data message to ``out``: ``varint(length) varint(header)`` and the payload,
    the block's bytes copied once.  ``nodes`` are ``(index, hash, size)`` tuples; fields in number order,
    ``None`` ones left out, each node as ``08 index 12 len hash 18 size``."""
    size = _varint_size(header) + 1 + _varint_size(index)
    if value is not None:
        size += 1 + _varint_size(len(value)) + len(value)
    node_sizes: list[int] = []
    for node in nodes:
        h = len(node[1])
        n = 3 + _varint_size(node[0]) + _varint_size(h) + h + _varint_size(node[2])
        node_sizes.append(n)
        size += 1 + _varint_size(n) + n
    if signature is not None:
        size += 1 + _varint_size(len(signature)) + len(signature)
    _put_varint(out, size)
    _put_varint(out, header)
    out.append(0x08)
    _put_varint(out, index)
    if value is not None:
        out.append(0x12)
        _put_varint(out, len(value))
        out += value
    k = 0
    for node in nodes:
        out.append(0x1A)
        _put_varint(out, node_sizes[k])
        k += 1
        out.append(0x08)
        _put_varint(out, node[0])
        out.append(0x12)
        node_hash = node[1]
        _put_varint(out, len(node_hash))
        out += node_hash
        out.append(0x18)
        _put_varint(out, node[2])
    if signature is not None:
        out.append(0x22)
        _put_varint(out, len(signature))
        out += signature


def encode_request_into(
    out: bytearray, header: int, index: int, bytes_: int | None, hash_: bool | None, nodes: int | None
) -> None:
    """Append the frame of a Request message to ``out``: ``varint(length) varint(header)`` and the payload
    ``08 index`` ``10 bytes`` ``18 hash`` ``20 nodes``, ``None`` fields left out (the generic encoder's
    bytes)."""
    size = _varint_size(header) + 1 + _varint_size(index)
    if bytes_ is not None:
        size += 1 + _varint_size(bytes_)
    if hash_ is not None:
        size += 2
    if nodes is not None:
        size += 1 + _varint_size(nodes)
    _put_varint(out, size)
    _put_varint(out, header)
    out.append(0x08)
    _put_varint(out, index)
    if bytes_ is not None:
        out.append(0x10)
        _put_varint(out, bytes_)
    if hash_ is not None:
        out.append(0x18)
        out.append(1 if hash_ else 0)
    if nodes is not None:
        out.append(0x20)
        _put_varint(out, nodes)


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


def decode_data(buf: bytes, node_type: type) -> tuple[int, bytes | None, list[Any], bytes | None] | None:
    """``(index, value, nodes, signature)`` of a ``Data`` payload, or None (use the generic decoder).

    ``node_type`` is a tuple subclass of three fields (``Node``); each node is made with ``tuple.__new__``
    (its NamedTuple constructor is an interpreted function: twice the cost)."""
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
            nodes.append(_new_tuple(node_type, (node_index, node_hash, size)))
        elif tag == 0x12:
            value = buf[pos:stop]
        else:
            signature = buf[pos:stop]
        pos = stop
    if index < 0:
        return None
    return index, value, nodes, signature


def decode_request(buf: bytes) -> tuple[int, int | None, bool | None, int | None] | None:
    """``(index, bytes, hash, nodes)`` of a ``Request`` payload, or None (use the generic decoder).

    Fields must come once each, in number order, the index first; ``hash`` is true for any non-zero
    varint (as the generic ``bool`` decoding); a varint longer than 9 bytes falls back too, so values
    past 2**63 are left to the generic decoder.
    """
    end = len(buf)
    if end < 2 or buf[0] != 0x08:
        return None
    index, pos = _varint(buf, 1, end)
    if pos < 0 or pos > 10:
        return None
    bytes_: int | None = None
    hash_: bool | None = None
    nodes: int | None = None
    last = 0x08
    while pos < end:
        tag = buf[pos]
        if tag <= last or (tag != 0x10 and tag != 0x18 and tag != 0x20):
            return None
        start = pos + 1
        value, pos = _varint(buf, start, end)
        if pos < 0 or pos - start > 9:
            return None
        if tag == 0x10:
            bytes_ = value
        elif tag == 0x18:
            hash_ = value != 0
        else:
            nodes = value
        last = tag
    return index, bytes_, hash_, nodes
