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
from .trie import Trie, _freeze_slot, slot_pointers
from .writer import BlockMissing

if TYPE_CHECKING:  # pragma: no cover
    from .walk import ReadQueue

__all__ = ["PutWalk"]


def _mismatch(a: bytes, b: bytes, start: int, stop: int) -> int:
    """The first index in ``[start, stop)`` where ``a`` and ``b`` differ (or ``a`` ends), else ``stop``."""
    m = min(len(a), stop)
    if m <= start:
        return start
    x = int.from_bytes(a[start:m], "big") ^ int.from_bytes(b[start:m], "big")
    if not x:
        return m
    return m - 1 - (x.bit_length() - 1) // 8


class _Worker:
    __slots__ = ("i", "head", "pending", "ended")

    def __init__(self, head: Node, i: int) -> None:
        self.i = i
        self.head = head
        self.pending = 0
        self.ended = False


class PutWalk:
    """Computes ``trie`` for a new entry ``key``; run ``start(heads)`` then ``await reads.drain()``."""

    __slots__ = ("key", "path", "trie", "reads", "active", "last_head")

    def __init__(self, reads: "ReadQueue", key: str) -> None:
        self.key = key
        self.path = keys.path(key, True)
        self.trie: Trie = []
        self.reads = reads
        self.active = 0
        self.last_head: Node | None = None  # head of the worker that finished last (JS ifNotExists)

    def start(self, heads: list[Node]) -> None:
        """Start the walk; the caller then runs ``await reads.drain()``."""
        if len(heads) == 1 and self._single(heads[0]):
            return
        self.trie = []
        self.last_head = None
        if heads:
            self._update(heads, 0)

    def _single(self, head: Node) -> bool:
        """The walk for one head, synchronously, while no fork appears and every block is stored (then one
        worker's callbacks run in the order they are issued: the same pushes as the general walk).
        False = start over with the general walk.

        Buckets are built whole: below the terminator, bucket ``i`` of the new trie is the head's bucket
        ``i`` without slot ``P[i]`` (the head's own slot, empty in every well-formed node), plus the head
        itself at its digit where it leaves our path — what the copy-then-split pushes give.
        """
        key = self.key
        path = self.path
        n = len(path)
        fetch = self.reads.fetch
        trie = self.trie
        i = 0
        last = n - 1
        try:
            head_trie = head.tail(0)
            while i < n:
                head_path = head.path
                if i < last:  # skip the positions where nothing happens: no bucket, head still on our path
                    lt = len(head_trie)
                    j = i
                    while j < lt and head_trie[j] is None:
                        j += 1
                    if j >= lt:
                        j = last
                    stop = _mismatch(head_path, path, i, j)
                    i = stop if stop < last else last
                val = path[i]
                bucket = head_trie[i] if i < len(head_trie) else None
                head_val = head_path[i] if i < len(head_path) else None
                on_path = head_val == val and (head_val < 4 or head.key == key)
                if not bucket:
                    if on_path:
                        i += 1
                        continue
                    self._add(i, head_val, head.seq << 32 | head.feed)
                    break
                if val == 4:  # terminator: collision reads were issued before the head was added
                    self._terminator(i, bucket, head, head_val, on_path)
                    b4 = bucket[4]
                    if not on_path and b4 is not None:
                        ptrs = slot_pointers(b4)
                        for ptr in ptrs[1:]:
                            fetch(ptr)
                        head = fetch(ptrs[0])
                    break
                slots = list(bucket)
                slots[val] = None
                for s, slot in enumerate(slots):
                    if type(slot) is tuple and len(set(slot)) != len(slot):
                        slots[s] = _freeze_slot(list(dict.fromkeys(slot)))  # JS pushes each pointer once
                if not on_path and head_val is not None:
                    ptr = head.seq << 32 | head.feed
                    have = slots[head_val]
                    if have is None:
                        slots[head_val] = ptr
                    elif type(have) is int:
                        if have != ptr:
                            slots[head_val] = (have, ptr)
                    elif ptr not in have:
                        slots[head_val] = have + (ptr,)
                if not on_path or slots[0] is not None or slots[1] is not None or slots[2] is not None or slots[3] is not None or slots[4] is not None:
                    if i > len(trie):
                        trie.extend([None] * (i - len(trie)))
                    trie.append(tuple(slots))
                if on_path:
                    i += 1
                    continue
                ptrs = bucket[val]
                if ptrs is None:
                    break
                if type(ptrs) is not int:
                    return False  # a fork: several workers
                head = fetch(ptrs)
                i += 1
                head_trie = head.tail(i)
        except BlockMissing:
            return False
        self.last_head = head
        return True

    def _terminator(self, i: int, bucket: "list | tuple", head: Node, head_val: int | None, on_path: bool) -> None:
        fetch = self.reads.fetch
        key = self.key
        checks = [(slot, ptr) for slot, ptrs in enumerate(bucket) for ptr in slot_pointers(ptrs)]
        if not on_path:
            self._add(i, head_val, head.seq << 32 | head.feed)
        for slot, ptr in checks:
            if fetch(ptr).key != key:
                self._add(i, slot, ptr)

    def _update(self, heads: list[Node], offset: int) -> None:
        self.active += len(heads)
        for head in heads:
            self._move_closer(_Worker(head, offset))

    def _end(self, worker: _Worker) -> None:
        self.active -= 1
        if not self.active:
            self.last_head = worker.head

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
        key = self.key
        while worker.i < n:
            i = worker.i
            val = path[i]
            head = worker.head
            head_trie = head.trie
            bucket = head_trie[i] if i < len(head_trie) else None
            if not bucket:
                # fast path: nothing to copy; the head stays on our path, or leaves it with nowhere to go
                head_path = head.path
                head_val = head_path[i] if i < len(head_path) else None
                if head_val == val and (head_val < 4 or head.key == key):
                    worker.i = i + 1
                    continue
                self._add(i, head_val, head.seq << 32 | head.feed)
                break
            self._copy(worker, bucket, val)
            self._split(worker, bucket, val)
            if worker.pending:
                return
            if worker.ended:
                break
            worker.i += 1
        self._end(worker)

    def _copy(self, worker: _Worker, bucket: list, val: int) -> None:
        if val == 4:  # terminator: every pointer is read first (another key with the same hash path?)
            for slot, ptrs in enumerate(bucket):
                for ptr in slot_pointers(ptrs):
                    self._check_collision(worker, slot, ptr)
            return
        i = worker.i
        for slot, ptrs in enumerate(bucket):
            if ptrs is None or slot == val:
                continue
            for ptr in slot_pointers(ptrs):
                self._add(i, slot, ptr)

    def _check_collision(self, worker: _Worker, slot: int, ptr: int) -> None:
        worker.pending += 1

        def done(node: Node) -> None:
            if node.key != self.key:
                self._add(worker.i, slot, ptr)
            self._worker_done(worker)

        self.reads.read(ptr, done)

    def _split(self, worker: _Worker, bucket: list | None, val: int) -> None:
        head = worker.head
        i = worker.i
        head_val = head.path[i] if i < len(head.path) else None
        if head_val == val and (head_val < 4 or head.key == self.key):
            return  # the head is still on our path
        self._add(worker.i, head_val, head.seq << 32 | head.feed)
        ptrs = slot_pointers(bucket[val]) if bucket and val < len(bucket) else ()
        if not ptrs:
            worker.ended = True
            return
        worker.pending += 1

        def moved(node: Node) -> None:
            worker.head = node
            self._worker_done(worker)

        self.reads.read(ptrs[0], moved)
        if len(ptrs) > 1:
            worker.pending += 1

            def forked(nodes: list) -> None:
                self._update(nodes, worker.i + 1)
                self._worker_done(worker)

            self.reads.read_all(ptrs[1:], forked)

    def _add(self, i: int, slot: int | None, ptr: int) -> None:
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
            bucket[slot] = [ptr]
            return
        if ptr not in values:
            values.append(ptr)
