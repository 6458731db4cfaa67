"""Reading nodes by seq: a shared cache of decoded nodes in front of the hypercore, and the batch overlay.

``Fetcher(core, cache, wait, timeout)`` is what every walk reads through: ``await fetcher(seq)`` is JS
``getBySeq``: None for ``seq < 1`` and for a node whose key is ``""`` (the "db is empty" marker deletes
write), else the decoded :class:`~.node.Node`.  A block that is not local is fetched from peers (sparse
replicas) unless ``wait`` is false; ``timeout`` bounds that wait.

Decoded nodes are cached by seq (they never change); a block that fails to decode is not cached, so the
error is raised again on every lookup that meets it.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from .errors import BeyondFeedError
from .node import Node

if TYPE_CHECKING:  # pragma: no cover
    from ..hypercore import Hypercore

__all__ = ["NodeCache", "Fetcher", "BatchFetcher", "MISSING"]

#: :meth:`Fetcher.peek`'s "not at hand: await the fetcher" (a node no block holds, so it types as one)
MISSING = Node("", None, 0, {}, -1)


class NodeCache:
    """Decoded nodes by seq, at most ``size`` of them; the oldest inserted go first (a hot node that is
    dropped is read again and comes back)."""

    __slots__ = ("nodes", "order", "size")

    def __init__(self, size: int = 1 << 15) -> None:
        self.nodes: dict[int, Node] = {}
        self.order: deque[int] = deque()
        self.size = size

    def add(self, node: Node) -> None:
        nodes = self.nodes
        seq = node.seq
        if seq in nodes:
            return
        if len(nodes) >= self.size:
            order = self.order
            for _ in range(max(1, self.size >> 4)):  # drop a sixteenth at a time
                nodes.pop(order.popleft(), None)
        nodes[seq] = node
        self.order.append(seq)

    def clear(self) -> None:
        self.nodes.clear()
        self.order.clear()


class Fetcher:
    """``await fetcher(seq)`` -> Node or None (see module docstring); ``await fetcher.raw(seq)`` -> Node,
    also for ``""`` keys (what a batch sees of its own nodes)."""

    __slots__ = ("core", "cache", "nodes", "wait", "timeout", "reads")

    def __init__(self, core: "Hypercore", cache: NodeCache, *, wait: bool = True, timeout: float | None = None):
        self.core = core
        self.cache = cache
        self.nodes = cache.nodes
        self.wait = wait
        self.timeout = timeout
        self.reads = 0  # blocks read from the core (cache misses)

    async def __call__(self, seq: int) -> Node | None:
        if seq < 1:
            return None
        node = self.nodes.get(seq)
        if node is None:
            node = await self.load(seq)
        return node if node.key else None

    def peek(self, seq: int) -> Node | None:
        """What ``await self(seq)`` gives when that needs no read (a cached node), else :data:`MISSING`:
        the walks' fast path (``n = fetch.peek(s); if n is MISSING: n = await fetch(s)``)."""
        node = self.nodes.get(seq)
        if node is None or seq < 1:
            return MISSING
        return node if node.key else None

    async def load(self, seq: int) -> Node:
        core = self.core
        if core.opened and core.bitfield.get(seq):
            data = core.read_block(seq)
        elif core.writable and seq >= core.length:
            raise BeyondFeedError(seq, core.length)
        else:
            data = await core.get(seq, wait=self.wait, timeout=self.timeout)
        self.reads += 1
        node = Node.decode(data, seq)
        self.cache.add(node)
        return node


class BatchFetcher(Fetcher):
    """A fetcher that serves a batch's own nodes (seq ``>= start``) from memory, as JS ``Batch.get`` does:
    those are returned even when their key is ``""``."""

    __slots__ = ("start", "batch")

    def __init__(self, base: Fetcher, start: int) -> None:
        super().__init__(base.core, base.cache, wait=base.wait, timeout=base.timeout)
        self.start = start
        self.batch: list[Node] = []

    async def __call__(self, seq: int) -> Node | None:
        k = seq - self.start
        if 0 <= k < len(self.batch):
            return self.batch[k]
        return await Fetcher.__call__(self, seq)

    def peek(self, seq: int) -> Node | None:
        k = seq - self.start
        if 0 <= k < len(self.batch):
            return self.batch[k]
        return Fetcher.peek(self, seq)
