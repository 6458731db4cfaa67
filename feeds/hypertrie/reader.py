"""Read operations shared by a :class:`~.hypertrie.Hypertrie` and its checkouts (:class:`Checkout`).

The head (root of the whole index) is the newest node: block ``length - 1`` (none while the feed holds only
the header), or block ``version - 1`` for a checkout.  A head whose key is ``""`` means "empty".
Every read accepts ``wait`` (fetch missing blocks from peers; default True) and ``timeout`` (seconds).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, AsyncIterator

from .codecs import ValueEncoding
from .diff import TrieDiff
from .entry import DiffEntry, Entry
from .fetch import Fetcher, NodeCache
from .get import get_node
from .iterator import TrieIterator
from .node import HIDDEN, Node

if TYPE_CHECKING:  # pragma: no cover
    from ..hypercore import Hypercore

__all__ = ["TrieReader", "Checkout"]


class TrieReader:
    """get / list / iterator / history / diff / checkout over one hypercore (see module docstring)."""

    def __init__(self, core: "Hypercore", cache: NodeCache, encoding: ValueEncoding, checkout: int = 0) -> None:
        self._core = core
        self._cache = cache
        self._encoding = encoding
        self._checkout = checkout

    # -- basics -----------------------------------------------------------------------------------

    @property
    def core(self) -> "Hypercore":
        return self._core

    @property
    def value_encoding(self) -> ValueEncoding:
        return self._encoding

    @property
    def version(self) -> int:
        """The checkout version, or the feed length (JS ``db.version``)."""
        return self._checkout or self._core.length

    def _fetcher(self, wait: bool = True, timeout: float | None = None) -> Fetcher:
        return Fetcher(self._core, self._cache, wait=wait, timeout=timeout)

    async def _head(self, fetch: Fetcher) -> Node | None:
        if self._checkout:
            return await fetch(self._checkout - 1)
        length = self._core.length
        if length < 2:
            return None
        return await fetch(length - 1)

    def _entry(self, node: Node | None) -> Entry | None:
        return None if node is None else self._to_entry(node)

    def _to_entry(self, node: Node) -> Entry:
        vb = node.value_buffer
        return Entry(
            node.key,
            None if vb is None else self._encoding.decode(vb),
            node.seq,
            node.flags >> 8,
            bool(node.flags & HIDDEN),
        )

    async def _ensure_ready(self) -> None:
        await self._core.ready()

    # -- lookups ----------------------------------------------------------------------------------

    async def head(self, *, wait: bool = True, timeout: float | None = None) -> Entry | None:
        """The newest node (None for an empty trie)."""
        await self._ensure_ready()
        fetch = self._fetcher(wait, timeout)
        return self._entry(await self._head(fetch))

    async def get(
        self, key: str, *, hidden: bool = False, prefix: bool = False, wait: bool = True, timeout: float | None = None
    ) -> Entry | None:
        """The entry stored under ``key``, or None.  ``prefix=True``: the newest entry under ``key/``."""
        await self._ensure_ready()
        fetch = self._fetcher(wait, timeout)
        head = await self._head(fetch)
        return self._entry(await get_node(fetch, head, key, hidden=hidden, prefix=prefix))

    async def get_by_seq(self, seq: int, *, wait: bool = True, timeout: float | None = None) -> Entry | None:
        """The node in block ``seq`` (None for ``seq < 1`` and for the ``""`` "empty" marker)."""
        await self._ensure_ready()
        return self._entry(await self._fetcher(wait, timeout)(seq))

    def iterator(
        self,
        prefix: str = "",
        *,
        recursive: bool = True,
        reverse: bool = False,
        gt: bool = False,
        hidden: bool = False,
        wait: bool = True,
        timeout: float | None = None,
    ) -> AsyncIterator[Entry]:
        """The entries under ``prefix`` in JS's (hash) order; see :mod:`.iterator`."""

        async def entries() -> AsyncIterator[Entry]:
            await self._ensure_ready()
            fetch = self._fetcher(wait, timeout)
            it = TrieIterator(fetch, lambda: self._head(fetch), prefix, recursive=recursive, reverse=reverse, gt=gt, hidden=hidden)
            while (node := await it.next()) is not None:
                yield self._to_entry(node)

        return entries()

    async def list(self, prefix: str = "", **options: Any) -> list[Entry]:
        """``[entry async for entry in self.iterator(prefix, **options)]``."""
        return [e async for e in self.iterator(prefix, **options)]

    def history(
        self,
        *,
        gte: int | None = None,
        lte: int | None = None,
        gt: int | None = None,
        lt: int | None = None,
        reverse: bool = False,
        live: bool = False,
        wait: bool = True,
        timeout: float | None = None,
    ) -> AsyncIterator[Entry]:
        """Every node from block ``gte`` (default 1) to ``lte`` (default the head), in block order (or
        reversed).  ``live`` (forward only) keeps waiting for new blocks.  The ``""`` "empty" markers that
        deletes write are included (key ``""``, value None); JS crashes on them."""
        start = gt + 1 if gt is not None else (gte if gte is not None else 1)
        stop = lt - 1 if lt is not None else lte

        async def entries() -> AsyncIterator[Entry]:
            await self._ensure_ready()
            fetch = self._fetcher(wait, timeout)
            follow = live and not reverse
            last = 0
            if not follow:
                head = await self._head(fetch)
                head_seq = head.seq if head is not None else -1
                last = head_seq if stop is None else min(stop, head_seq)
            lo, hi = start, last
            while follow or lo <= hi:
                if reverse:
                    seq = hi
                    hi -= 1
                else:
                    seq = lo
                    lo += 1
                    if seq >= self._core.length and not self._checkout:
                        await self._core.update(seq + 1)
                node = fetch.nodes.get(seq) or await fetch.load(seq)
                yield self._to_entry(node)

        return entries()

    def diff(
        self,
        other: "TrieReader | int | None" = None,
        prefix: str = "",
        *,
        hidden: bool = False,
        skip_left_null: bool = False,
        skip_right_null: bool = False,
    ) -> AsyncIterator[DiffEntry]:
        """The keys whose node differs between this trie (left) and ``other`` (right: a checkout, another
        reader of the same feed, or a version number; None or 0 means version 1, the empty trie).
        Hash order, as JS."""
        right = other if isinstance(other, TrieReader) else self.checkout(other)

        async def entries() -> AsyncIterator[DiffEntry]:
            await self._ensure_ready()
            fetch = self._fetcher()
            rfetch = right._fetcher()
            d = TrieDiff(
                fetch,
                lambda: self._head(fetch),
                lambda: right._head(rfetch),
                prefix,
                hidden=hidden,
                skip_left_null=skip_left_null,
                skip_right_null=skip_right_null,
            )
            while (pair := await d.next()) is not None:
                left, r = pair
                key = left.key if left is not None else r.key  # type: ignore[union-attr]
                yield DiffEntry(key, self._entry(left), self._entry(r))

        return entries()

    def checkout(self, version: int | None) -> "Checkout":
        """A read-only view of the trie as of ``version`` (a past feed length; 0 and None mean 1)."""
        return Checkout(self._core, self._cache, self._encoding, version or 1)

    def snapshot(self) -> "Checkout":
        """A checkout at the current version."""
        return self.checkout(self.version)


class Checkout(TrieReader):
    """A read-only view of a trie at a fixed version (shares the core and the node cache)."""

    def __repr__(self) -> str:
        return f"Checkout(version={self._checkout})"
