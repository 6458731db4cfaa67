"""What a feed wants from its peers: download selections and waiting reads (hypercore 7's
``feed._selections`` and ``feed._waiting``).

The feed only keeps these lists and resolves entries when blocks arrive; the replicator
(``replicate.py``) reads them to decide which Requests to send.

* :class:`Selection` ``{start, end (exclusive, -1 = open), linear, hash}``: done when every block (hash
  selections: every tree node ``2*j``) in ``[start, end)`` is local.  The replicator may change ``end``
  (non-live replication sets it to the longest known length, as JS does).  ``cursor`` remembers how far
  it is known to be complete.
* :class:`Waiting` ``{index, hash, update, min_length}``: a ``get(index)``, or an ``update()``
  (``update=True``, resolved when ``length >= min_length``).

Both carry an :class:`asyncio.Future` (created lazily in the running loop) resolved with ``None`` or an
exception.
"""

from __future__ import annotations

import asyncio

__all__ = ["Selection", "Waiting"]


class _Pending:
    __slots__ = ("future", "finished")

    future: asyncio.Future | None
    finished: bool

    def _ensure_future(self) -> asyncio.Future:
        fut = self.future
        if fut is None:
            fut = self.future = asyncio.get_running_loop().create_future()
        return fut

    def resolve(self, error: BaseException | None = None) -> None:
        """Finish this entry (idempotent)."""
        if self.finished:
            return
        self.finished = True
        fut = self.future
        if fut is not None and not fut.done():
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(error)


class Selection(_Pending):
    """A ``download(start, end)`` range."""

    __slots__ = ("start", "end", "linear", "hash", "cursor")

    def __init__(self, start: int = 0, end: int = -1, *, linear: bool = False, hash: bool = False) -> None:
        self.start = start or 0
        self.end = end if end is not None else -1
        self.linear = linear
        self.hash = hash
        self.future = None
        self.finished = False
        self.cursor = self.start

    def __repr__(self) -> str:
        return f"Selection(start={self.start}, end={self.end}, linear={self.linear}, hash={self.hash})"


class Waiting(_Pending):
    """A read waiting for a block (``get``) or for a longer feed (``update``)."""

    __slots__ = ("index", "hash", "update", "min_length")

    def __init__(self, index: int, *, hash: bool = False, update: bool = False, min_length: int = 0) -> None:
        self.index = index
        self.hash = hash
        self.update = update
        self.min_length = min_length
        self.future = None
        self.finished = False

    def __repr__(self) -> str:
        kind = "update" if self.update else "get"
        return f"Waiting({kind}, index={self.index})"
