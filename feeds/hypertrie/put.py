"""Building the node a ``put`` appends (hypertrie 3.8.0 ``lib/put.js``); the algorithm decides the bytes.

The new node ``N`` starts with an empty trie.  Walking from the head along ``N``'s path, at every position
it copies the head's bucket (the pointers to nodes that branch off there), except the slot of ``N``'s own
digit; where the head itself branches off, the head becomes a pointer too, and the walk jumps to the node
the head's bucket names for ``N``'s digit (or stops when there is none).  When the walk reaches the end of
``N``'s path, the head it stands on is the previous version of the key and is left out.

Segment ends are special (segment strings may collide): copied pointers are kept only when the node they
name has a different segment there (JS reads those nodes asynchronously, so they land after the head
pointer of that position), and the chain ``v, v+5, ...`` is searched for the node to jump to.

``del_seq`` (a delete's victim) is never added anywhere; that is how a delete unlinks a node.
"""

from __future__ import annotations

from .fetch import MISSING, Fetcher
from .get import first_divergence
from .node import Node, collides
from .trie_encoding import push

__all__ = ["build_put"]



async def build_put(fetch: Fetcher, head: Node | None, node: Node, del_seq: int = 0) -> Node | None:
    """Fill ``node.trie`` by walking from ``head``; returns the node the walk ended on (JS ``_head``: the
    previous version of the key, or the node where it stopped), or None when it stopped at a segment end
    or there was no head."""
    trie = node.trie
    digits = node.digits
    length = node.length
    i = 0
    while head is not None:
        p = first_divergence(node, head, i, length)
        htrie = head.trie
        for pos, bucket in htrie.items():  # (positions ascend: see trie_encoding)
            if pos < i:
                continue
            if pos >= p:
                break  # (the divergence position p is handled below: head pointer order)
            if pos & 31 or not pos:
                _copy_plain(trie, pos, bucket, digits[pos], del_seq)
            else:
                await _copy_segment_end(fetch, trie, node, pos, bucket, del_seq)
        if p >= length:
            return head  # walked the whole path: head is the previous version of this key
        hv = head.digits[p] if p < head.length else 4
        v = digits[p]
        bucket = htrie.get(p)
        if p & 31 or not p:  # an ordinary position (0 is the hidden bit, not a segment end)
            if bucket:
                _copy_plain(trie, p, bucket, v, del_seq)
            if head.seq != del_seq:
                push(trie, p, hv, head.seq)
            seq = bucket[v] if bucket and v < len(bucket) else 0
            if not seq:
                return head
            head = fetch.peek(seq)
            if head is MISSING:
                head = await fetch(seq)
        else:  # a segment end: head pointer first, then the copies; the next head is searched in the chain
            if head.seq != del_seq:
                push(trie, p, hv, head.seq)
            if bucket:
                await _copy_segment_end(fetch, trie, node, p, bucket, del_seq)
            nxt = None
            if bucket:
                for s in range(v, len(bucket), 5):
                    seq = bucket[s]
                    if not seq:
                        break
                    n = await fetch(seq)
                    if n is not None and not collides(n, node, p):
                        nxt = n
            if nxt is None:
                return None
            head = nxt
        i = p + 1
    return None


def _copy_plain(trie: dict, pos: int, bucket: list, v: int, del_seq: int) -> None:
    """Copy the head's bucket at an ordinary position: every pointer but the one for our own digit."""
    if len(bucket) <= 5 and pos not in trie:
        # the common case, exactly what pushing each pointer in turn gives: a fresh bucket, one pointer per
        # digit, no duplicates (decoding refuses buckets naming a node twice)
        nb = list(bucket)
        if v < len(nb):
            nb[v] = 0
        if del_seq and del_seq in nb:
            nb[nb.index(del_seq)] = 0
        if any(nb):
            trie[pos] = nb
        return
    for j, seq in enumerate(bucket):
        if seq and j != v and seq != del_seq:
            push(trie, pos, j, seq)


async def _copy_segment_end(fetch: Fetcher, trie: dict, node: Node, pos: int, bucket: list, del_seq: int) -> None:
    """Copy the head's bucket at a segment end: only pointers to nodes whose segment there differs from
    ours (JS reads those nodes asynchronously, so they land after the head pointer of that position)."""
    for j, seq in enumerate(bucket):
        if seq and seq != del_seq:
            other = await fetch(seq)
            if other is not None and collides(other, node, pos):
                push(trie, pos, j, seq)
