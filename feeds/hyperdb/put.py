"""The put walk (hyperdb 3.5.0 ``lib/put.js``): the trie of a new entry, from the current heads.

One worker per head walks the new key's path ``P``.  At each position ``i`` (value ``v = P[i]``) it copies
the head's bucket ``i`` into the new trie — every slot but ``v`` (at the terminator ``v = 4`` every pointer,
after reading it to drop versions of the same key: an async "collision check") — then, if the head leaves
our path here (its digit differs, or it is another key at the terminator), adds the head itself at its own
digit and continues with the first pointer of the head's slot ``v`` (the other pointers start new workers:
forks), or stops when there is none.  Pointers are added once per (position, slot) list.  Reads go through
:class:`~.walk.ReadQueue`, so multi-worker orders match JS's when its reads complete in request order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import keys
from .node import Node
from .trie import Trie

if TYPE_CHECKING:  # pragma: no cover
    from .walk import ReadQueue

__all__ = ["PutWalk"]


class _Worker:
    __slots__ = ("i", "head", "pending", "ended")

    def __init__(self, head: Node, i: int) -> None:
        self.i = i
        self.head = head
        self.pending = 0
        self.ended = False


class PutWalk:
    """Computes ``trie`` for a new entry ``key``; run ``start(heads)`` then ``await reads.drain()``."""

    __slots__ = ("key", "path", "trie", "reads", "active", "last")

    def __init__(self, reads: "ReadQueue", key: str) -> None:
        self.key = key
        self.path = keys.path(key, True)
        self.trie: Trie = []
        self.reads = reads
        self.active = 0
        self.last: _Worker | None = None  # the worker that finished last (JS ifNotExists looks at it)

    def start(self, heads: list[Node]) -> None:
        if heads:
            self._update(heads, 0)

    def _update(self, heads: list[Node], offset: int) -> None:
        self.active += len(heads)
        for head in heads:
            self._move_closer(_Worker(head, offset))

    def _end(self, worker: _Worker) -> None:
        self.active -= 1
        if not self.active:
            self.last = worker

    def _worker_done(self, worker: _Worker) -> None:
        worker.pending -= 1
        if worker.pending:
            return
        if worker.ended:
            self._end(worker)
        else:
            worker.i += 1
            self._move_closer(worker)

    def _move_closer(self, worker: _Worker) -> None:
        path = self.path
        n = len(path)
        while worker.i < n:
            i = worker.i
            val = path[i]
            head = worker.head
            head_trie = head.trie
            bucket = head_trie[i] if i < len(head_trie) else None
            if bucket:
                self._copy(worker, bucket, val)
            self._split(worker, bucket, val)
            if worker.pending:
                return
            if worker.ended:
                break
            worker.i += 1
        self._end(worker)

    def _copy(self, worker: _Worker, bucket: list, val: int) -> None:
        for slot, ptrs in enumerate(bucket):
            if not ptrs or (slot == val and val != 4):
                continue
            for feed, seq in ptrs:
                if val == 4:
                    self._check_collision(worker, slot, feed, seq)
                else:
                    self._push(worker, slot, feed, seq)

    def _check_collision(self, worker: _Worker, slot: int, feed: int, seq: int) -> None:
        worker.pending += 1

        def done(node: Node) -> None:
            if node.key != self.key:
                self._push(worker, slot, feed, seq)
            self._worker_done(worker)

        self.reads.read(feed, seq, done)

    def _split(self, worker: _Worker, bucket: list | None, val: int) -> None:
        head = worker.head
        i = worker.i
        head_val = head.path[i] if i < len(head.path) else None
        if head_val == val and (head_val < 4 or head.key == self.key):
            return  # the head is still on our path
        self._push(worker, head_val, head.feed, head.seq)
        ptrs = bucket[val] if bucket and val < len(bucket) else None
        if not ptrs:
            worker.ended = True
            return
        feed, seq = ptrs[0]
        worker.pending += 1

        def moved(node: Node) -> None:
            worker.head = node
            self._worker_done(worker)

        self.reads.read(feed, seq, moved)
        if len(ptrs) > 1:
            worker.pending += 1

            def forked(nodes: list) -> None:
                self._update(nodes, worker.i + 1)
                self._worker_done(worker)

            self.reads.read_all(ptrs[1:], forked)

    def _push(self, worker: _Worker, slot: int | None, feed: int, seq: int) -> None:
        i = worker.i
        trie = self.trie
        if i >= len(trie):
            trie.extend([None] * (i + 1 - len(trie)))
        bucket = trie[i]
        if bucket is None:
            bucket = trie[i] = [None, None, None, None, None]
        if slot is None:  # JS: bucket[undefined] = ... (never encoded)
            return
        values = bucket[slot]
        if values is None:
            bucket[slot] = [(feed, seq)]
            return
        if (feed, seq) not in values:
            values.append((feed, seq))
