"""How a db replicates (hyperdb 3.5.0 ``replicate`` / ``_replicating`` / ``onreloadhead``), on top of the
``Feed`` base class, which attaches cores to streams and counts channels.

* A db replicates its **authorized** writers only, the source first (``HyperDB.cores``); the stream's
  protocol id is the db's ``id`` (JS ``opts.id = db.id``).  The handshake ``user_data`` can carry this
  instance's writer key (hyperdb's README example) so that an owner can authorize a peer that connects
  (:meth:`Replicating.remote_writer_key`).
* **Learning writers.**  When a writer's core has everything it was asked for (its ``sync`` event) the db
  re-reads the heads it has *stored* (never waiting for a block: a ``_learn`` job must not wait for data
  the remote may never send); decoding them loads feeds lists, registers and authorizes the writers they
  name, and every newly authorized writer's core is opened and handed to ``Feed._learned_core``: live
  streams get a channel for it, a non-live counted stream expects one more channel (prefinalize waits
  for these jobs), as JS raises ``expectedFeeds`` at prefinalize.  Writers authorized by a local write
  (``authorize``) are handed over the same way at the end of that write.
* An empty clone that replicates answers reads only after the first remote announcement
  (JS ``_waitForUpdate``), or when it stops replicating, or after its ``timeout``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from .errors import HyperDBError, ReadTimeoutError
from .writer import BlockMissing, Writer

if TYPE_CHECKING:  # pragma: no cover
    from ...protocol.stream import ProtocolStream
    from .writers import Writers

__all__ = ["Replicating"]

log = logging.getLogger(__name__)


class Replicating:
    """Mixin of :class:`~.db.HyperDB`: the replication side (see the module docstring)."""

    _writers: "Writers"
    _timeout: float | None
    id: bytes

    def _init_replication(self) -> None:
        self._update_waiters: list[asyncio.Future] = []
        self._reload_pending = False

    # -- Feed hooks --------------------------------------------------------------------------------------

    def _stream_defaults(self) -> dict[str, Any]:
        return {"id": self.id}

    def remote_writer_key(self, stream: "ProtocolStream") -> bytes | None:
        """The writer key a peer sent as handshake ``user_data`` on ``stream`` (32 bytes), if any."""
        data = stream.remote_user_data
        return bytes(data) if data is not None and len(data) == 32 else None

    def _replicating(self) -> bool:
        return bool(self.attachments())  # type: ignore[attr-defined]

    # -- core events --------------------------------------------------------------------------------------

    def _on_core_open(self, writer: Writer) -> None:
        core = writer.core
        assert core is not None
        core.on("append", lambda: self._on_append(writer))  # type: ignore[attr-defined]
        core.on("remote-update", lambda *_: self._on_remote_update(writer))
        core.on("sync", self._schedule_reload)
        core.on("close", self._wake_update_waiters)

    def _on_remote_update(self, writer: Writer) -> None:
        self._wake_update_waiters()
        self.emit("remote-update", writer.core, writer.id)  # type: ignore[attr-defined]

    def _schedule_reload(self, *_: Any) -> None:
        if self._reload_pending or getattr(self, "closed", False):
            return
        self._reload_pending = True
        self._learn(self._reload_heads())  # type: ignore[attr-defined]

    def _on_prefinalize(self, stream: "ProtocolStream", done: Any) -> None:
        """JS reloads the heads at a non-live stream's prefinalize: writers named there join it first."""
        self._schedule_reload()
        super()._on_prefinalize(stream, done)  # type: ignore[misc]

    def _stop_learning(self) -> None:
        """On close: pending head reloads would read closed storage."""
        for future in list(self._learning):  # type: ignore[attr-defined]
            future.cancel()

    async def _reload_heads(self) -> None:
        """JS ``onreloadhead``: decode every stored head (learning writers from feeds lists), then hand
        newly authorized writers to the streams."""
        self._reload_pending = False
        if getattr(self, "closed", False):
            return
        for writer in list(self._writers.open_writers):
            seq = writer.head_seq()
            if seq is None:
                continue
            try:
                writer.get(seq)
            except BlockMissing:
                continue  # not here yet: its own sync brings us back
            except HyperDBError as err:
                log.warning("hyperdb %s: cannot read the head of writer %s: %s", self, writer, err)
        await self._announce_learned()

    async def _announce_learned(self) -> None:
        if getattr(self, "closed", False):
            return
        for writer in self._writers.take_learned():
            if writer.core is not None:
                await self._learned_core(writer.core)  # type: ignore[attr-defined]

    # -- an empty clone waits for its first update -----------------------------------------------------

    def _wake_update_waiters(self, *_: Any) -> None:
        waiters, self._update_waiters = self._update_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def _needs_first_update(self) -> bool:
        ws = self._writers
        return self._replicating() and ws.list[0].length() == 0 and ws.local.core.length < 2  # type: ignore[union-attr]

    async def _wait_for_update(self) -> None:
        fut = asyncio.get_running_loop().create_future()
        self._update_waiters.append(fut)
        for attachment in self.attachments():  # type: ignore[attr-defined]
            attachment.stream.once("close", self._wake_update_waiters)
        try:
            await asyncio.wait_for(fut, self._timeout)
        except asyncio.TimeoutError:
            raise ReadTimeoutError("no peer announced any data in time") from None
