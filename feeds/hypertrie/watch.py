"""Watching a prefix for changes (hypertrie 3.8.0 ``lib/watch.js``).

A :class:`Watcher` re-runs a prefix lookup (the newest node under the prefix) whenever the trie's core
grows, by a local append or by replication, and reports a change when that node's seq grew.  The first
lookup runs at once, so an existing non-empty prefix reports one change straight away (as JS).  Lookups
never overlap: growth seen during one triggers one more afterwards.  (JS drops that extra lookup when the
running one already found a change, so a burst of appends can be reported late; here it is never lost.)

A sparse replica learns a longer feed only when it asks (its length grows with a verified proof), so on a
sparse core the watcher keeps one ``core.update()`` pending while it is open (JS does not: a JS watch on a
sparse feed only fires when something else updates the feed).

Use it as an async iterator of :class:`~.entry.Entry` (the node found), with a callback, or both::

    async with trie.watch("users/") as changes:
        async for entry in changes: ...
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Callable

from .entry import Entry

if TYPE_CHECKING:  # pragma: no cover
    from .hypertrie import Hypertrie

__all__ = ["Watcher"]

log = logging.getLogger(__name__)

_CLOSED = object()


class Watcher:
    """See the module docstring.  ``close()`` stops it (the iterator then ends)."""

    def __init__(self, trie: "Hypertrie", prefix: str, on_change: Callable[[Entry], Any] | None = None) -> None:
        self._trie = trie
        self._prefix = prefix
        self._on_change = on_change
        self._seen = 0
        self._running = False
        self._again = False
        self._closed = False
        self._task: asyncio.Task | None = None
        self._queue: asyncio.Queue = asyncio.Queue()
        self._follow: asyncio.Task | None = None
        self.error: BaseException | None = None
        core = trie.core
        if core.sparse and not core.writable:
            self._follow = asyncio.ensure_future(self._follow_length())

    @property
    def closed(self) -> bool:
        return self._closed

    def update(self) -> None:
        """Called on every append: look again (now, or after the running lookup)."""
        if self._closed:
            return
        if self._running:
            self._again = True
        else:
            self._kick()

    def _kick(self) -> None:
        self._running = True
        self._again = False
        self._task = asyncio.ensure_future(self._look())

    async def _look(self) -> None:
        try:
            entry = await self._trie.get(self._prefix, prefix=True)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bad block under the prefix: report nothing, keep watching
            log.debug("watch %r: lookup failed: %s", self._prefix, exc)
            self.error = exc
            entry = None
        self._running = False
        if self._closed:
            return
        if entry is not None and entry.seq > self._seen:
            self._seen = entry.seq
            self._queue.put_nowait(entry)
            if self._on_change is not None:
                try:
                    self._on_change(entry)
                except Exception:
                    log.exception("watch callback failed")
        if self._again:
            self._kick()

    async def _follow_length(self) -> None:
        """Sparse cores: keep asking peers for a longer feed (each growth emits ``append``)."""
        core = self._trie.core
        while not self._closed:
            try:
                await core.update()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the core closed: nothing more will come
                log.debug("watch %r: update ended: %s", self._prefix, exc)
                return

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._trie._remove_watcher(self)
        for task in (self._task, self._follow):
            if task is not None and not task.done():
                task.cancel()
        self._queue.put_nowait(_CLOSED)

    def __aiter__(self) -> "Watcher":
        return self

    async def __anext__(self) -> Entry:
        item = await self._queue.get()
        if item is _CLOSED:
            self._queue.put_nowait(_CLOSED)
            raise StopAsyncIteration
        return item

    async def next(self, timeout: float | None = None) -> Entry:
        """The next change (raises ``asyncio.TimeoutError`` after ``timeout`` s, StopAsyncIteration once closed)."""
        return await asyncio.wait_for(self.__anext__(), timeout)

    async def __aenter__(self) -> "Watcher":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
