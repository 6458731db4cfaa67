"""Keys, segments and the hash path of a hypertrie 3 node (hypertrie 3.8.0 ``lib/node.js``).

* **Normalising** drops exactly one leading ``/`` (``"/a/"`` -> ``"a/"``, ``"//a"`` -> ``"/a"``).  JS applies it
  on every node construction, including when a stored node is decoded, so a stored key that still starts
  with ``/`` reads back without it.
* **Segments**: split on ``/``, drop a leading and a trailing empty element: ``"a/b/"`` -> ``[a, b]``,
  ``"a//b"`` -> ``[a, "", b]``, ``""`` -> ``[]``.
* **Hash**: SipHash-2-4 with a 16-byte zero key of each segment's UTF-8 bytes, 8 bytes each, concatenated.
* **Path**: a node with ``n`` segments has ``32 n + 2`` positions: position 0 is the hidden bit; positions
  ``32 j + 1 .. 32 j + 32`` are the 32 two-bit digits of segment ``j``'s hash (4 per byte, low bits first);
  the last position is 4 ("the key ends here"); positions past the end also read as 4.
* Position ``i`` is a **segment end** (``terminator``) when ``i > 0`` and ``i % 32 == 0``: the last digit of
  a segment, where two different segments with the same 64-bit hash are told apart by their strings.

:func:`key_path` returns ``(segments, digits)`` where ``digits`` is ``bytes`` of the path values; it is
cached, since the same keys are looked up again and again.
"""

from __future__ import annotations

from functools import lru_cache

from hyperparty.crypto import shorthash

__all__ = ["normalize_key", "split_key", "BYTE_DIGITS", "segment_digits", "key_path", "is_terminator", "END", "HASH_KEY"]

HASH_KEY = bytes(16)
END = 4

# byte -> its four 2-bit digits, least significant pair first
BYTE_DIGITS = [bytes(((b >> 0) & 3, (b >> 2) & 3, (b >> 4) & 3, (b >> 6) & 3)) for b in range(256)]
_HIDDEN = (b"\x00", b"\x01")
_END = b"\x04"


def normalize_key(key: str) -> str:
    """Drop one leading ``/`` (JS ``normalizeKey``)."""
    return key[1:] if key[:1] == "/" else key


def split_key(key: str) -> list[str]:
    """The segments of a (normalised) key."""
    parts = key.split("/")
    if parts[0] == "":
        parts.pop(0)
    if parts and parts[-1] == "":
        parts.pop()
    return parts


@lru_cache(maxsize=1 << 16)
def segment_digits(segment: str) -> bytes:
    """The 32 path digits of one segment: its SipHash, two bits at a time, low bits of each byte first."""
    return b"".join([BYTE_DIGITS[b] for b in shorthash(segment.encode("utf-8"), HASH_KEY)])


@lru_cache(maxsize=1 << 14)
def key_path(key: str, hidden: bool) -> tuple[tuple[str, ...], bytes]:
    """``(segments, digits)`` of a normalised key; ``len(digits) == 32 * len(segments) + 2``."""
    segments = tuple(split_key(key))
    return segments, b"".join([_HIDDEN[hidden], *map(segment_digits, segments), _END])


def is_terminator(i: int) -> bool:
    """True at the last digit of a segment (``i > 0 and i % 32 == 0``)."""
    return i > 0 and not i & 31
