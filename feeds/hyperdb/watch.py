"""Watching a prefix (hyperdb 3.5.0 ``lib/watch.js``).

A :class:`Watcher` re-runs a prefix get (no waiting for peers, no map/reduce) every time any writer's feed
grows, and emits ``"change"`` when the set of ``(feed, seq)`` results differs from the previous run
(``"watching"`` once the first run is done).  ``destroy()`` stops it (``"close"``); a failing get destroys
it with ``"error"``.  Runs are serialised: kicks that arrive during a run cause exactly one more run.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Callable

from hyperparty.events import EventEmitter

if TYPE_CHECKING:  # pragma: no cover
    from .view import ReadView

__all__ = ["Watcher"]


class Watcher(EventEmitter):
    def __init__(self, view: "ReadView", key: str, on_change: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.key = key
        self._view = view
        self._nodes: list[tuple[int, int]] | None = None
        self._kicked = 0
        self._task: asyncio.Task | None = None
        self.destroyed = False
        if on_change is not None:
            self.on("change", on_change)

    def start(self) -> None:
        self._kick()

    def _kick(self) -> None:
        if self.destroyed:
            return
        self._kicked += 1
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while self._kicked and not self.destroyed:
            self._kicked = 0
            try:
                nodes = await self._view._get_raw(self.key, prefixed=True, update=False)
            except Exception as err:  # noqa: BLE001 - reported as an "error" event
                self.destroy(err)
                return
            ids = sorted(((n.feed, n.seq) for n in nodes), key=lambda p: p[0])
            if self._nodes is None:
                self._nodes = ids
                self.emit("watching")
            if ids != self._nodes:
                self._nodes = ids
                self.emit("change")

    @property
    def nodes(self) -> list[tuple[int, int]] | None:
        return self._nodes

    def destroy(self, error: BaseException | None = None) -> None:
        if self.destroyed:
            return
        self.destroyed = True
        self._view._unwatch(self)
        if error is not None:
            self.emit("error", error)
        self.emit("close")
