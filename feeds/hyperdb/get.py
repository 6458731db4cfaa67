"""The get walk (hyperdb 3.5.0 ``lib/get.js``): the nodes for a key (several = concurrent versions).

One worker per head follows the key's path ``P``: where its node's digit differs it follows the node's
pointers for ``P[i]`` (one pointer: move to it; several: replace the worker by one worker per pointer;
none: not found).  A node is only followed when it is a *head* for the walk: no other worker's starting
node ("lock") has seen it (``lock.clock[node.feed] >= node.seq + 1``).  A worker that matches the whole path
yields its node (when its key equals the key, or always in prefix mode), then the pointers of the last
bucket's slot (collisions / forks at the terminator).  Results come in callback order (see ``walk.py``).

After the walk, a result that another result *of the same key* has seen (its clock covers the node) is
dropped: it is an older version, not a conflict.  JS hyperdb 3.5.0 relies on the walk alone, whose head
check only looks at the workers alive at that moment, so it can return such a stale version or not
depending on the order of the heads (the writers' local ids, which differ from peer to peer): two peers
holding the same entries then list different values.  Dropping superseded versions makes every peer
answer the same; where JS's answer is not order-dependent it is unchanged.  Then, without ``deletes``,
outside prefix mode, when every result is a tombstone there is no result at all (when only some are,
they are returned too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .node import Node, filter_heads
from .put import _mismatch
from .trie import slot_pointers
from .writer import BlockMissing

if TYPE_CHECKING:  # pragma: no cover
    from .walk import ReadQueue

__all__ = ["GetWalk"]


def _drop_superseded(nodes: list[Node]) -> list[Node]:
    """``nodes`` (in their order) without those another node *of the same key* has seen."""
    by_key: dict[str, list[Node]] = {}
    for node in nodes:
        by_key.setdefault(node.key, []).append(node)
    kept = {id(node) for group in by_key.values() for node in filter_heads(group)}
    return [node for node in nodes if id(node) in kept]


class _Worker:
    __slots__ = ("i", "head", "lock")

    def __init__(self, head: Node, i: int) -> None:
        self.i = i
        self.head = head
        self.lock = head


class GetWalk:
    __slots__ = ("key", "path", "prefixed", "deletes", "results", "workers", "active", "reads")

    def __init__(self, reads: "ReadQueue", key: str, path: bytes, *, prefixed: bool = False, deletes: bool = False) -> None:
        self.reads = reads
        self.key = key
        self.path = path
        self.prefixed = prefixed
        self.deletes = deletes
        self.results: list[Node] = []
        self.workers: list[_Worker] = []
        self.active = 0

    def start(self, heads: list[Node]) -> None:
        """Start the walk; the caller then runs ``await reads.drain()``."""
        if len(heads) == 1 and self._single(heads[0]):
            return
        self.results = []
        if heads:
            self._update(heads, None)

    def _single(self, head: Node) -> bool:
        """One head, synchronously, while no fork appears and every block is stored (with a single worker
        every node is a head for the walk).  False = start over with the general walk."""
        path = self.path
        n = len(path)
        fetch = self.reads.fetch
        i = 0
        try:
            while True:
                arrived = i
                i = _mismatch(head.path, path, i, n)
                if i >= n:
                    break
                head_trie = head.tail(arrived)
                bucket = head_trie[i] if i < len(head_trie) else None
                ptrs = bucket[path[i]] if bucket else None
                if ptrs is None:
                    return True
                if type(ptrs) is not int:
                    return False
                head = fetch(ptrs)
                i += 1
            self._push(head)
            top = n - 1
            if top < 0:
                return True
            head_trie = head.tail(arrived)
            if top >= len(head_trie):
                return True
            last = head_trie[top]
            vals = last[path[top]] if last else None
            if vals is not None:
                for node in [fetch(ptr) for ptr in slot_pointers(vals)]:
                    self._push(node)
        except BlockMissing:
            return False
        return True

    def finish(self) -> list[Node]:
        results = _drop_superseded(self.results) if len(self.results) > 1 else self.results
        if not self.deletes and not self.prefixed and all(n.deleted for n in results):
            return []
        return results

    def _push(self, node: Node) -> None:
        if self.prefixed or node.key == self.key:
            self.results.append(node)

    def _remove(self, worker: _Worker) -> None:
        try:
            self.workers.remove(worker)
        except ValueError:
            pass

    def _update(self, nodes: list[Node], worker: _Worker | None) -> None:
        if worker is not None:
            self._remove(worker)
        self.active += len(nodes)
        offset = worker.i + 1 if worker is not None else 0
        for node in nodes:
            nxt = _Worker(node, offset)
            self.workers.append(nxt)
            if self._is_head(nxt.lock, nxt):
                self._move_closer(nxt)
            else:
                self._end(nxt, remove=True)
        if worker is not None:
            self._end(worker)

    def _end(self, worker: _Worker, remove: bool = False) -> None:
        if remove:
            self._remove(worker)
        self.active -= 1

    def _is_head(self, node: Node, worker: _Worker) -> bool:
        clock = node.seq + 1
        feed = node.feed
        for other in self.workers:
            if other is worker:
                continue
            other_clock = other.lock.clock
            if feed < len(other_clock) and clock <= other_clock[feed]:
                return False
        return True

    def _move_closer(self, worker: _Worker) -> None:
        path = self.path
        head = worker.head
        if head is None:
            return self._end(worker)
        head_path = head.path
        n = len(path)
        hn = len(head_path)
        while worker.i < n:
            i = worker.i
            val = path[i]
            if i < hn and head_path[i] == val:
                worker.i += 1
                continue
            head_trie = head.trie
            bucket = head_trie[i] if i < len(head_trie) else None
            ptrs = bucket[val] if bucket and val < len(bucket) else None
            if ptrs is None:
                return self._end(worker)
            if type(ptrs) is int:
                self.reads.read(ptrs, lambda node: self._moved(node, worker))
            else:
                self.reads.read_all(slot_pointers(ptrs), lambda nodes: self._update(nodes, worker))
            return
        self._push(head)
        top = n - 1
        if top < 0 or top >= len(head.trie):
            return self._end(worker)
        last = head.trie[top]
        vals = slot_pointers(last[path[top]]) if last and path[top] < len(last) else ()
        if not vals:
            return self._end(worker)
        self.reads.read_all(vals, lambda nodes: self._push_heads(nodes, worker))

    def _moved(self, node: Node, worker: _Worker) -> None:
        if not self._is_head(node, worker):
            return self._end(worker, remove=True)
        worker.head = node
        worker.i += 1
        self._move_closer(worker)

    def _push_heads(self, nodes: list[Node], worker: _Worker) -> None:
        for node in nodes:
            if self._is_head(node, worker):
                self._push(node)
        self._end(worker)
