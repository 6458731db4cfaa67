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
downloaded, no end); the protocol's keep-alive ends a connection whose remote went silent.  A non-live
fetch (or one with ``until``) from a peer that holds only part of what is wanted stops as soon as the peer
has answered and has nothing more of it (:class:`PeerIncomplete`, naming the missing blocks; what the
peer had is stored, so a later fetch resumes).  Fetching into the writable feed itself is refused at once
(:class:`NothingToFetch`).  Failures are :class:`FetchError` subclasses with a message fit for a user:
:class:`ConnectFailed` (refused, unreachable, connect timeout), :class:`RemoteClosed` (the connection
ended before the fetch was complete), :class:`FetchTimeout`, :class:`ReplicationFailed` (the stream was
destroyed with an error), :class:`PeerIncomplete`, :class:`NothingToFetch`.

``progress`` is called after every downloaded block and, while nothing arrives, every
:data:`WAKE_INTERVAL` seconds (so a progress display keeps showing where a slow fetch is).

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

from ..protocol.errors import RemoteTimeout
from ..protocol.stream import ProtocolStream
from ..protocol.transport import TCPServer, connect_tcp, serve_tcp

if TYPE_CHECKING:  # pragma: no cover
    from .base import Feed
    from .hypercore import Hypercore

__all__ = [
    "serve", "fetch", "replication_stream", "Server", "FetchResult", "FetchProgress",
    "FetchError", "ConnectFailed", "RemoteClosed", "FetchTimeout", "ReplicationFailed", "ServeFailed",
    "PeerIncomplete", "NothingToFetch",
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


class PeerIncomplete(RemoteClosed):
    """The peer answered and has nothing more of what is wanted, but blocks are still missing.

    ``missing``: ``[start, end)`` runs of missing blocks (per core, first core first); ``remote_length``:
    the longest length the peer announced for the feed's first core; ``have``: blocks of the wanted
    ranges stored locally."""

    def __init__(self, message: str, missing: list[tuple[int, int]], remote_length: int, have: int) -> None:
        super().__init__(message)
        self.missing = missing
        self.remote_length = remote_length
        self.have = have


class NothingToFetch(FetchError):
    """The local feed is the writable feed itself (its secret key is stored): there is nothing to fetch."""


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

    def __init__(self, feed: "Feed", server: TCPServer, host: str, port: int,
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
        self.last_activity = time.monotonic()
        self.report()

    def report(self) -> None:
        """Call ``progress`` with where the fetch is now."""
        if self.progress is not None:
            self.progress(FetchProgress(self.blocks, self.bytes, self.total(), time.monotonic() - self.began))

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
    download: bool | None = None,
) -> FetchResult:
    """Replicate ``feed`` from the peer at ``host:port`` (see the module docstring for when it returns).

    ``progress(FetchProgress)`` is called after every downloaded block and while waiting (throttle it
    yourself).  ``download=True`` downloads into writable cores too (a writer re-fetching blocks it lost).
    Raises :class:`ConnectFailed`, :class:`RemoteClosed`, :class:`FetchTimeout`,
    :class:`ReplicationFailed`, :class:`PeerIncomplete` or :class:`NothingToFetch`.
    """
    await feed.ready()
    cores = list(feed.cores())
    if download is None and cores and all(getattr(core, "writable", False) for core in cores):
        raise NothingToFetch(f"this storage holds the writable feed {feed.key.hex()} itself (its secret key is "
                             "stored): there is nothing to fetch into it; fetch into another storage")
    began = time.monotonic()
    counter = _Counter(feed, progress, began)
    options = {} if download is None else {"download": download}
    stream = feed.replicate(live=live or until is not None, **options)
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
            await _wait_active(counter, {waiter, connection}, timeout, where, stream)
            if not waiter.done():
                error = connection.result()
                if isinstance(error, RemoteTimeout):
                    raise _failure(error, counter, stream, where)
                raise RemoteClosed(f"the connection to {where} ended before the fetch was complete"
                                   + (f": {error}" if error else ""))
            waiter.result()  # its own failure, if any
            stream.finalize()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(connection), END_WAIT)
        elif live:
            error = await connection
            if error is not None:
                raise _failure(error, counter, stream, where)
        else:
            await _wait_active(counter, {connection}, timeout, where, stream)
            error = connection.result()
            if error is not None:
                raise _failure(error, counter, stream, where)
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


async def _wait_active(counter: _Counter, futures: set[asyncio.Future], timeout: float, where: str,
                       stream: ProtocolStream) -> None:
    """Wait until one of ``futures`` is done; fail when nothing arrived for ``timeout`` seconds, or when the
    peer has nothing more of what is wanted (twice in a row, a wake interval apart)."""
    stalled_before = False
    while True:
        idle = time.monotonic() - counter.last_activity
        if idle >= timeout:
            raise FetchTimeout(_silence(counter, stream, where, timeout))
        done, _ = await asyncio.wait(futures, timeout=min(WAKE_INTERVAL, timeout - idle),
                                     return_when=asyncio.FIRST_COMPLETED)
        if done:
            return
        counter.report()
        stalled = _peer_exhausted(counter.feed, stream, where)
        if stalled is not None and stalled_before:
            raise stalled
        stalled_before = stalled is not None


def _failure(error: BaseException, counter: _Counter, stream: ProtocolStream, where: str) -> FetchError:
    """The error for a replication stream that ended with ``error``, for a user."""
    if isinstance(error, RemoteTimeout):
        silent = f"{where} went silent: nothing arrived, not even a keep-alive, for about {stream.timeout:g} s"
        if stream.remote_id is None:
            return ReplicationFailed(f"{silent} (it never answered the handshake)")
        done = f"{counter.blocks} blocks downloaded" if counter.blocks else "no block downloaded"
        return ReplicationFailed(f"{silent} ({done}; run again to resume)")
    return ReplicationFailed(f"replication with {where} failed: {error}")


def _silence(counter: _Counter, stream: ProtocolStream, where: str, timeout: float) -> str:
    """Why a fetch timed out, for a user."""
    head = f"nothing arrived from {where} for {timeout:g} s"
    if stream.remote_id is None:
        return f"{head}: it accepted the connection but never answered the handshake"
    peers = [p for core in counter.feed.cores() for p in core.peers if getattr(p, "stream", None) is stream]
    if not peers:
        return (f"{head}: it answered the handshake but did not open feed {counter.feed.key.hex()[:16]}... "
                "(does it have this feed?)")
    if all(getattr(p, "inflight_wants", 0) > 0 for p in peers):
        return f"{head}: it opened feed {counter.feed.key.hex()[:16]}... but never said which blocks it has"
    done = f"{counter.blocks} blocks downloaded" if counter.blocks else "no block downloaded"
    return f"{head}: it stopped sending ({done}; run again to resume)"


def _peer_exhausted(feed: "Feed", stream: ProtocolStream, where: str) -> "PeerIncomplete | None":
    """A :class:`PeerIncomplete` when the peer on ``stream`` answered every Want, has no request of ours in
    flight, and holds none of the blocks the feed's cores still want; else None."""
    missing: list[tuple[int, int]] = []
    remote_length = 0
    have = 0
    for n, core in enumerate(feed.cores()):
        peer = next((p for p in core.peers if getattr(p, "stream", None) is stream), None)
        if peer is None:
            if n == 0:
                return None  # the first core is not even replicating yet
            continue
        if not peer.ready_done or peer.inflight or (peer.wants is not None and peer.inflight_wants > 0):
            return None
        if n == 0:
            remote_length = peer.remote_length
        wanted: list[tuple[int, int]] = []
        if not getattr(core, "sparse", False):  # a non-sparse core wants everything the feed has
            wanted.append((0, max(core.length, peer.remote_length)))
        for sel in core.selections:
            end = sel.end if sel.end != -1 else max(core.length, peer.remote_length)
            if end > sel.start:
                wanted.append((sel.start, end))
        for w in core.waiting:
            if w.update:
                if peer.remote_length >= max(w.min_length, core.length + 1):
                    return None  # the peer has the longer feed: the update is on its way
                wanted.append((max(core.length, peer.remote_length), w.min_length))
            else:
                wanted.append((w.index, w.index + 1))
        for start, end in _merged(wanted):
            first = core.bitfield.first_missing(start, end)
            if first == -1:
                continue
            for a, b in peer.remote_has.runs_from(start, end):
                if core.bitfield.first_missing(a, b) != -1:
                    return None  # the peer has something we lack: a request is on its way
            have += core.downloaded(start, end) if end > start else 0
            missing.extend(_missing_runs(core, first, end))
    if not missing:
        return None
    return _incomplete(feed, where, missing, remote_length, have)


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``[start, end)`` ranges sorted and merged where they overlap or touch."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _incomplete(feed: "Feed", where: str, missing: list[tuple[int, int]], remote_length: int,
                have: int, head: str | None = None) -> PeerIncomplete:
    shown = ", ".join(f"{a}" if b == a + 1 else f"{a}-{b - 1}" for a, b in missing[:5])
    more = f" and {len(missing) - 5} more ranges" if len(missing) > 5 else ""
    count = sum(b - a for a, b in missing)
    head = head or f"{where} has no more of feed {feed.key.hex()[:16]}..."
    return PeerIncomplete(f"{head}: {count} wanted blocks are missing there ({shown}{more}; it announced "
                          f"{remote_length} blocks)", missing, remote_length, have)


def _missing_runs(core: "Hypercore", start: int, end: int) -> list[tuple[int, int]]:
    """Runs ``[a, b)`` of blocks in ``[start, end)`` the core does not hold."""
    runs: list[tuple[int, int]] = []
    i = core.bitfield.first_missing(start, end)
    while i != -1 and len(runs) < 1000:
        j = i + 1
        while j < end and not core.has(j):
            j += 1
        runs.append((i, j))
        i = core.bitfield.first_missing(j, end) if j < end else -1
    return runs


def _check_complete(feed: "Feed", counter: _Counter, where: str) -> None:
    """After a non-live fetch: every non-sparse core holds every block up to the remote's announced length
    (else :class:`PeerIncomplete`: the peer ended without them)."""
    missing: list[tuple[int, int]] = []
    have = 0
    remote_length = 0
    for n, core in enumerate(feed.cores()):
        announced = counter.announced.get(id(core), 0)
        if n == 0:
            remote_length = announced
        if getattr(core, "sparse", False):
            continue
        length = max(core.length, announced)
        first = core.bitfield.first_missing(0, length) if length else -1
        if first != -1:
            have += core.downloaded(0, length)
            missing.extend(_missing_runs(core, first, length))
    if missing:
        total = have + sum(b - a for a, b in missing)
        raise _incomplete(feed, where, missing, remote_length, have,
                          f"the connection to {where} ended with {have} of {total} blocks of "
                          f"{feed.key.hex()[:16]}... downloaded")
