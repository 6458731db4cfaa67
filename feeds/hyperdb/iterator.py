"""Ordered iteration over a prefix (hyperdb 3.5.0 ``lib/iterator.js``).

Depth-first over path digits below the prefix path, with an explicit stack: at each position, digit order
``4`` (a key ending here) then ``0 1 2 3`` (reverse: ``3 2 1 0 4``); at the start position the ``4`` branch is
skipped when ``gt`` is set or the prefix is empty (so root-level key-``""`` authorization entries are not
listed).  A slot with one pointer is followed directly; a slot with several (forks, collisions) is resolved
with a prefix get restricted to that path, whose nodes are grouped by key.  Each step yields the list of
nodes of one key (several = conflicting versions); tombstone-only groups are skipped unless ``deletes``.
Non-recursive iteration stops one segment (32 digits) below the prefix.

Pointers are read when their stack entry is reached (JS reads them when pushed); the order of results is
the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from . import keys
from .node import Node
from .steps import Steps

if TYPE_CHECKING:  # pragma: no cover
    from .view import ReadView

__all__ = ["Iterator"]

_ORDER_GT = (3, 2, 1, 0)
_ORDER_GTE = (3, 2, 1, 0, 4)
_INFINITY = float("inf")


class _Top:
    __slots__ = ("path", "node", "ptr", "i")

    def __init__(self, path: bytes | None, node: Node | None, ptr: int | None, i: int) -> None:
        self.path = path
        self.node = node
        self.ptr = ptr
        self.i = i


def _utf16(s: str) -> bytes:
    return s.encode("utf-16-be", "surrogatepass")


class Iterator(Steps):
    """``async for nodes in it`` or ``await it.next()`` (``None`` at the end)."""

    def __init__(
        self,
        view: "ReadView",
        prefix: str = "",
        *,
        recursive: bool = True,
        reverse: bool = False,
        gt: bool = False,
        deletes: bool = False,
        map: Callable[[Node], Any] | None = None,
        reduce: Callable[[Any, Any], Any] | None = None,
    ) -> None:
        self._view = view
        self._prefix = prefix
        start_path = keys.path(prefix, False) if prefix else b""
        self._stack: list[_Top] = [_Top(start_path, None, None, 0)]
        self._reverse = reverse
        if reverse:
            self._gt_order = tuple(reversed(_ORDER_GT))
            self._gte_order = tuple(reversed(_ORDER_GTE))
        else:
            self._gt_order, self._gte_order = _ORDER_GT, _ORDER_GTE
        self._gt = gt
        self._start = len(start_path)
        self._end = _INFINITY if recursive else self._start + keys.SEGMENT_DIGITS
        self._map = map
        self._reduce = reduce
        self._deletes = deletes
        self._collisions: list[list[Node]] = []

    async def next(self) -> Any:
        """The next key's nodes (after map/reduce), or ``None`` when done."""
        nodes = self._drain()
        if nodes is not None:
            return self._prereturn(nodes)
        stack = self._stack
        while stack:
            top = stack.pop()
            if top.ptr is not None:
                top.node = await self._view._node_at(top.ptr)
                top.ptr = None
            if top.node is not None:
                found = self._single_node(top.node, top.i)
            else:
                assert top.path is not None  # a stack entry is a node, a pointer, or a prefix path
                found = self._multi_node(top.path, await self._view._get_path(top.path))
            if found is not None:
                return self._prereturn(found)
            nodes = self._drain()
            if nodes is not None:
                return self._prereturn(nodes)
        return None

    def _prereturn(self, nodes: list[Node]) -> Any:
        for n in nodes:
            n.value  # noqa: B018 - decode now: a corrupt value fails this step
        if self._map is not None:
            nodes = [self._map(n) for n in nodes]
        if self._reduce is not None:
            acc = nodes[0]
            for n in nodes[1:]:
                acc = self._reduce(acc, n)
            return acc
        return nodes

    def _sort_order(self, i: int) -> tuple[int, ...]:
        gt = self._gt or not self._start
        return self._gt_order if gt and self._start == i else self._gte_order

    def _push_prefix(self, path: bytes, i: int, val: int) -> None:
        base = path[:i] if i < len(path) else path
        self._stack.append(_Top(base + bytes([val]), None, None, i))

    def _single_node(self, node: Node, i: int) -> list[Node] | None:
        node_trie = node.trie
        node_path = node.path
        end = min(self._end, len(node_trie))
        while i < end:
            bucket = node_trie[i]
            if bucket is None:
                i += 1
                continue
            val = node_path[i] if i < len(node_path) else None
            for sv in self._sort_order(i):
                values = bucket[sv] if sv < len(bucket) else None
                if sv == val:
                    if values is not None:
                        self._push_prefix(node_path, i, sv)
                    else:
                        self._stack.append(_Top(None, node, None, i + 1))
                    continue
                if values is None:
                    continue
                if type(values) is int:
                    self._stack.append(_Top(None, None, values, i + 1))
                else:
                    self._push_prefix(node_path, i, sv)
            return None
        if (not self._deletes and node.deleted) or not node.key.startswith(self._prefix):
            return None
        return [node]

    def _multi_node(self, path: bytes, nodes: list[Node]) -> list[Node] | None:
        if not nodes:
            return None
        if len(nodes) == 1:
            self._stack.append(_Top(None, nodes[0], None, len(path)))
            return None
        ptr = len(path)
        if ptr < self._end:
            for sv in self._sort_order(ptr):
                if _visit_trie(nodes, ptr, sv):
                    self._push_prefix(path, ptr, sv)
        found = self._filter_result(nodes, ptr)
        if found and (self._deletes or not all(n.deleted for n in found)):
            return found
        return None

    def _filter_result(self, nodes: list[Node], i: int) -> list[Node] | None:
        # JS: nodes.sort(byKey) = key descending (UTF-16 order), then feed descending; stable.
        ordered = sorted(nodes, key=lambda n: (_utf16(n.key), n.feed), reverse=True)
        result: list[Node] | None = None
        for node in ordered:
            if len(node.path) != i and i != self._end:
                continue
            if not node.key.startswith(self._prefix):
                continue
            if result is None:
                result = []
            if result and result[0].key != node.key:
                self._collisions.append(result)
                result = []
            result.append(node)
        return result

    def _drain(self) -> list[Node] | None:
        # JS's drain() reads `this._deletes` off the global object: tombstone-only groups are always skipped
        while self._collisions:
            group = self._collisions.pop()
            if all(n.deleted for n in group):
                continue
            return group
        return None


def _visit_trie(nodes: list[Node], ptr: int, val: int) -> bool:
    for node in nodes:
        bucket = node.trie[ptr] if ptr < len(node.trie) else None
        if bucket and val < len(bucket) and bucket[val] is not None:
            return True
        if ptr < len(node.path) and node.path[ptr] == val:
            return True
    return False
