"""Selections and waits: what the feed wants from peers (``download``/``select``), reads waiting for a
block (``get``) or a longer feed (``update``), and resolving them as blocks arrive."""

from __future__ import annotations

import asyncio
from typing import Any

from .errors import GetTimeoutError, RequestCancelledError
from .selections import Selection, Waiting
from .state import CoreState


class _Waits(CoreState):
    """The waits methods of :class:`~hyperparty.feeds.hypercore.core.Hypercore`."""

    def select(self, start: int = 0, end: int = -1, *, linear: bool = False, hash: bool = False) -> Selection:
        """Add a download selection (what ``download`` does without waiting) and return it."""
        sel = Selection(start, end, linear=linear, hash=hash)
        self.selections.append(sel)
        if self.opened and not self.closed and self._selection_done(sel):
            self.resolve_selection(sel)
            return sel
        self.update_peers()
        return sel

    async def download(
        self,
        start: int = 0,
        end: int = -1,
        *,
        linear: bool = False,
        hash: bool = False,
        timeout: float | None = None,
    ) -> None:
        """Fetch blocks ``[start, end)`` from peers; returns when all are local (``end=-1``: open range)."""
        await self._ensure_open()
        sel = self.select(start, end, linear=linear, hash=hash)
        if sel.finished:
            return
        await self._wait(sel, self.selections, timeout)

    def undownload(self, sel: Selection) -> None:
        """Cancel a selection (its waiter gets ``RequestCancelledError("Download was cancelled")``)."""
        if sel in self.selections:
            self.selections.remove(sel)
        sel.resolve(RequestCancelledError("Download was cancelled"))

    def resolve_selection(self, sel: Selection, error: BaseException | None = None) -> None:
        """Remove ``sel`` and finish it (idempotent; the replicator calls this when it completes one)."""
        try:
            self.selections.remove(sel)
        except ValueError:
            pass
        sel.resolve(error)

    def resolve_waiting(self, w: Waiting, error: BaseException | None = None) -> None:
        try:
            self.waiting.remove(w)
        except ValueError:
            pass
        w.resolve(error)

    async def update(self, min_length: int | None = None, *, timeout: float | None = None) -> None:
        """Wait until the feed is at least ``min_length`` long (default: one longer than now)."""
        await self._ensure_open()
        if min_length is None or min_length < 0:
            min_length = self.length + 1
        if self.length >= min_length:
            return
        w = Waiting(min_length - 1, hash=True, update=True, min_length=min_length)
        await self._wait(w, self.waiting, timeout)

    def cancel(self, start: int, end: int | None = None) -> None:
        """Cancel selections inside ``[start, end)`` and waiting reads of blocks in it; unreserve them."""
        if end is None:
            end = start + 1
        for sel in list(self.selections):
            if start <= sel.start and sel.end != -1 and sel.end <= end:
                self.undownload(sel)
        for i in range(start, end):
            self.reserved.set(i, False)
        for w in list(self.waiting):
            if start <= w.index < end:
                self.resolve_waiting(w, RequestCancelledError())

    async def _wait(self, entry: Any, queue: list, timeout: float | None) -> None:
        if entry not in queue:
            queue.append(entry)
        fut = entry._ensure_future()
        self.update_peers()
        try:
            if timeout is None:
                await asyncio.shield(fut)
            else:
                await asyncio.wait_for(asyncio.shield(fut), timeout)
        except asyncio.TimeoutError:
            self._abandon(entry, queue, GetTimeoutError())
            raise GetTimeoutError() from None
        except asyncio.CancelledError:
            self._abandon(entry, queue, RequestCancelledError())
            raise

    @staticmethod
    def _abandon(entry: Any, queue: list, error: BaseException) -> None:
        """Drop a wait nobody awaits any more (its future's exception is marked as retrieved)."""
        if entry in queue:
            queue.remove(entry)
        entry.resolve(error)
        fut = entry.future
        if fut is not None and fut.done() and not fut.cancelled():
            fut.exception()

    def _selection_done(self, sel: Selection) -> bool:
        if sel.end == -1:
            return False
        if sel.hash:
            tree = self.tree
            c = max(sel.cursor, sel.start)
            while c < sel.end and tree.get(2 * c):
                c += 1
            sel.cursor = c
            return c >= sel.end
        if sel.cursor < sel.end and not self.bitfield.get(sel.cursor):
            return False
        nxt = self.bitfield.first_missing(max(sel.cursor, sel.start), sel.end)
        if nxt == -1:
            return True
        sel.cursor = nxt
        return False

    def _poll_waiting(self) -> None:
        """Finish waiting reads whose block arrived and selections that are complete (JS ``_pollWaiting``)."""
        if self.waiting:
            get = self.bitfield.get
            for w in list(self.waiting):
                if w.update:
                    if self.length >= w.min_length:
                        self.resolve_waiting(w)
                elif get(w.index):
                    self.resolve_waiting(w)
        for sel in list(self.selections):
            if sel.end != -1 and self._selection_done(sel):
                self.resolve_selection(sel)
