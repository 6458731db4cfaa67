"""The ``Feed`` interface: what the party engine needs of every replicable structure.

A feed is made of one or more hypercores (hypercore: 1; hypertrie: 1; hyperdrive: metadata + content;
hyperdb: one per authorized writer).  Replication always happens per hypercore, each on its own channel
of one hypercore-protocol stream; the first core (the one named by ``key``) opens the first channel when
a feed replicates on a stream of its own, as the JS packages do.

**Feeds that grow.**  Some cores are only learned during replication (a hyperdrive reader learns its
content core from metadata block 0; a hyperdb learns writers from authorized writers' entries).  A
``Feed`` therefore remembers its *attachments* (stream + replication options).  When a structure has
opened a newly learned core it calls :meth:`Feed._learned_core`, which attaches the core to every stream
the feed is attached to.  If the remote opened that core's channel before we knew the key, opening our
side answers it (the stream queued its messages).  On a non-live stream whose channels are counted
(``count=True``, see :meth:`Feed.attach`) each attached core adds one to the stream's expected channel
count — added, never overwritten — and the feed holds the stream's *prefinalize* step until the cores it
is still learning are attached, the way hyperdb 3 raises ``expectedFeeds`` at prefinalize
(shared/spec/hypercore-protocol-6.md §10, hyperdb-3.md §12).  So a session ends exactly when every
channel of every feed, learned ones included, is done.

Structures spawn the work that opens a learned core with :meth:`Feed._learn` (so prefinalize can wait
for it) and call ``await self._learned_core(core)`` at its end.

**Kinds.**  ``KIND`` names the structure in the feed registry (:mod:`hyperparty.feeds.registry`);
``BLOCK0_TYPE`` is the string in field 1 of its first core's block 0 (hypertrie ``Header.type``,
hyperdrive ``Index.type``, hyperdb ``Header.protocol``), by which a replica of an introduced key is
recognised once block 0 arrives.  Structures also provide ``from_core(core, storage, **options)`` to be
built around such an already opened, possibly already replicating first core.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Awaitable, Callable, ClassVar, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from ..protocol.stream import ProtocolStream
    from .hypercore import Hypercore

__all__ = ["Feed", "Attachment"]

log = logging.getLogger(__name__)


class Attachment:
    """One stream a feed replicates on: the replication ``options`` and whether its channels are counted."""

    __slots__ = ("stream", "options", "count")

    def __init__(self, stream: "ProtocolStream", options: dict[str, Any], count: bool) -> None:
        self.stream = stream
        self.options = options
        self.count = count

    def __repr__(self) -> str:
        return f"<Attachment {self.stream!r} count={self.count} {self.options}>"


class Feed(ABC):
    """A replicable structure identified by a 32-byte public key (see the module docstring)."""

    #: Name of this kind of feed in the registry.
    KIND: ClassVar[str] = "feed"
    #: Field 1 of block 0 of the first core that identifies this kind (None: not recognisable).
    BLOCK0_TYPE: ClassVar[str | None] = None

    def __init__(self) -> None:
        self._attachments: dict["ProtocolStream", Attachment] = {}
        self._learning: set[asyncio.Future] = set()
        self._feed_tasks: set[asyncio.Future] = set()
        self._core_listeners: list[Callable[["Hypercore"], Any]] = []

    # -- identity and lifecycle (every kind implements these) ------------------------------------------

    @property
    @abstractmethod
    def key(self) -> bytes:
        """The 32-byte public key that names this feed (hyperdrive/hyperdb: the first core's key)."""

    @property
    @abstractmethod
    def discovery_key(self) -> bytes:
        """BLAKE2b-256 keyed by ``key`` of the ASCII bytes ``hypercore`` (hides the key on the wire)."""

    @abstractmethod
    async def ready(self) -> None:
        """Open storage and load state.  Idempotent."""

    @abstractmethod
    async def close(self) -> None:
        """Flush and release storage.  Idempotent."""

    @abstractmethod
    def cores(self) -> Sequence["Hypercore"]:
        """The hypercores this feed is made of and knows now, the one named by ``key`` first."""

    def owns(self, discovery_key: bytes) -> bool:
        """True when one of this feed's cores has ``discovery_key``."""
        return any(core.discovery_key == discovery_key for core in self.cores())

    # -- attachments -------------------------------------------------------------------------------------

    def attachments(self) -> list[Attachment]:
        """The streams this feed replicates on now (ended streams are dropped)."""
        return [a for a in self._attachments.values() if not a.stream.destroyed]

    def attached(self, stream: "ProtocolStream") -> bool:
        return stream in self._attachments and not stream.destroyed

    async def attach(self, stream: "ProtocolStream", *, count: bool = False, **options: Any) -> bool:
        """Replicate every core of this feed on ``stream`` now, and every core it learns later.

        ``options`` are the replication options (``live``, ``download``, ``upload``, ``sparse`` ...) given
        to each core.  ``count``: the stream is non-live and ends by counting channels — each core attached
        (now or later) adds one to its expected channel count.  Returns False when the feed was already
        attached to ``stream`` (or the stream has ended).
        """
        await self.ready()
        return self.attach_sync(stream, count=count, **options)

    def attach_sync(self, stream: "ProtocolStream", *, count: bool = False, **options: Any) -> bool:
        """:meth:`attach` for a feed that is already open."""
        if stream.destroyed or stream in self._attachments:
            return False
        options.setdefault("live", stream.live)
        self._adopt(stream, options, count)
        cores = list(self.cores())
        if count and cores:
            stream.add_expected_feeds(len(cores))
        for core in cores:
            if stream.destroyed:
                break
            self._attach_core(core, stream, options)
        return True

    def _adopt(self, stream: "ProtocolStream", options: dict[str, Any], count: bool) -> Attachment:
        """Record ``stream`` as an attachment (its cores are attached by the caller)."""
        attachment = Attachment(stream, options, count)
        self._attachments[stream] = attachment

        def on_close(_error: BaseException | None) -> None:
            self._attachments.pop(stream, None)
            stream.off("close", on_close)
            if count:
                stream.off("prefinalize", on_prefinalize)

        def on_prefinalize(done: Callable[..., None]) -> None:
            self._on_prefinalize(stream, done)

        stream.on("close", on_close)
        if count:
            stream.on("prefinalize", on_prefinalize)
        return attachment

    def _attach_core(self, core: "Hypercore", stream: "ProtocolStream", options: dict[str, Any]) -> None:
        from .hypercore import replicate

        replicate.attach_sync(core, stream, **options)

    def _on_prefinalize(self, stream: "ProtocolStream", done: Callable[..., None]) -> None:
        pending = [f for f in self._learning if not f.done()]
        if not pending:
            done()
            return

        async def wait_for_learning() -> None:
            await asyncio.gather(*pending, return_exceptions=True)
            done()

        self._track(asyncio.ensure_future(wait_for_learning()), "finish a stream")

    # -- learning cores ------------------------------------------------------------------------------------

    def _learn(self, work: Awaitable[Any]) -> asyncio.Future:
        """Run ``work`` (which opens a learned core and ends with :meth:`_learned_core`) in the background.

        Prefinalize of counted streams waits for it; its errors are logged, never lost.
        """
        future = self._track(asyncio.ensure_future(work), "open a learned core")
        self._learning.add(future)
        future.add_done_callback(self._learning.discard)
        return future

    def _track(self, task: asyncio.Future, what: str) -> asyncio.Future:
        """Keep a reference to a background task of this feed until it ends; log its failure."""
        self._feed_tasks.add(task)

        def finished(f: asyncio.Future) -> None:
            self._feed_tasks.discard(f)
            if not f.cancelled() and f.exception() is not None:
                log.error("%r failed to %s: %r", self, what, f.exception())

        task.add_done_callback(finished)
        return task

    async def _learned_core(self, core: "Hypercore") -> None:
        """A structure opened a core it just learned: replicate it wherever this feed replicates."""
        await core.ready()
        for attachment in self.attachments():
            stream = attachment.stream
            if core.attached(stream):
                continue
            if attachment.count:
                stream.add_expected_feeds(1)
            self._attach_core(core, stream, attachment.options)
        for listener in list(self._core_listeners):
            try:
                listener(core)
            except Exception:
                log.exception("core listener failed")

    def on_core(self, listener: Callable[["Hypercore"], Any]) -> None:
        """Call ``listener(core)`` for every core this feed learns from now on (the feed store indexes
        their discovery keys this way)."""
        self._core_listeners.append(listener)

    def off_core(self, listener: Callable[["Hypercore"], Any]) -> None:
        """Stop calling ``listener`` (registered with :meth:`on_core`)."""
        if listener in self._core_listeners:
            self._core_listeners.remove(listener)

    def adopt_attachments(self, first: "Feed") -> None:
        """Take over the attachments of ``first`` (this feed's first core, replicated as a plain hypercore
        before its kind was known): cores learned later replicate on the same streams."""
        for attachment in first.attachments():
            if attachment.stream not in self._attachments:
                self._adopt(attachment.stream, dict(attachment.options), attachment.count)

    # -- a stream of its own -------------------------------------------------------------------------------

    def replicate(self, *, live: bool = False, **options: Any) -> "ProtocolStream":
        """A new protocol stream replicating this feed (JS ``feed.replicate(opts)``).

        The first core opens the first channel (its key encrypts the stream).  A non-live stream counts
        its channels (every core, learned ones included) and ends by itself once all are done.  Stream
        options (``encrypt``, ``timeout``, ``user_data``, ``ack``, ``extensions``, ``id``, ``nonce``) are
        taken from ``options``; the rest are replication options.
        """
        from ..protocol.stream import ProtocolStream

        stream_keys = ("encrypt", "timeout", "user_data", "ack", "extensions", "id", "nonce", "expected_feeds")
        stream_opts = {k: options.pop(k) for k in stream_keys if k in options}
        if "ack" in stream_opts:
            options.setdefault("ack", stream_opts["ack"])
        count = not live and "expected_feeds" not in stream_opts
        for name, value in self._stream_defaults().items():
            stream_opts.setdefault(name, value)
        stream = ProtocolStream(live=live, **stream_opts)
        if self._is_open():
            self.attach_sync(stream, count=count, **options)
        else:

            async def later() -> None:
                try:
                    await self.attach(stream, count=count, **options)
                except Exception as exc:  # opening failed: the stream cannot replicate this feed
                    stream.destroy(exc)

            task = self._track(asyncio.ensure_future(later()), "attach to a stream")
            stream.on("close", lambda _err: task.cancel() if not task.done() else None)
        return stream

    def _stream_defaults(self) -> dict[str, Any]:
        """Stream options this kind of feed sets unless given (e.g. its protocol id and extensions)."""
        return {}

    def _is_open(self) -> bool:
        """True when :meth:`attach_sync` can run (the feed and its known cores are open)."""
        return bool(getattr(self, "opened", False))
