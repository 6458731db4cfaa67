"""The per-node trie and its ``trieBuffer`` encoding (hypertrie 3.8.0 ``lib/trie.js``).

In memory a trie is a ``dict`` from path position to a bucket: a ``list`` of slots, each a seq (``> 0``) or
0 (empty).  Slots 0-4 hold the newest node that agrees with this node before the position and has that
digit there; further nodes for digit ``v`` (segment hash collisions) chain to ``v + 5``, ``v + 10`` ...

Wire format::

    varint(L)                      L = 1 + the highest position holding a bucket (0 for an empty trie)
    then per bucket, positions ascending:
        varint(position) varint(bitfield) varint(seq) for each set bit, lowest first

Bit ``s`` of ``bitfield`` is set iff slot ``s`` is non-empty.  An empty trie is the single byte ``00``.

Decoding checks what an honest writer guarantees: every pointer of the node at block ``seq`` names an
older node (``1 <= pointer < seq``; anything else raises :class:`~.errors.BadPointerError`, which also rules
out pointer cycles, so every walk ends), and no bucket names a node twice (``push`` never adds a seq already
in the bucket), and buckets come in ascending position order, as JS writes them (both
:class:`~.errors.CorruptNodeError`).  So a trie ``dict`` iterates in position order: the walks rely on it.
"""

from __future__ import annotations

from hyperparty.varint import VarintError
from hyperparty.varint import decode as _varint
from hyperparty.varint import encode as _varint_bytes
from hyperparty.varint import encode_into as _varint_into

from .errors import BadPointerError, CorruptNodeError

__all__ = ["Trie", "encode", "decode", "push"]

Trie = dict  # position -> list of slots (seq or 0)

EMPTY = b"\x00"
MAX_SLOTS = 64  # a bucket of more slots would need 2**32 colliding keys; refuse instead of allocating


def encode(trie: Trie) -> bytes:
    """The ``trieBuffer`` bytes of ``trie``."""
    if not trie:
        return EMPTY
    out = bytearray()
    add = out.append
    positions = sorted(trie)
    _varint_into(out, positions[-1] + 1)
    for i in positions:
        bucket = trie[i]
        if i < 128:
            add(i)
        else:
            _varint_into(out, i)
        at = len(out)
        add(0)  # the bitfield, filled in below (one byte for up to 7 slots)
        bits = 0
        bit = 1
        for seq in bucket:
            if seq:
                bits |= bit
                if seq < 128:
                    add(seq)
                elif seq < 16384:
                    add(seq & 127 | 128)
                    add(seq >> 7)
                elif seq < 2097152:
                    add(seq & 127 | 128)
                    add(seq >> 7 & 127 | 128)
                    add(seq >> 14)
                else:
                    _varint_into(out, seq)
            bit <<= 1
        if bits < 128:
            out[at] = bits
        else:
            out[at : at + 1] = _varint_bytes(bits)
    return bytes(out)


def decode(buf: bytes, seq: int) -> Trie:
    """Decode the ``trieBuffer`` of the node at block ``seq`` (raises CorruptNodeError/BadPointerError)."""
    trie: Trie = {}
    end = len(buf)
    try:
        _, pos = _varint(buf, 0, end)  # L: not needed, buckets say where they are
        last = -1
        while pos < end:
            i = buf[pos]
            pos += 1
            if i >= 128:
                i, pos = _varint(buf, pos - 1, end)
            if i <= last:
                raise CorruptNodeError(seq, f"trie bucket {i} is out of order (after {last})")
            last = i
            bits = buf[pos]
            pos += 1
            if bits >= 128:
                bits, pos = _varint(buf, pos - 1, end)
                if bits >> MAX_SLOTS:
                    raise CorruptNodeError(seq, f"trie bucket {i} has more than {MAX_SLOTS} slots")
            bucket = [0] * bits.bit_length()
            many = bits & (bits - 1)  # more than one pointer
            s = 0
            while bits:
                if bits & 1:
                    # pointers are varints of 1 to 3 bytes in practice: decoded inline
                    p = buf[pos]
                    pos += 1
                    if p >= 128:
                        b = buf[pos]
                        pos += 1
                        if b < 128:
                            p = (p & 127) | b << 7
                        else:
                            c = buf[pos]
                            pos += 1
                            if c < 128:
                                p = (p & 127) | (b & 127) << 7 | c << 14
                            else:
                                p, pos = _varint(buf, pos - 3, end)
                    if p >= seq:
                        raise BadPointerError(seq, p)
                    bucket[s] = p
                bits >>= 1
                s += 1
            if many:
                named = [p for p in bucket if p]
                if len(set(named)) != len(named):
                    raise CorruptNodeError(seq, f"trie bucket {i} names a node twice")
            trie[i] = bucket
    except (VarintError, IndexError) as exc:
        raise CorruptNodeError(seq, f"bad trie buffer ({exc or 'truncated'})") from None
    return trie


def push(trie: Trie, i: int, v: int, seq: int) -> None:
    """Add pointer ``seq`` for digit ``v`` at position ``i`` (JS ``push`` in lib/put.js).

    ``v`` is reduced modulo 5; an occupied slot chains to ``v + 5`` ...; a seq already anywhere in the
    bucket is not added again.
    """
    v %= 5
    bucket = trie.get(i)
    if bucket is None:
        trie[i] = bucket = []
    n = len(bucket)
    while v < n and bucket[v]:
        v += 5
    if seq in bucket:
        return
    if v >= n:
        bucket.extend([0] * (v + 1 - n))
    bucket[v] = seq
