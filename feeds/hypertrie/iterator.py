"""Iterating a prefix in JS's order (hypertrie 3.8.0 ``lib/iterator.js``).

Open: find the newest node under the prefix (a ``prefix`` get) and start a depth-first walk from it at
position ``32 * #segments + 1``; ``recursive=False`` stops one segment (32 positions) further and yields the
node reached in each child branch, like ``readdir``.  Step: pop ``(node, i)``; past the node's path (or the
depth limit) yield it; else, for the digits in push order ``3, 2, 1, 0, 4`` (reversed for ``reverse``):
push the node itself if its own digit is that one, and every node its bucket names for that digit
(``v, v+5, ...``), reordered to pop in ascending key order when a digit pushed more than one.  The stack is
LIFO, so the "key ends here" branch (4) comes out first, then digits 0..3: hash order, not key order.
``gt`` skips the prefix node itself.
"""

from __future__ import annotations

import math
from typing import Awaitable, Callable

from .fetch import Fetcher
from .get import Probe, get_node
from .node import Node
from .path import normalize_key

__all__ = ["TrieIterator", "SORT_ORDER", "REVERSE_SORT_ORDER"]

SORT_ORDER = (3, 2, 1, 0, 4)
REVERSE_SORT_ORDER = (4, 0, 1, 2, 3)



def _js_order(key: str) -> bytes:
    """A sort key giving JS string order (UTF-16 code units)."""
    return key.encode("utf-16-be", "surrogatepass")


class TrieIterator:
    """Async iterator of the nodes under ``prefix`` (see module docstring)."""

    def __init__(
        self,
        fetch: Fetcher,
        head_fn: Callable[[], Awaitable["Node | None"]],
        prefix: str = "",
        *,
        recursive: bool = True,
        reverse: bool = False,
        gt: bool = False,
        hidden: bool = False,
    ) -> None:
        self._fetch = fetch
        self._head_fn = head_fn
        self._prefix = normalize_key(prefix or "")  # and the prefix lookup normalises again (JS does both)
        self._recursive = recursive
        self._order = REVERSE_SORT_ORDER if reverse else SORT_ORDER
        self._gt = gt
        self._hidden = hidden
        self._stack: list[list] = []  # [node, i] entries; the same list object may be pushed again
        self._start = 0
        self._end = 0.0
        self._opened = False

    def __aiter__(self) -> "TrieIterator":
        return self

    async def __anext__(self) -> Node:
        node = await self.next()
        if node is None:
            raise StopAsyncIteration
        return node

    async def _open(self) -> None:
        self._opened = True
        head = await self._head_fn()
        node = await get_node(self._fetch, head, self._prefix, hidden=self._hidden, prefix=True)
        start = Probe(self._prefix, self._hidden).length - 1
        if node is not None:
            self._stack.append([node, start])
        self._start = start
        self._end = math.inf if self._recursive else start + 32

    async def next(self) -> Node | None:
        """The next node, or None at the end."""
        if not self._opened:
            await self._open()
        stack = self._stack
        fetch = self._fetch
        while stack:
            top = stack.pop()
            node, i = top
            if node is None:  # a pointer to a "" node (JS crashes here): nothing to yield
                continue
            top[1] = i + 1
            if i >= min(node.length, self._end):
                return node
            bucket = node.trie.get(i) or ()
            own = node.digits[i] if i < node.length else 4
            pending: list[tuple[list, int]] = []
            needs_sort: list[tuple[int, int]] = []
            for val in self._order:
                if val == 4 and self._gt and i == self._start:
                    continue
                before = len(stack)
                if own == val:
                    stack.append(top)
                for s in range(val, len(bucket), 5):
                    seq = bucket[s]
                    if seq:
                        entry = [None, i + 1]
                        stack.append(entry)
                        pending.append((entry, seq))
                if len(stack) - before > 1:
                    needs_sort.append((before, len(stack)))
            for entry, seq in pending:
                entry[0] = await fetch(seq)
            while needs_sort:
                lo, hi = needs_sort.pop()
                _sort_range(stack, lo, hi)
        return None


def _sort_range(stack: list[list], lo: int, hi: int) -> None:
    """Order ``stack[lo:hi]`` so that it pops in ascending key order (JS insertion sort, stable on ties)."""
    for i in range(lo + 1, hi):
        j = i
        while j > lo:
            a, b = stack[j], stack[j - 1]
            ka = _js_order(a[0].key if a[0] is not None else "")
            kb = _js_order(b[0].key if b[0] is not None else "")
            if ka <= kb:
                break
            stack[j], stack[j - 1] = b, a
            j -= 1
