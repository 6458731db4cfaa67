"""A bounded cache of tree nodes by index, that the cyclic garbage collector does not walk.

Policy: two generations of plain ``dict``.  New nodes go into the young generation; when it holds half the
cache's size it becomes the old generation (the previous old one is dropped) and a new young one starts.
A node found in the old generation moves to the young one.  So the cache holds at most ``size`` nodes and
keeps every node used within the last ``size / 2`` insertions: an approximation of least-recently-used
that costs one dict lookup per hit (an ``OrderedDict`` LRU pays a lookup and a ``move_to_end``).

Why plain dicts with untracked nodes: :class:`~hyperparty.protocol.messages.Node` is a ``NamedTuple``,
which CPython's collector never untracks by itself, and an ``OrderedDict`` is never untracked either, so
every cached node was walked on each full collection (see :mod:`hyperparty.untrack`).  Nodes whose fields
are exact ``int``/``bytes`` cannot be in a cycle; they are untracked as they enter.  Storing a NamedTuple
makes CPython track the dict again (it cannot see the node is untracked), so the young dict is untracked
after each insertion while it holds only such nodes, and the old one stays untracked (popping never
tracks a dict again): a cache costs the collector next to nothing.
"""

from __future__ import annotations

from gc import is_tracked
from typing import Iterator

from ...protocol.messages import Node
from ...untrack import untrack

__all__ = ["NodeCache"]


class NodeCache:
    """At most ``size`` nodes by index; see the module docstring for the eviction policy."""

    __slots__ = ("young", "old", "half", "clean")

    def __init__(self, size: int = 65536) -> None:
        self.half = max(1, size // 2)
        self.young: dict[int, Node] = {}
        self.old: dict[int, Node] = {}
        self.clean = True  # every node in ``young`` is untracked, so ``young`` itself may be

    def get(self, index: int) -> Node | None:
        """The cached node ``index`` (moved to the young generation), or None."""
        node = self.young.get(index)
        if node is None:
            node = self.revive(index)
        return node

    def revive(self, index: int) -> Node | None:
        """Node ``index`` from the old generation, moved to the young one; None when it is not there
        (:meth:`get` after the young generation missed)."""
        node = self.old.pop(index, None)
        if node is not None:
            self._insert(index, node, not is_tracked(node))
        return node

    def put(self, node: Node) -> None:
        """Cache ``node`` under its index (replacing any node cached there)."""
        index = node[0]
        self.old.pop(index, None)
        safe = type(node) is Node and type(index) is int and type(node[1]) is bytes and type(node[2]) is int
        if safe:
            untrack(node)  # immutable atoms only: it can never be part of a reference cycle
        self._insert(index, node, safe)

    def add_read(self, node: Node) -> None:
        """Cache ``node``, just read from storage: an exact :class:`Node` of an ``int`` index, ``bytes``
        hash and ``int`` size, not cached now (its lookup just missed).  :meth:`put` without those checks
        (a tree node missed by the cache costs about half as much)."""
        untrack(node)
        self._insert(node[0], node, True)

    def _insert(self, index: int, node: Node, untracked: bool) -> None:
        young = self.young
        young[index] = node
        if not untracked:
            self.clean = False  # the young generation holds a tracked node: the collector must see it
        if self.clean:
            untrack(young)  # storing a NamedTuple made CPython track the dict again
        if len(young) >= self.half:
            self.old = young  # popping from it never tracks it again
            self.young = {}
            self.clean = True

    def pop(self, index: int) -> None:
        """Forget node ``index`` (if cached)."""
        self.young.pop(index, None)
        self.old.pop(index, None)

    def clear(self) -> None:
        self.young = {}
        self.old = {}
        self.clean = True

    def __len__(self) -> int:
        return len(self.young) + len(self.old)

    def __contains__(self, index: object) -> bool:
        return index in self.young or index in self.old

    def __iter__(self) -> Iterator[int]:
        """The cached indexes (old generation first)."""
        yield from self.old
        yield from self.young
