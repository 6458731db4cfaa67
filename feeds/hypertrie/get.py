"""The lookup walk (hypertrie 3.8.0 ``lib/get.js``).

Start at the head (the newest node: every node holds a full trie snapshot) and follow the probe's path.
While the head's path agrees, move on; where it diverges, the head's bucket at that position points to
the newest node that agrees one digit further: jump there.  At segment ends the segment strings are
compared too (two segments may share a 64-bit hash); there the whole chain ``v, v+5, ...`` of the bucket
is examined and the candidate whose segment matches is taken.

``prefix`` mode stops before the final "end of key" position, so it finds the newest node whose path
starts with the probe's segments (what ``list``/``watch``/``diff`` start from).  ``closest`` returns the
node where a non-segment-end walk stopped instead of None (JS returns None at a segment end: kept).
The walk never compares whole keys: ``get("a/b/")`` finds ``"a/b"``.
"""

from __future__ import annotations

from .fetch import MISSING, Fetcher
from .node import HIDDEN, Node, collides


__all__ = ["Probe", "get_node", "first_divergence", "first_digit_divergence"]



class Probe(Node):
    """The node a lookup walks with: a key (normalised once, like every node JS builds) and the hidden bit."""

    __slots__ = ()

    def __init__(self, key: str, hidden: bool = False) -> None:
        Node.__init__(self, key, None, HIDDEN if hidden else 0, {}, 0)


def first_digit_divergence(a: bytes, b: bytes, i: int, limit: int) -> int:
    """The first position ``p`` in ``[i, limit)`` with ``a[p] != b[p]`` (``b`` reads as 4 past its end), or
    ``limit``; ``a`` is at least ``limit`` long."""
    sa = a[i:limit]
    sb = b[i:limit]
    if len(sb) < len(sa):
        sb += b"\x04" * (len(sa) - len(sb))
    if sa == sb:  # one C-level comparison in the common case
        return limit
    x = int.from_bytes(sa, "big") ^ int.from_bytes(sb, "big")
    return limit - 1 - ((x.bit_length() - 1) >> 3)


def first_divergence(probe: Node, head: Node, i: int, limit: int) -> int:
    """The first position ``p`` in ``[i, limit)`` where ``head`` leaves ``probe``'s path, or ``limit``.

    Leaving means a different digit, or (at a segment end) the same digit but a different segment string.
    """
    p = first_digit_divergence(probe.digits, head.digits, i, limit)
    # segment ends before p where the digits agree: the strings must agree too
    t = ((i + 31) >> 5) << 5 or 32
    if t < p:
        a, b = probe.segments, head.segments
        if a is not b:
            nb = len(b)
            while t < p:
                j = (t - 1) >> 5
                if j >= nb or a[j] != b[j]:  # (the probe always has segment j here)
                    return t
                t += 32
    return p


async def get_node(
    fetch: Fetcher, head: Node | None, key: str, *, hidden: bool = False, prefix: bool = False, closest: bool = False
) -> Node | None:
    """The node for ``key`` reachable from ``head`` (None when absent); see the module docstring."""
    probe = Probe(key, hidden)
    limit = probe.length - (1 if prefix else 0)
    i = 0
    while head is not None:
        p = first_divergence(probe, head, i, limit)
        if p >= limit:
            return head
        bucket = head.trie.get(p)
        v = probe.digits[p]
        if p and not p & 31:  # segment end: take the chain member whose segment matches
            found = None
            if bucket:
                for s in range(v, len(bucket), 5):
                    seq = bucket[s]
                    if not seq:
                        break
                    n = await fetch(seq)
                    if n is not None and not collides(n, probe, p):
                        found = n
            if found is None:
                return None
            head = found
        else:
            seq = bucket[v] if bucket and v < len(bucket) else 0
            if not seq:
                return head if closest else None
            head = fetch.peek(seq)
            if head is MISSING:
                head = await fetch(seq)
        i = p + 1
    return None

