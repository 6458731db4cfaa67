"""Deterministic stand-in for JS's asynchronous reads during trie walks.

hyperdb's put/get walks issue reads (``_getPointer``) whose callbacks run later; when several workers walk
at once (several heads, forks), the ORDER in which callbacks run decides the order of pointers in the
written trie, and of the nodes a get returns.  :class:`ReadQueue` runs every callback strictly in request
order (FIFO), after the synchronous part of the walk has finished — what JS does when reads complete in
the order they were issued.  The single-head, no-fork case (the common one) does not depend on it.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Awaitable, Callable, Sequence

from .node import Node
from .writer import BlockMissing

__all__ = ["ReadQueue"]

Fetch = Callable[[int], Node]  # packed pointer (trie.pointer) -> node
FetchAsync = Callable[[int], Awaitable[Node]]


class ReadQueue:
    """``read(pointer, callback)`` queues a read; ``await drain()`` serves them in order."""

    __slots__ = ("_queue", "fetch", "_fetch_async")

    def __init__(self, fetch: Fetch, fetch_async: FetchAsync) -> None:
        self._queue: deque = deque()
        self.fetch = fetch  # synchronous: a stored block, or BlockMissing
        self._fetch_async = fetch_async

    def read(self, ptr: int, callback: Callable[[Node], Any]) -> None:
        self._queue.append((ptr, callback))

    def read_all(self, pointers: Sequence[int], callback: Callable[[list], Any]) -> None:
        """Read every pointer; ``callback(nodes)`` (in pointer order) once the last read is served."""
        n = len(pointers)
        results: list = [None] * n
        missing = [n]

        def one(k: int) -> Callable[[Node], None]:
            def done(node: Node) -> None:
                results[k] = node
                missing[0] -= 1
                if not missing[0]:
                    callback(results)

            return done

        for k, ptr in enumerate(pointers):
            self.read(ptr, one(k))

    async def drain(self) -> None:
        queue = self._queue
        fetch = self.fetch
        while queue:
            ptr, callback = queue.popleft()
            try:
                node = fetch(ptr)
            except BlockMissing:
                node = await self._fetch_async(ptr)
            callback(node)
