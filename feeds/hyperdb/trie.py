"""The ``trie`` field of an entry (hyperdb 3.5.0 ``lib/trie-encoding.js``).

In memory a trie is a tuple indexed by path position; ``trie[i]`` is ``None`` or a *bucket*, a 5-tuple of
*slots* (digit 0..4).  A slot is ``None`` (empty), one pointer (an ``int``), or a tuple of two or more
pointers (forks).  A pointer is one int, ``seq << 32 | feed`` (:func:`pointer`), ``feed`` a LOCAL writer
id.  ``len(trie)`` = highest used position + 1, as JS's sparse arrays.  Tries are immutable and shared
through caches; being made of tuples of ints, a large db's many decoded tries cost the garbage collector
almost nothing (one pointer per tuple would have cost it dearly).  Only the put walk builds a trie with
lists, and :func:`freeze` turns it into this form.  Use :func:`slot_pointers` to read a slot as a tuple.

Bytes: for each position with a bucket, ascending, with no count prefix and no terminator:
``varint(i) varint(bits)`` then the pointers, where bit ``v`` of ``bits`` is set iff slot ``v`` is non-empty;
the pointers of each set slot, lowest slot first, in list order, as ``varint(wire_feed * 2 + more)
varint(seq)`` with ``more = 1`` on every pointer but the last of its slot.  ``wire_feed`` is the author's
feeds-list position: ``encode_map[local id]``; decoding maps back with ``decode_map[wire]`` when ``wire <
len(decode_map)`` (else keeps the number, as JS).  Example: one pointer at position 5, slot 2, to (wire feed
0, seq 1): ``05 04 00 01``.

Deviation from JS, on purpose: a bucket naming a slot above 4, a truncated varint or a position that goes
backwards is reported as :class:`TrieDecodeError` (JS would carry garbage along).
"""

from __future__ import annotations

from typing import Any, Union

from hyperparty.varint import VarintError
from hyperparty.varint import decode as _varint
from hyperparty.varint import encode_into as _put

__all__ = [
    "encode",
    "decode",
    "decode_tail",
    "freeze",
    "pointer",
    "unpack",
    "slot_pointers",
    "FEED_MASK",
    "TrieDecodeError",
    "Trie",
    "Pointer",
    "Slot",
]

Pointer = int  # seq << 32 | feed
Slot = Union[None, int, tuple]
Trie = Any  # tuple[tuple[Slot, ...] | None, ...] (lists while the put walk builds one)
FEED_MASK = (1 << 32) - 1
SLOTS = 5


class TrieDecodeError(ValueError):
    """Bytes that are not a trie encoding."""


def pointer(feed: int, seq: int) -> Pointer:
    return seq << 32 | feed


def unpack(ptr: Pointer) -> tuple[int, int]:
    """``(feed, seq)`` of a pointer."""
    return ptr & FEED_MASK, ptr >> 32


def slot_pointers(slot: Slot) -> tuple:
    """The pointers of a slot, as a tuple (empty for ``None``)."""
    if slot is None:
        return ()
    if isinstance(slot, int):
        return (slot,)
    return tuple(slot)


def _put_pointer(out: bytearray, ptr: int, more: int, encode_map: list, n: int) -> None:
    feed = ptr & FEED_MASK
    seq = ptr >> 32
    wire = encode_map[feed] if feed < n else None
    if wire is None:
        raise ValueError(f"writer {feed} has no position in the author's feeds list")
    wire = wire * 2 + more
    put = out.append
    if wire < 128:
        put(wire)
    else:
        _put(out, wire)
    if seq < 128:
        put(seq)
    elif seq < 16384:
        put(seq & 0x7F | 0x80)
        put(seq >> 7)
    elif seq < 2097152:
        put(seq & 0x7F | 0x80)
        put((seq >> 7) & 0x7F | 0x80)
        put(seq >> 14)
    else:
        _put(out, seq)


def encode(trie: Trie, encode_map: list) -> bytes:
    out = bytearray()
    put = out.append
    n = len(encode_map)
    for i, bucket in enumerate(trie):
        if bucket is None:
            continue
        if i < 128:
            put(i)
        else:
            _put(out, i)
        bits = 0
        for v, slot in enumerate(bucket):
            if slot is not None:
                bits |= 1 << v
        put(bits)  # < 32: one byte
        for slot in bucket:
            if slot is None:
                continue
            if type(slot) is int:
                _put_pointer(out, slot, 0, encode_map, n)
                continue
            last = len(slot) - 1
            for j, ptr in enumerate(slot):
                _put_pointer(out, ptr, j < last, encode_map, n)
    return bytes(out)


def decode(buf: bytes, decode_map: list, n: int | None = None) -> Trie:
    """The trie of ``buf`` (see the module docstring for the form); ``n``: how much of ``decode_map`` is
    in use (default all of it)."""
    return _decode(buf, decode_map, len(decode_map) if n is None else n, 0)[0]


def decode_tail(buf: bytes, decode_map: list, start: int, n: int | None = None) -> tuple[Trie, bool]:
    """``(trie, complete)``: the buckets at positions >= ``start`` only (earlier ones read past, left
    ``None``); ``complete`` when nothing was left out (then ``trie`` is the whole trie)."""
    return _decode(buf, decode_map, len(decode_map) if n is None else n, start)


def _decode(buf: bytes, decode_map: list, n: int, start: int) -> tuple[Trie, bool]:
    trie: list = []
    pos = 0
    end = len(buf)
    last = -1
    skipped = False
    try:
        while pos < end:
            i = buf[pos]
            if i < 128:
                pos += 1
            else:
                i, pos = _varint(buf, pos, end)
            bits = buf[pos]
            pos += 1
            if bits >= 1 << SLOTS:
                raise TrieDecodeError(f"trie bucket at position {i} names a slot above 4")
            if i <= last:
                raise TrieDecodeError(f"trie position {i} out of order")
            last = i
            if i < start:  # read past this bucket
                skipped = True
                while bits:
                    if bits & 1:
                        more = 1
                        while more:
                            b = buf[pos]
                            pos += 1
                            more = b & 1
                            while b >= 128:
                                b = buf[pos]
                                pos += 1
                            b = buf[pos]
                            pos += 1
                            while b >= 128:
                                b = buf[pos]
                                pos += 1
                    bits >>= 1
                continue
            if i > len(trie):
                trie.extend([None] * (i - len(trie)))
            bucket: list = [None] * SLOTS
            v = 0
            while bits:
                if bits & 1:
                    ptrs = []
                    more = 1
                    while more:
                        feed = buf[pos]
                        if feed < 128:
                            pos += 1
                        else:
                            feed, pos = _varint(buf, pos, end)
                        seq = buf[pos]
                        if seq < 128:
                            pos += 1
                        elif buf[pos + 1] < 128:
                            seq = (seq & 0x7F) | (buf[pos + 1] << 7)
                            pos += 2
                        elif buf[pos + 2] < 128:
                            seq = (seq & 0x7F) | ((buf[pos + 1] & 0x7F) << 7) | (buf[pos + 2] << 14)
                            pos += 3
                        else:
                            seq, pos = _varint(buf, pos, end)
                        more = feed & 1
                        feed >>= 1
                        if feed < n:
                            feed = decode_map[feed]
                        if feed > FEED_MASK:
                            raise TrieDecodeError("a trie pointer names an impossible writer")
                        ptrs.append(seq << 32 | feed)
                    bucket[v] = ptrs[0] if len(ptrs) == 1 else tuple(ptrs)
                bits >>= 1
                v += 1
            trie.append(tuple(bucket))
    except (VarintError, IndexError) as err:
        raise TrieDecodeError(f"truncated trie: {err}") from None
    return tuple(trie), not skipped


def _freeze_slot(slot: Any) -> Slot:
    if slot is None or type(slot) is int:
        return slot
    if not slot:
        return None
    return slot[0] if len(slot) == 1 else tuple(slot)


def freeze(trie: Trie) -> Trie:
    """A trie built with lists (the put walk) in the form :func:`decode` returns."""
    return tuple(
        b if b is None or type(b) is tuple else tuple(_freeze_slot(s) for s in b) for b in trie
    )
