"""The ``trie`` field of an entry (hyperdb 3.5.0 ``lib/trie-encoding.js``).

In memory a trie is a list indexed by path position; ``trie[i]`` is ``None`` or a *bucket*: a list of 5
slots (digit 0..4), each ``None`` or a non-empty list of ``(feed, seq)`` pointers with ``feed`` a LOCAL
writer id.  ``len(trie)`` = highest used position + 1, as JS's sparse arrays.

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

from hyperparty.varint import VarintError
from hyperparty.varint import decode as _varint
from hyperparty.varint import encode_into as _put

__all__ = ["encode", "decode", "TrieDecodeError", "Trie", "Bucket", "Pointer"]

Pointer = tuple[int, int]
Bucket = list  # [list[Pointer] | None] * 5
Trie = list  # [Bucket | None]

SLOTS = 5


class TrieDecodeError(ValueError):
    """Bytes that are not a trie encoding."""


def encode(trie: Trie, encode_map: list) -> bytes:
    out = bytearray()
    n = len(encode_map)
    for i, bucket in enumerate(trie):
        if bucket is None:
            continue
        _put(out, i)
        bits = 0
        for v, ptrs in enumerate(bucket):
            if ptrs:
                bits |= 1 << v
        _put(out, bits)
        for ptrs in bucket:
            if not ptrs:
                continue
            last = len(ptrs) - 1
            for j, (feed, seq) in enumerate(ptrs):
                wire = encode_map[feed] if feed < n else None
                if wire is None:
                    raise ValueError(f"writer {feed} has no position in the author's feeds list")
                _put(out, wire * 2 + (j < last))
                _put(out, seq)
    return bytes(out)


def decode(buf: bytes, decode_map: list) -> Trie:
    trie: Trie = []
    pos = 0
    end = len(buf)
    n = len(decode_map)
    try:
        while pos < end:
            i, pos = _varint(buf, pos, end)
            bits, pos = _varint(buf, pos, end)
            if bits >= 1 << SLOTS:
                raise TrieDecodeError(f"trie bucket at position {i} names a slot above 4")
            if i < len(trie):
                raise TrieDecodeError(f"trie position {i} out of order")
            if i > len(trie):
                trie.extend([None] * (i - len(trie)))
            bucket: Bucket = [None] * SLOTS
            v = 0
            while bits:
                if bits & 1:
                    ptrs = []
                    more = 1
                    while more:
                        feed, pos = _varint(buf, pos, end)
                        seq, pos = _varint(buf, pos, end)
                        more = feed & 1
                        feed >>= 1
                        if feed < n:
                            feed = decode_map[feed]
                        ptrs.append((feed, seq))
                    bucket[v] = ptrs
                bits >>= 1
                v += 1
            trie.append(bucket)
    except VarintError as err:
        raise TrieDecodeError(f"truncated trie: {err}") from None
    return trie
