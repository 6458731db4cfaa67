"""Serve and fetch any :class:`~hyperparty.feeds.base.Feed` over TCP: the library behind ``hyperparty
<group> serve|fetch`` (the command line only parses arguments and prints).

* :func:`serve` listens on ``host:port`` and replicates ``feed`` on every accepted connection (one fresh
  protocol stream each); it returns a :class:`Server` handle (``port``, ``close()``, ``wait_closed()``,
  async context manager).
* :func:`fetch` connects to ``host:port`` and replicates ``feed`` until:

  - ``until`` is given: that coroutine finished (e.g. ``lambda: core.download(10, 20)``); the stream is
    opened live so it does not end first, and is then ended gracefully;
  - non-live: the stream ended by itself (both sides done) after the remote opened the feed's channel,
    and every non-sparse core holds every block up to the longest length the remote announced;
  - live: the connection ended (or the caller cancelled).

  It returns a :class:`FetchResult` (blocks and bytes downloaded, seconds).

Every wait is bounded.  Connecting takes at most ``timeout`` seconds; a non-live fetch (or one with
``until``) fails with :class:`FetchTimeout` when nothing new arrives for ``timeout`` seconds (no block
downloaded, no end); the protocol's keep-alive ends a connection whose remote went silent.  Failures are
:class:`FetchError` subclasses with a message fit for a user: :class:`ConnectFailed` (refused, unreachable,
connect timeout), :class:`RemoteClosed` (the connection ended before the fetch was complete),
:class:`FetchTimeout`, :class:`ReplicationFailed` (the stream was destroyed with an error).

Streams come from ``feed.replicate(live=...)`` (:class:`~hyperparty.feeds.base.Feed`: the first core
opens the first channel; cores learned during replication join the stream).  This module may use
:mod:`protocol` and :mod:`feeds`, never the party or the command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from ..protocol.stream import ProtocolStream
from ..protocol.transport import connect_tcp, serve_tcp

if TYPE_CHECKING:  # pragma: no cover
    from .base import Feed
    from .hypercore import Hypercore

__all__ = [
    "serve", "fetch", "replication_stream", "Server", "FetchResult", "FetchProgress",
    "FetchError", "ConnectFailed", "RemoteClosed", "FetchTimeout", "ReplicationFailed", "ServeFailed",
]

CONNECT_TIMEOUT = 10.0
END_WAIT = 5.0  # after ``until``: how long the graceful end of the stream may take
WAKE_INTERVAL = 0.5  # how often the idle watchdog looks at the clock


class FetchError(Exception):
    """A fetch failed; the message says why, for a user."""


class ConnectFailed(FetchError, ConnectionError):
    """Could not connect (refused, unreachable, or no answer within the timeout)."""


class RemoteClosed(FetchError, ConnectionError):
    """The connection ended before the fetch was complete."""


class FetchTimeout(FetchError, TimeoutError):
    """Nothing new arrived for ``timeout`` seconds."""


class ReplicationFailed(FetchError):
    """The replication stream ended with an error (bad data, a protocol error, a keep-alive timeout)."""


class ServeFailed(OSError):
    """Could not listen on the address."""


@dataclass(frozen=True)
class FetchProgress:
    """Where a fetch is: blocks/bytes downloaded so far, blocks known to exist (all cores), seconds."""

    blocks: int
    bytes: int
    total: int
    seconds: float


@dataclass(frozen=True)
class FetchResult:
    """What a fetch did: blocks and bytes downloaded during it, and how long it took."""

    blocks: int
    bytes: int
    seconds: float


def replication_stream(feed: "Feed", *, live: bool) -> ProtocolStream:
    """A new protocol stream replicating ``feed``: its first core opens the first channel, cores it learns
    join the stream, and a non-live stream ends by itself once every channel is done."""
    return feed.replicate(live=live)


class Server:
    """A running :func:`serve`: the bound ``host``/``port``, the streams of open connections."""

    def __init__(self, feed: "Feed", server: asyncio.Server, host: str, port: int,
                 streams: set[ProtocolStream]) -> None:
        self.feed = feed
        self.host = host
        self.port = port
        self.streams = streams  # kept up to date by serve()
        self._server = server

    def close(self) -> None:
        """Stop listening and drop every open connection (idempotent)."""
        self._server.close()
        for stream in list(self.streams):
            stream.destroy()

    async def wait_closed(self) -> None:
        await self._server.wait_closed()

    async def serve_forever(self) -> None:
        """Wait until :meth:`close` (or cancellation)."""
        with contextlib.suppress(asyncio.CancelledError):
            await self._server.serve_forever()

    async def __aenter__(self) -> "Server":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.wait_closed(), 5)


async def serve(
    feed: "Feed",
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    live: bool = False,
    on_listening: Callable[[str, int], None] | None = None,
    on_connection: Callable[[ProtocolStream], None] | None = None,
) -> Server:
    """Listen on ``host:port`` (port 0: any free one) and replicate ``feed`` to everyone who connects.

    ``live``: keep connections open and push new blocks; otherwise a connection ends once both sides are
    done.  ``on_listening(host, port)`` is called once bound, ``on_connection(stream)`` for each accepted
    connection.  Raises :class:`ServeFailed` when the address cannot be bound.
    """
    await feed.ready()
    streams: set[ProtocolStream] = set()

    def make_stream() -> ProtocolStream:
        stream = replication_stream(feed, live=live)
        streams.add(stream)
        stream.on("close", lambda _err: streams.discard(stream))
        if on_connection is not None:
            on_connection(stream)
        return stream

    try:
        server = await serve_tcp(host, port, make_stream)
    except OSError as exc:
        raise ServeFailed(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound = server.sockets[0].getsockname()
    handle = Server(feed, server, bound[0], bound[1], streams)
    if on_listening is not None:
        on_listening(handle.host, handle.port)
    return handle


class _Counter:
    """Counts the blocks downloaded into the feed's cores and the longest length each remote announced
    (cores the feed learns during the fetch are counted from the moment it announces them, ``on_core``)."""

    def __init__(self, feed: "Feed", progress: Callable[[FetchProgress], None] | None, began: float) -> None:
        self.feed = feed
        self.progress = progress
        self.began = began
        self.blocks = 0
        self.bytes = 0
        self.last_activity = time.monotonic()
        self.announced: dict[int, int] = {}  # id(core) -> longest remote length seen
        self._watched: list["Hypercore"] = []
        self._listeners: list[tuple["Hypercore", str, Callable[..., None]]] = []
        self._closed = False
        for core in feed.cores():
            self._watch(core)
        feed.on_core(self._watch)

    def _watch(self, core: "Hypercore") -> None:
        if self._closed or any(core is seen for seen in self._watched):
            return
        self._watched.append(core)
        self._listen(core, "download", self._on_download)
        self._listen(core, "remote-update", lambda peer: self._on_remote(core, peer))

    def _listen(self, core: "Hypercore", event: str, fn: Callable[..., None]) -> None:
        core.on(event, fn)
        self._listeners.append((core, event, fn))

    def total(self) -> int:
        return sum(max(core.length, getattr(core, "remote_length", 0)) for core in self.feed.cores())

    def _on_remote(self, core: "Hypercore", peer: Any) -> None:
        length = getattr(peer, "remote_length", 0)
        if length > self.announced.get(id(core), 0):
            self.announced[id(core)] = length
        self.last_activity = time.monotonic()

    def _on_download(self, index: int, data: bytes) -> None:
        self.blocks += 1
        self.bytes += len(data)
        self.last_activity = now = time.monotonic()
        if self.progress is not None:
            self.progress(FetchProgress(self.blocks, self.bytes, self.total(), now - self.began))

    def close(self) -> None:
        self._closed = True
        self.feed.off_core(self._watch)
        for core, event, fn in self._listeners:
            core.off(event, fn)
        self._listeners.clear()


async def fetch(
    feed: "Feed",
    host: str,
    port: int,
    *,
    live: bool = False,
    timeout: float = CONNECT_TIMEOUT,
    progress: Callable[[FetchProgress], None] | None = None,
    until: Callable[[], Awaitable[Any]] | None = None,
) -> FetchResult:
    """Replicate ``feed`` from the peer at ``host:port`` (see the module docstring for when it returns).

    ``progress(FetchProgress)`` is called after every downloaded block (throttle it yourself).  Raises
    :class:`ConnectFailed`, :class:`RemoteClosed`, :class:`FetchTimeout` or :class:`ReplicationFailed`.
    """
    await feed.ready()
    began = time.monotonic()
    counter = _Counter(feed, progress, began)
    stream = replication_stream(feed, live=live or until is not None)
    remote_feeds: set[bytes] = set()  # discovery keys of the channels the remote opened
    stream.on("feed", remote_feeds.add)
    where = f"{host}:{port}"
    waiter: asyncio.Future | None = None
    try:
        try:
            connection = await asyncio.wait_for(connect_tcp(host, port, stream), timeout)
        except asyncio.TimeoutError:
            raise ConnectFailed(f"cannot connect to {where}: no answer within {timeout:g} s") from None
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to {where}: {exc.strerror or exc}") from None
        if until is not None:
            waiter = asyncio.ensure_future(until())
            await _wait_active(counter, {waiter, connection}, timeout, where)
            if not waiter.done():
                error = connection.result()
                raise RemoteClosed(f"the connection to {where} ended before the fetch was complete"
                                   + (f": {error}" if error else ""))
            waiter.result()  # its own failure, if any
            stream.finalize()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(connection), END_WAIT)
        elif live:
            error = await connection
            if error is not None:
                raise ReplicationFailed(f"replication with {where} failed: {error}")
        else:
            await _wait_active(counter, {connection}, timeout, where)
            error = connection.result()
            if error is not None:
                raise ReplicationFailed(f"replication with {where} failed: {error}")
            if feed.discovery_key not in remote_feeds:
                raise RemoteClosed(f"the connection to {where} ended before the remote opened feed "
                                   f"{feed.key.hex()[:16]}... (does it have this feed?)")
            _check_complete(feed, counter, where)
        return FetchResult(counter.blocks, counter.bytes, time.monotonic() - began)
    finally:
        counter.close()
        if waiter is not None and not waiter.done():
            waiter.cancel()
            with contextlib.suppress(BaseException):
                await waiter
        if not stream.destroyed:
            stream.destroy()


async def _wait_active(counter: _Counter, futures: set[asyncio.Future], timeout: float, where: str) -> None:
    """Wait until one of ``futures`` is done; fail when nothing arrived for ``timeout`` seconds."""
    while True:
        idle = time.monotonic() - counter.last_activity
        if idle >= timeout:
            raise FetchTimeout(f"nothing arrived from {where} for {timeout:g} s")
        done, _ = await asyncio.wait(futures, timeout=min(WAKE_INTERVAL, timeout - idle),
                                     return_when=asyncio.FIRST_COMPLETED)
        if done:
            return


def _check_complete(feed: "Feed", counter: _Counter, where: str) -> None:
    """After a non-live fetch: every non-sparse core holds every block up to the remote's announced length."""
    for core in feed.cores():
        if getattr(core, "sparse", False):
            continue
        length = max(core.length, counter.announced.get(id(core), 0))
        have = core.downloaded(0, length) if length else 0
        if have < length:
            raise RemoteClosed(f"the connection to {where} ended with {have} of {length} blocks of "
                               f"{core.key.hex()[:16]}... downloaded")
