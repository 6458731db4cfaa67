"""Decoded append-tree nodes, kept by block number (shared by a tree and its checkouts).

Two caches, because directory listings touch many nodes but only need their names:

* ``brief``: block -> ``(name, components, is_put)`` for every node read so far (small; the dict is
  dropped wholesale when it passes ``max_brief`` entries, never while a caller holds a result);
* ``nodes``: an LRU of whole :class:`TreeNode` objects (value, path index bytes, the inflated index and
  the per-depth child maps computed from it), bounded by an estimate of their memory.

Nodes are immutable once written, so nothing is ever invalidated.
"""

from __future__ import annotations

from collections import OrderedDict

from .paths import split

__all__ = ["TreeNode", "NodeCache", "Brief"]

Brief = tuple[str, tuple[str, ...], bool]  # (name, components, has a value)

_NODE_OVERHEAD = 400
_BYTES_PER_PATH_BYTE = 40  # an inflated seq costs ~36 bytes (int + list slot) per ~1 byte of varint
_BYTES_PER_CHILD = 120


class TreeNode:
    """One append-tree node: block ``seq``, ``name``, ``value`` (None for a deletion), ``paths``.

    ``index`` (the inflated path index) and ``children`` (depth -> ``(map, exact)``: child component
    -> representative seq of list ``depth``; ``exact`` is False when two entries share a component, and
    the map then keeps the first) are filled in lazily by the tree.
    """

    __slots__ = ("seq", "name", "names", "value", "paths", "index", "children")

    def __init__(self, seq: int, name: str, value: bytes | None, paths: bytes | None,
                 index: list[list[int]] | None = None) -> None:
        self.seq = seq
        self.name = name
        self.names = split(name)
        self.value = value
        self.paths = paths
        self.index = index
        self.children: dict[int, tuple[dict, bool]] = {}

    @property
    def is_put(self) -> bool:
        """True for a put (the value is present, even if empty), False for a tombstone."""
        return self.value is not None

    def brief(self) -> Brief:
        return self.name, self.names, self.value is not None

    def __repr__(self) -> str:
        return f"TreeNode(seq={self.seq}, name={self.name!r}, put={self.is_put})"


class NodeCache:
    """See the module docstring."""

    def __init__(self, max_bytes: int = 48 << 20, max_brief: int = 1 << 18) -> None:
        self.max_bytes = max_bytes
        self.max_brief = max_brief
        self.brief: dict[int, Brief] = {}
        self._nodes: OrderedDict[int, tuple[TreeNode, int]] = OrderedDict()
        self._bytes = 0

    def get(self, seq: int) -> TreeNode | None:
        hit = self._nodes.get(seq)
        if hit is None:
            return None
        self._nodes.move_to_end(seq)
        return hit[0]

    def add(self, node: TreeNode) -> None:
        self.add_brief(node.seq, node.brief())
        self._put(node, _NODE_OVERHEAD + _BYTES_PER_PATH_BYTE * len(node.paths or b""))

    def grew(self, node: TreeNode, children: int) -> None:
        """Account for a child map of ``children`` entries computed on a cached ``node``."""
        hit = self._nodes.get(node.seq)
        if hit is not None and hit[0] is node:
            self._put(node, hit[1] + _BYTES_PER_CHILD * children)

    def _put(self, node: TreeNode, weight: int) -> None:
        old = self._nodes.pop(node.seq, None)
        if old is not None:
            self._bytes -= old[1]
        self._nodes[node.seq] = (node, weight)
        self._bytes += weight
        while self._bytes > self.max_bytes and len(self._nodes) > 1:
            _, (_, w) = self._nodes.popitem(last=False)
            self._bytes -= w

    def add_brief(self, seq: int, brief: Brief) -> None:
        self.brief[seq] = brief

    def make_room(self, wanted: int) -> None:
        """Called before ``wanted`` briefs are added: start over when the dict would grow too big."""
        if len(self.brief) + wanted > self.max_brief:
            self.brief.clear()
