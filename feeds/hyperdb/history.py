"""History streams (hyperdb 3.5.0 ``lib/history.js`` and ``lib/key-history.js``).

* :class:`History` merges every writer's entries (seq >= 1, up to the highest clock any current head has for
  that writer) into one causal order: it repeatedly emits the pending entry that no other pending entry's
  clock shows as earlier (``reverse``: the latest first).
* :class:`KeyHistory` walks the versions of one key: a get with tombstones, then steps back through the
  clocks of the results to the heads that preceded them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .node import Node
from .steps import Steps

if TYPE_CHECKING:  # pragma: no cover
    from .view import ReadView

__all__ = ["History", "KeyHistory"]


class History(Steps):
    def __init__(self, view: "ReadView", *, reverse: bool = False) -> None:
        self._view = view
        self._reverse = reverse
        self._end: list[int] | None = None
        self._nodes: list[Node | None] = []

    async def _open(self) -> None:
        heads = await self._view.heads()
        n = len(self._view._writers.list)
        self._end = [max((h.clock[i] for h in heads if len(h.clock) > i), default=0) for i in range(n)]
        self._nodes = [None] * n
        for i in range(n):
            if self._end[i] > 1:
                node = await self._view._node(i, self._end[i] - 1 if self._reverse else 1)
                self._nodes[node.feed] = node

    async def next(self) -> Node | None:
        if self._end is None:
            await self._open()
        node = self._pick()
        if node is None:
            return None
        end = self._end
        assert end is not None
        seq = node.seq - 1 if self._reverse else node.seq + 1
        if (self._reverse and seq <= 0) or (not self._reverse and seq >= end[node.feed]):
            self._nodes[node.feed] = None
        else:
            nxt = await self._view._node(node.feed, seq)
            self._nodes[nxt.feed] = nxt
        return node

    def _pick(self) -> Node | None:
        better = _gt if self._reverse else _lt
        best = None
        for t in self._nodes:
            if t is None or (best is not None and not better(t, best)):
                continue
            best = t
        return best


def _lt(a: Node, b: Node) -> bool:
    clock = b.clock[a.feed] if a.feed < len(b.clock) else 0
    return a.seq + 1 < clock


def _gt(a: Node, b: Node) -> bool:
    clock = b.clock[a.feed] if a.feed < len(b.clock) else 0
    return a.seq + 1 > clock


class KeyHistory(Steps):
    def __init__(self, view: "ReadView", key: str) -> None:
        self._view = view
        self._key = key
        self._heads: list[Node] | None = None
        self._opened = False

    async def next(self) -> list[Node] | None:
        if not self._opened:
            self._opened = True
            self._heads = await self._view.heads()
        if not self._heads:
            return None
        nodes = await self._view._get_with_heads(self._heads, self._key, deletes=True)
        if not nodes:
            return None
        self._heads = await self._next_heads(nodes)
        return nodes

    async def _next_heads(self, nodes: list[Node]) -> list[Node] | None:
        heads: list[Node] = []
        wanted = []
        for node in nodes:
            for c, seq in enumerate(node.clock):
                if c != node.feed and seq > 2:
                    wanted.append((c, seq - 1))
                elif c == node.feed and node.seq > 1:
                    wanted.append((node.feed, node.seq - 1))
        if not wanted:
            return None
        for feed, seq in wanted:
            heads.append(await self._view._node(feed, seq))
        return [h for h in heads if _is_head(h, heads)]


def _is_head(node: Node, heads: list[Node]) -> bool:
    clock = node.seq + 1
    for other in heads:
        if other is node:
            continue
        if (other.clock[node.feed] if node.feed < len(other.clock) else 0) >= clock:
            return False
    return True
