"""Finding what a ``del`` removes (hypertrie 3.8.0 ``lib/del.js``).

hypertrie 3 writes no tombstones.  Deleting key K walks K's path (comparing digits only: JS does not
handle segment collisions here) while remembering the *closest* other node: at each position where the
head stays on K's path, the first pointer of the head's bucket (slot order, skipping only the slot of
K's own digit), and where the head branches off, the head itself.  If the walk ends on a node whose key
is K exactly (no trailing-``/`` leniency here, unlike ``get``), that node is the victim; the delete then
re-puts the closest node (its key, raw value bytes, hidden bit and user flags) with the victim suppressed
from every trie it would be copied into, or, when there is no other node, a node with key ``""`` (which
every reader treats as "the db is empty").  See :func:`find_victim` and ``Hypertrie.delete``.
"""

from __future__ import annotations

from .fetch import Fetcher
from .get import Probe, first_digit_divergence
from .node import Node

__all__ = ["find_victim", "first_seq"]



def first_seq(bucket: list, v: int) -> int:
    """The first non-empty slot of ``bucket``, skipping only slot ``v`` (JS ``firstSeq``)."""
    for j, seq in enumerate(bucket):
        if j != v and seq:
            return seq
    return 0


async def find_victim(fetch: Fetcher, head: Node | None, key: str, hidden: bool = False) -> tuple[Node, int] | None:
    """``(victim, closest_seq)`` for deleting ``key`` from the trie whose head is ``head``, or None when the
    key is not there.  ``closest_seq`` is 0 when no other node exists."""
    probe = Probe(key, hidden)
    digits = probe.digits
    length = probe.length
    closest = 0
    i = 0
    while head is not None:
        p = first_digit_divergence(digits, head.digits, i, length)
        htrie = head.trie
        if htrie:
            deepest = -1
            for pos, bucket in htrie.items():
                if i <= pos < p and pos > deepest:
                    c = first_seq(bucket, digits[pos])
                    if c:
                        deepest = pos
                        found = c
            if deepest >= 0:
                closest = found
        if p >= length:
            if head.key != probe.key:
                return None
            return head, closest
        bucket = htrie.get(p)
        v = digits[p]
        seq = bucket[v] if bucket and v < len(bucket) else 0
        if not seq:
            return None
        closest = head.seq
        head = await fetch(seq)
        i = p + 1
    return None
