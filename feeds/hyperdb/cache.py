"""A bounded least-recently-used map of decoded nodes (per writer; JS keeps an ``array-lru`` of 4096).

Walks revisit the nodes near the top of the trie on every operation and those are reached through
pointers to recent entries, so keeping the recently used ones (not the recently decoded ones) is what
makes a large db fast.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Iterator

from .node import Node

__all__ = ["NodeCache"]


class NodeCache:
    __slots__ = ("_items", "capacity")

    def __init__(self, capacity: int) -> None:
        self._items: OrderedDict[int, Node] = OrderedDict()
        self.capacity = capacity

    def get(self, seq: int) -> Node | None:
        items = self._items
        node = items.get(seq)
        if node is not None:
            items.move_to_end(seq)
        return node

    def __setitem__(self, seq: int, node: Node) -> None:
        items = self._items
        items[seq] = node
        if len(items) > self.capacity:
            items.popitem(last=False)

    def __delitem__(self, seq: int) -> None:
        del self._items[seq]

    def __contains__(self, seq: object) -> bool:
        return seq in self._items

    def __iter__(self) -> Iterator[int]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        self._items.clear()
