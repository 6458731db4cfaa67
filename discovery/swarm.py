"""``Swarm``: find peers by discovery key and keep one hypercore-protocol connection per peer, the way
discovery-swarm 5.1.4 does (shared/spec/discovery-swarm-5.md §6), over TCP only (utp off).

    swarm = Swarm(stream_factory)             # id = 32 random bytes, port 3282 (any free port if taken)
    swarm.on("connection", lambda stream, info: ...)
    await swarm.join(discovery_key)           # announce + look up on the LAN (announce=False: look up only)
    ...
    await swarm.close()

* ``stream_factory(info: PeerInfo) -> ProtocolStream`` makes the stream for one connection; the swarm runs
  it over the socket (:func:`hyperparty.protocol.transport.run_stream`).  ``info.initiator`` tells whether
  we dialled; ``info.discovery_key`` is the key we dialled for (None for incoming connections, where the
  remote's first channel names it: e.g. ``PartyMap.replicate``).  The stream should send ``info.id`` as its
  handshake id; a stream that has not sent its handshake yet gets it set by the swarm.  A stream that
  already sent another id keeps it, and the duplicate rule then uses that id (as JS uses ``stream.id``).
* Peers found are dialled once each (``host:port@dk`` remembered); a failed dial (3 s connect timeout) is
  retried after 1, 1, 5, 15 s, then the peer is forgotten until it is found again.  A connection that
  handshook and later closed is redialled on the same schedule.
* Handshake timeout 5 s.  Remote id == our id: the connection is to ourselves; it is closed and, if we
  dialled, the address is banned.  Two connections with the same ``remote id @ discovery key``: if the new
  one is outgoing and remote id < our id, or incoming and remote id > our id, the new one is closed, else
  the old one: both sides keep the connection opened by the peer with the smaller id (byte order).
* Limits: at most ``max_peers_per_key`` addresses remembered per key (more are rejected with reason
  "full"); at most ``max_connecting`` dials + handshakes in flight, incoming handshakes included (the
  rest of the queue waits).

Events: ``peer`` (PeerAddress) found and queued; ``peer-rejected`` (PeerAddress, reason: "duplicate",
"banned" or "full"); ``connecting`` (PeerAddress); ``connect-failed`` (PeerAddress, timed_out);
``handshaking`` (PeerInfo); ``connection`` (stream, PeerInfo) after the handshake; ``redundant-connection``
(stream, PeerInfo); ``connection-closed`` (stream, PeerInfo); ``peer-banned`` (PeerAddress, reason);
``drop`` (PeerAddress) when its retries ran out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import Counter, deque
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Iterable

from ..clock import Clock, default_clock
from ..events import EventEmitter
from ..protocol.stream import ProtocolStream
from ..protocol.transport import run_stream
from .mdns import DAT, Naming, PeerFound
from .service import MdnsDiscovery

__all__ = ["Swarm", "PeerInfo", "PeerAddress", "SelfConnection", "DuplicateConnection", "discover", "DEFAULT_PORT"]

log = logging.getLogger(__name__)

DEFAULT_PORT = 3282  # dat-node's port
CONNECT_TIMEOUT = 3.0
HANDSHAKE_TIMEOUT = 5.0
RECONNECT_WAIT = (1.0, 1.0, 5.0, 15.0)

_SEEN = 1
_BANNED = 2


class SelfConnection(ConnectionError):
    """The remote's handshake id is our own: we connected to ourselves."""


class DuplicateConnection(ConnectionError):
    """Another connection to the same peer for the same key is kept instead of this one."""


@dataclass
class PeerAddress:
    """A peer to dial: ``host:port`` found for ``discovery_key``."""

    host: str
    port: int
    discovery_key: bytes
    retries: int = 0

    @property
    def id(self) -> str:
        return f"{self.host}:{self.port}@{self.discovery_key.hex()}"


@dataclass
class PeerInfo:
    """One connection, as discovery-swarm's ``info``."""

    host: str
    port: int
    initiator: bool
    discovery_key: bytes | None
    id: bytes
    remote_id: bytes | None = None
    type: str = "tcp"


@dataclass(eq=False)
class _Connection:
    stream: ProtocolStream
    info: PeerInfo
    peer: PeerAddress | None
    writer: asyncio.StreamWriter
    timer: Any = None
    first_remote_key: bytes | None = None
    pending: bool = True  # counted in flight until the handshake or the end
    key: tuple[bytes, bytes] | None = None


class Swarm(EventEmitter):
    """Peers by discovery key over TCP with discovery-swarm 5's rules (see the module docstring)."""

    def __init__(
        self,
        stream_factory: Callable[[PeerInfo], ProtocolStream],
        *,
        id: bytes | None = None,
        port: int | None = None,
        host: str = "0.0.0.0",
        naming: Naming = DAT,
        discovery: MdnsDiscovery | bool = True,
        discovery_options: dict[str, Any] | None = None,
        max_peers_per_key: int = 256,
        max_connecting: int = 16,
        connect_timeout: float = CONNECT_TIMEOUT,
        handshake_timeout: float = HANDSHAKE_TIMEOUT,
        reconnect_wait: Iterable[float] = RECONNECT_WAIT,
        clock: Clock | None = None,
    ) -> None:
        super().__init__()
        self.id = bytes(id) if id is not None else os.urandom(32)
        if len(self.id) != 32:
            raise ValueError("a swarm id is 32 bytes")
        self._factory = stream_factory
        self._requested_port = port
        self.host = host
        self.port: int | None = None
        self.naming = naming
        self._discovery_arg = discovery
        self._discovery_options = dict(discovery_options or {})
        self.discovery: MdnsDiscovery | None = None
        self.max_peers_per_key = max_peers_per_key
        self.max_connecting = max_connecting
        self.connect_timeout = connect_timeout
        self.handshake_timeout = handshake_timeout
        self.reconnect_wait = tuple(reconnect_wait)
        self.clock = clock or default_clock()
        self.connections: list[_Connection] = []  # handshaken and kept
        self._all: set[_Connection] = set()
        self._by_remote: dict[tuple[bytes, bytes], _Connection] = {}
        self._keys: dict[bytes, bool] = {}  # joined key -> announced
        self._seen: dict[str, int] = {}
        self._seen_per_key: Counter = Counter()
        self._queue: deque[PeerAddress] = deque()
        self._in_flight = 0
        self._timers: set[Any] = set()
        self._tasks: set[asyncio.Task] = set()
        self._server: asyncio.AbstractServer | None = None
        self._listen_lock = asyncio.Lock()
        self.closed = False

    # -- public API -------------------------------------------------------------------------------

    @property
    def connecting(self) -> int:
        """Dials and handshakes in flight."""
        return self._in_flight

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def keys(self) -> list[bytes]:
        return list(self._keys)

    async def listen(self) -> int:
        """Start the TCP listener (and discovery); returns the port.  ``join`` calls it."""
        async with self._listen_lock:
            if self._server is not None:
                return self.port  # type: ignore[return-value]
            if self.closed:
                raise RuntimeError("swarm closed")
            if self._requested_port is None:
                try:
                    self._server = await asyncio.start_server(self._on_inbound, self.host, DEFAULT_PORT)
                except OSError:
                    self._server = await asyncio.start_server(self._on_inbound, self.host, 0)
            else:
                self._server = await asyncio.start_server(self._on_inbound, self.host, self._requested_port)
            self.port = self._server.sockets[0].getsockname()[1]
            if isinstance(self._discovery_arg, MdnsDiscovery):
                self.discovery = self._discovery_arg
            elif self._discovery_arg:
                self.discovery = MdnsDiscovery(self.naming, clock=self.clock, **self._discovery_options)
            if self.discovery is not None:
                self.discovery.on("peer", self._on_discovered)
                await self.discovery.start()
            return self.port

    async def join(self, discovery_key: bytes, *, announce: bool = True) -> None:
        """Look up ``discovery_key`` on the LAN and (``announce``) announce our TCP port for it."""
        dk = bytes(discovery_key)
        await self.listen()
        if dk in self._keys:
            return
        self._keys[dk] = announce
        if self.discovery is not None:
            self.discovery.join(dk, self.port if announce else None)

    def leave(self, discovery_key: bytes) -> None:
        """Stop looking up / announcing; forget the peers found for it (open connections stay)."""
        dk = bytes(discovery_key)
        announce = self._keys.pop(dk, None)
        if announce is None:
            return
        if self.discovery is not None:
            self.discovery.leave(dk, self.port if announce else None)
        self._queue = deque(p for p in self._queue if p.discovery_key != dk)
        suffix = "@" + dk.hex()
        for peer_id in [k for k in self._seen if k.endswith(suffix)]:
            del self._seen[peer_id]
        self._seen_per_key.pop(dk, None)

    def add_peer(self, discovery_key: bytes, host: str, port: int) -> bool:
        """Dial ``host:port`` for ``discovery_key`` as if discovery had found it; False if not queued."""
        return self._add(PeerAddress(host, int(port), bytes(discovery_key)))

    def remove_peer(self, discovery_key: bytes, host: str, port: int) -> None:
        """Ban ``host:port`` for ``discovery_key`` (discovery-swarm ``removePeer``)."""
        peer = PeerAddress(host, int(port), bytes(discovery_key))
        self._remember(peer, _BANNED)
        self.emit("peer-banned", peer, "application")

    async def close(self) -> None:
        """Close every connection, the listener and discovery."""
        if self.closed:
            return
        self.closed = True
        for t in self._timers:
            t.cancel()
        self._timers.clear()
        self._queue.clear()
        if self.discovery is not None:
            self.discovery.off("peer", self._on_discovered)
            if self.discovery is not self._discovery_arg:  # ours, not one the caller shares
                await self.discovery.close()
        for conn in list(self._all):
            conn.stream.destroy(ConnectionAbortedError("swarm closed"))
        if self._server is not None:
            self._server.close()
        if self._tasks:  # their streams are destroyed: let them end (cancelling a server's connection
            await asyncio.wait(list(self._tasks), timeout=2.0)  # task makes CPython 3.11 log an error)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, 2.0)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)

    async def __aenter__(self) -> "Swarm":
        await self.listen()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- peers ------------------------------------------------------------------------------------

    def _on_discovered(self, found: PeerFound) -> None:
        if found.discovery_key in self._keys:
            self._add(PeerAddress(found.host, found.port, found.discovery_key))

    def _remember(self, peer: PeerAddress, state: int) -> None:
        if peer.id not in self._seen:
            self._seen_per_key[peer.discovery_key] += 1
        self._seen[peer.id] = state

    def _add(self, peer: PeerAddress) -> bool:
        if self.closed:
            return False
        seen = self._seen.get(peer.id)
        if seen:
            self.emit("peer-rejected", peer, "banned" if seen == _BANNED else "duplicate")
            return False
        if self._seen_per_key[peer.discovery_key] >= self.max_peers_per_key:
            self.emit("peer-rejected", peer, "full")
            return False
        self._remember(peer, _SEEN)
        self._queue.append(peer)
        self.emit("peer", peer)
        self._kick()
        return True

    def _forget(self, peer: PeerAddress) -> None:
        if self._seen.pop(peer.id, None) is not None:
            self._seen_per_key[peer.discovery_key] -= 1
            if self._seen_per_key[peer.discovery_key] <= 0:
                del self._seen_per_key[peer.discovery_key]

    def _kick(self) -> None:
        while self._queue and not self.closed and self._in_flight < self.max_connecting:
            peer = self._queue.popleft()
            if self._seen.get(peer.id) != _SEEN:
                continue  # banned, or forgotten (left) meanwhile
            self._in_flight += 1
            self._spawn(self._dial(peer))

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _later(self, delay: float, fn: Callable[[], None]) -> None:
        handle: Any = None

        def run() -> None:
            self._timers.discard(handle)
            if not self.closed:
                fn()

        handle = self.clock.call_later(delay, run)
        self._timers.add(handle)

    def _requeue(self, peer: PeerAddress) -> None:
        if self.closed or peer.id not in self._seen:
            return  # closed, or the key was left meanwhile
        if peer.retries >= len(self.reconnect_wait):
            self._forget(peer)
            self.emit("drop", peer)
            return
        wait = self.reconnect_wait[peer.retries]
        peer.retries += 1

        def again() -> None:
            if self._seen.get(peer.id) == _SEEN:
                self._queue.append(peer)
                self._kick()

        self._later(wait, again)

    async def _dial(self, peer: PeerAddress) -> None:
        self.emit("connecting", peer)
        try:
            reader, writer = await self._open(peer.host, peer.port)
        except (OSError, asyncio.TimeoutError) as exc:
            self._in_flight -= 1
            self.emit("connect-failed", peer, isinstance(exc, asyncio.TimeoutError))
            self._requeue(peer)
            self._kick()
            return
        await self._run(reader, writer, peer)

    async def _open(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """TCP connect with the connect timeout measured on ``self.clock``."""
        connect = asyncio.ensure_future(asyncio.open_connection(host, port))
        timer = asyncio.ensure_future(self.clock.sleep(self.connect_timeout))
        try:
            await asyncio.wait({connect, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if not connect.done():
                connect.cancel()
        try:
            return connect.result()
        except asyncio.CancelledError:
            raise asyncio.TimeoutError() from None

    async def _on_inbound(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.closed:
            writer.close()
            return
        self._in_flight += 1
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._run(reader, writer, None)
        finally:
            if task is not None:
                self._tasks.discard(task)

    # -- connections ------------------------------------------------------------------------------

    async def _run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: PeerAddress | None) -> None:
        """Run one connection (counted in flight by the caller) until it ends."""
        if peer is not None:
            host, port = peer.host, peer.port
        else:
            addr = writer.get_extra_info("peername") or ("", 0)
            host, port = addr[0], addr[1]
        info = PeerInfo(host, port, peer is not None, peer.discovery_key if peer else None, self.id)
        self.emit("handshaking", info)
        try:
            stream = self._factory(info)
        except Exception:
            log.exception("the stream factory failed for %s:%s", host, port)
            self._in_flight -= 1
            writer.close()
            self._kick()
            return
        if stream.key is None:  # nothing sent yet: the handshake will carry the swarm's id
            stream.id = self.id
        conn = _Connection(stream, info, peer, writer)
        self._all.add(conn)
        conn.timer = self.clock.call_later(self.handshake_timeout, self._on_handshake_timeout, conn)

        def on_feed(discovery_key: bytes) -> None:
            if conn.first_remote_key is None:
                conn.first_remote_key = bytes(discovery_key)

        stream.on("feed", on_feed)
        stream.on("handshake", lambda: self._on_handshake(conn))
        if self.closed:
            stream.destroy(ConnectionAbortedError("swarm closed"))
        try:
            await run_stream(stream, reader, writer, clock=self.clock)
        except Exception:
            log.exception("connection to %s:%s failed", host, port)
        finally:
            self._on_close(conn)

    def _settle(self, conn: _Connection) -> None:
        """The connection is no longer in flight (handshake done, or ended before it)."""
        if conn.pending:
            conn.pending = False
            self._in_flight -= 1
            if conn.timer is not None:
                conn.timer.cancel()
            self._kick()

    def _on_handshake_timeout(self, conn: _Connection) -> None:
        if conn.pending and not conn.stream.destroyed:
            conn.stream.destroy(TimeoutError("no handshake within %g s" % self.handshake_timeout))

    def _on_handshake(self, conn: _Connection) -> None:
        stream, info, peer = conn.stream, conn.info, conn.peer
        self._settle(conn)
        if stream.destroyed:
            return
        remote = bytes(stream.remote_id or b"")
        local = bytes(stream.id)
        # the stream's first key, as JS's ``stream.discoveryKey`` (for a passive stream: the remote's first)
        dk = stream.discovery_key or conn.first_remote_key or info.discovery_key or b""
        if peer is not None:
            peer.retries = 0
        if remote == local:
            if peer is not None:
                self._remember(peer, _BANNED)
                self.emit("peer-banned", peer, "detected-self")
            stream.destroy(SelfConnection("connected to ourselves"))
            return
        key = (remote, bytes(dk))
        old = self._by_remote.get(key)
        if old is not None:
            if (peer is not None and remote < local) or (peer is None and remote > local):
                self.emit("redundant-connection", stream, info)
                stream.destroy(DuplicateConnection("a connection opened by the peer with the smaller id is kept"))
                return
            self.emit("redundant-connection", old.stream, info)
            del self._by_remote[key]  # so that closing it does not redial
            old.stream.destroy(DuplicateConnection("a connection opened by the peer with the smaller id is kept"))
        conn.key = key
        self._by_remote[key] = conn
        self.connections.append(conn)
        info.remote_id = remote
        self.emit("connection", stream, info)

    def _on_close(self, conn: _Connection) -> None:
        self._settle(conn)
        self._all.discard(conn)
        if conn in self.connections:
            self.connections.remove(conn)
        self.emit("connection-closed", conn.stream, conn.info)
        if conn.key is not None and self._by_remote.get(conn.key) is conn:
            del self._by_remote[conn.key]
            if conn.peer is not None:
                self._requeue(conn.peer)


@asynccontextmanager
async def discover(
    discovery_keys: bytes | Iterable[bytes],
    stream_factory: Callable[[PeerInfo], ProtocolStream],
    *,
    announce: bool = True,
    **swarm_options: Any,
) -> AsyncIterator[Swarm]:
    """A listening :class:`Swarm` that joined ``discovery_keys`` (one key or several); closed on exit."""
    keys = [discovery_keys] if isinstance(discovery_keys, (bytes, bytearray, memoryview)) else list(discovery_keys)
    swarm = Swarm(stream_factory, **swarm_options)
    try:
        await swarm.listen()
        for dk in keys:
            await swarm.join(bytes(dk), announce=announce)
        yield swarm
    finally:
        await swarm.close()
