"""What a feed wants from its peers: download selections and waiting reads (hypercore 7's
``feed._selections`` and ``feed._waiting``).

The feed only keeps these lists and resolves entries when blocks arrive; the replicator
(``replicate.py``) reads them to decide which Requests to send, using ``Selection.iterator`` (a
:class:`~.bitfield.BitfieldIterator`) and ``Waiting.index``.

* :class:`Selection` ``{start, end (exclusive, -1 = open), linear, hash}``: done when every block (hash
  selections: every tree node ``2*j``) in ``[start, end)`` is local.  The replicator may change ``end``
  (non-live replication sets it to the longest known length, as JS does).
* :class:`Waiting` ``{index, bytes, hash, update, min_length, start, end}``: a ``get(index)`` (``bytes == 0``),
  an ``update()`` (``update=True``, resolved when ``length >= min_length``) or a seek-by-bytes
  (``bytes > 0``, ``index == -1``).

Both carry an :class:`asyncio.Future` (created lazily in the running loop) resolved with ``None`` or an
exception.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["Selection", "Waiting", "want_range"]


def want_range(i: int) -> int:
    """Start of the 1 MiB-block Want region containing block ``i`` (JS ``toWantRange``)."""
    return (i // (1024 * 1024)) * 1024 * 1024


class _Pending:
    __slots__ = ()

    def _ensure_future(self) -> asyncio.Future:
        fut = self.future  # type: ignore[attr-defined]
        if fut is None:
            fut = self.future = asyncio.get_running_loop().create_future()  # type: ignore[attr-defined]
        return fut

    @property
    def done(self) -> bool:
        fut = self.future  # type: ignore[attr-defined]
        return self.finished or (fut is not None and fut.done())  # type: ignore[attr-defined]

    def resolve(self, error: BaseException | None = None) -> None:
        """Finish this entry (idempotent)."""
        if self.finished:  # type: ignore[attr-defined]
            return
        self.finished = True  # type: ignore[attr-defined]
        fut = self.future  # type: ignore[attr-defined]
        if fut is not None and not fut.done():
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(error)
        for fn in self.callbacks:  # type: ignore[attr-defined]
            fn(error)


class Selection(_Pending):
    """A ``download(start, end)`` range."""

    __slots__ = ("start", "end", "linear", "hash", "iterator", "want", "future", "finished", "callbacks", "cursor", "bytes")

    def __init__(self, start: int = 0, end: int = -1, *, linear: bool = False, hash: bool = False) -> None:
        self.start = start or 0
        self.end = end if end is not None else -1
        self.linear = linear
        self.hash = hash
        self.iterator: Any = None
        self.want = want_range(self.start)
        self.future: asyncio.Future | None = None
        self.finished = False
        self.callbacks: list = []
        self.cursor = self.start
        self.bytes = 0

    def __repr__(self) -> str:
        return f"Selection(start={self.start}, end={self.end}, linear={self.linear}, hash={self.hash})"


class Waiting(_Pending):
    """A read waiting for a block (``get``), for a longer feed (``update``) or for a byte offset (``seek``)."""

    __slots__ = ("index", "bytes", "hash", "update", "min_length", "start", "end", "want", "future", "finished", "callbacks", "options")

    def __init__(
        self,
        index: int,
        *,
        bytes: int = 0,
        hash: bool = False,
        update: bool = False,
        min_length: int = 0,
        start: int = 0,
        end: int = -1,
    ) -> None:
        self.index = index
        self.bytes = bytes
        self.hash = hash
        self.update = update
        self.min_length = min_length
        self.start = start
        self.end = end
        self.want = want_range(start)
        self.future: asyncio.Future | None = None
        self.finished = False
        self.callbacks: list = []
        self.options: dict = {}

    def __repr__(self) -> str:
        kind = "update" if self.update else "seek" if self.bytes else "get"
        return f"Waiting({kind}, index={self.index}, bytes={self.bytes})"
