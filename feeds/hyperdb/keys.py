"""Keys and their hash paths (hyperdb 3.5.0 ``lib/normalize.js`` + ``lib/hash.js``).

* **Normalise**: drop exactly one leading ``/``.
* **Segments**: split on ``/``, drop one leading and one trailing empty segment (``""`` -> no segments).
* **Path**: per segment, ``crypto_shorthash`` (SipHash-2-4, key = 16 zero bytes) of its UTF-8 bytes; each of
  the 8 hash bytes gives 4 digits, low bits first (``b & 3``, ``b >> 2 & 3``, ``b >> 4 & 3``, ``b >> 6``):
  32 digits per segment.  A key's path ends with the digit ``4`` ("terminate"): ``32 n + 1`` digits.
  Prefix paths (prefix gets, iterators, watch) have no terminator: ``32 n`` digits.

Paths are ``bytes`` (one digit 0..4 per byte): indexing gives ints, slicing and comparing are cheap.

Differences from hypertrie 3 (same SipHash, same digit order): hyperdb has **no hidden-bit position 0**
(hyperdb position p = hypertrie position p + 1), the terminator is the only position past the digits, and
hash collisions are resolved **only at the terminator** (by comparing whole keys), not at every segment
end.  Trie buckets hold lists of ``(feed, seq)`` pointers (forks), not single seqs (``trie.py``).
"""

from __future__ import annotations

from functools import lru_cache

from hyperparty.crypto import shorthash

from ..hypertrie.path import BYTE_DIGITS, normalize_key, split_key

__all__ = ["normalize", "segments", "path", "TERMINATE", "SEGMENT_DIGITS"]

TERMINATE = 4
SEGMENT_DIGITS = 32
_ZERO_KEY = bytes(16)
_TERM = bytes([TERMINATE])


# the same normalising and splitting as hypertrie 3 (one leading "/" dropped; empty ends dropped)
normalize = normalize_key
segments = split_key


@lru_cache(maxsize=1 << 16)
def _segment_digits(segment: str) -> bytes:
    h = shorthash(segment.encode("utf-8", "surrogatepass"), _ZERO_KEY)
    d = BYTE_DIGITS
    return b"".join([d[h[0]], d[h[1]], d[h[2]], d[h[3]], d[h[4]], d[h[5]], d[h[6]], d[h[7]]])


@lru_cache(maxsize=1 << 14)
def path(key: str, terminate: bool = True) -> bytes:
    """The digit path of ``key`` (already normalised); with the terminator unless ``terminate=False``."""
    out = b"".join([_segment_digits(s) for s in segments(key)])
    return out + _TERM if terminate else out
