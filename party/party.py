"""``Party``: a virtual space named by a 32-byte key in which peers replicate the feeds its rules allow.

Connection set-up (the JS @wirelineio/party 0.1.x sequence):

1. a hypercore-protocol stream is made with the party's id and the ``party`` extension (plus the rules'
   own extensions); its first channel is the party key, so the party key encrypts the connection and its
   discovery key is all an eavesdropper sees;
2. on the protocol handshake a :class:`Peer` is made (a remote without the ``party`` extension is
   refused when the rules need it), then ``rules.ready(peer)`` and ``rules.handshake(peer)`` run;
3. whenever the remote opens a channel for another discovery key, ``rules.find_feed(peer, dk)`` names the
   feed to replicate on it (or none);
4. when the stream ends the peer is closed and ``peer-remove`` is emitted.

Events (``party.on(name, fn)``): ``peer-add`` (peer), ``peer-remove`` (peer), ``handshake`` (peer, after
``rules.handshake`` finished), ``ephemeral`` (peer, type, value), ``unknown-feed`` (peer, discovery_key),
``overflow`` (peer, list of feed keys: feeds left out of that connection for want of channels — a JS peer
carries 256 channels, the party key's included; see :meth:`Peer.report_overflow`), ``error`` (exception,
peer or None).

Bounds (:mod:`hyperparty.protocol.limits`): party messages that arrive before the remote's handshake are
held, at most :data:`~hyperparty.protocol.limits.MAX_EARLY_MESSAGES` (one more drops the connection); the
tasks a connection runs for channels the remote opens are bounded like a peer's rule hooks (the
connection is not read past :data:`~hyperparty.protocol.limits.MAX_PEER_TASKS`); ``rules.on_peer_removed``
runs in a task the party keeps, and its failure is logged.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

from ..clock import Clock, default_clock
from ..crypto import discovery_key as make_discovery_key
from ..protocol import limits
from ..protocol.errors import ProtocolError
from ..protocol.stream import ProtocolStream
from .errors import PartyExtensionMissing, PeerClosed
from ..events import EventEmitter
from .peer import EXTENSION, Peer
from .rules import Rules

log = logging.getLogger(__name__)


class TooManyEarlyMessages(ProtocolError):
    """The remote sent more party messages before its handshake than we hold."""


class _PartyChannel:
    """Handler of the party's own channel: routes extension payloads to the peer and the rules.

    When the party key is also a feed's key (the authorized rules' root feed, like a hyperdb's source
    feed) that feed replicates on this same channel: ``add_delegate`` hands every non-extension message,
    tick, handshake, end of input chunk and close to its replication handler.
    """

    def __init__(self, binding: "_Connection") -> None:
        self.binding = binding
        self.delegate = None

    def add_delegate(self, handler) -> None:
        self.delegate = handler

    def on_extension(self, channel, name: str, payload: bytes) -> None:
        self.binding.on_extension(name, payload)

    def on_message(self, channel, message) -> None:
        if self.delegate is not None:
            self.delegate.on_message(channel, message)

    def on_handshake(self, channel) -> None:
        if self.delegate is not None:
            self.delegate.on_handshake(channel)

    def on_tick(self, channel) -> None:
        if self.delegate is not None:
            self.delegate.on_tick(channel)

    def on_batch_end(self, channel) -> None:
        if self.delegate is not None:
            self.delegate.on_batch_end(channel)

    def on_close(self, channel, error) -> None:
        if self.delegate is not None:
            self.delegate.on_close(channel, error)


class _Connection:
    """The glue between one ProtocolStream and the Party that owns it."""

    def __init__(self, party: "Party", stream: ProtocolStream, live: bool) -> None:
        self.party = party
        self.stream = stream
        self.live = live
        self.peer: Peer | None = None
        self.peer_ready: asyncio.Future = asyncio.get_running_loop().create_future()
        self._early: list[tuple[str, bytes]] = []
        self._tasks: set[asyncio.Task] = set()
        stream.on("handshake", self.on_handshake)
        stream.on("feed", self.on_remote_feed)
        stream.on("close", self.on_close)
        stream.on("overflow", self.on_overflow)
        self._overflow: list[bytes] = []  # channels the stream refused before the peer was made
        self.channel = stream.feed(party.key, handler=_PartyChannel(self))
        if stream.remote_id is not None and self.peer is None:
            self.on_handshake()

    def _spawn(self, coro) -> None:
        if self.peer is not None:
            self.peer.spawn(coro)
            if len(self.peer._tasks) >= limits.MAX_PEER_TASKS:
                self.stream.pause_input(self.peer)  # the peer resumes the input as its tasks end
            return
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        if len(self._tasks) >= limits.MAX_PEER_TASKS:
            self.stream.pause_input(self)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if len(self._tasks) < limits.MAX_PEER_TASKS:
            self.stream.resume_input(self)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if not isinstance(exc, PeerClosed):
                log.error("connection task failed: %r", exc, exc_info=exc)
                self.party.emit("error", exc, self.peer)

    def on_handshake(self) -> None:
        if self.peer is not None or self.channel is None:  # no channel: the stream ended before it opened
            return
        rules = self.party.rules
        if rules.uses_party_extension and not self.stream.remote_supports(EXTENSION):
            error = PartyExtensionMissing("the remote peer does not support the party extension")
            self.party.emit("error", error, None)
            self.stream.destroy(error)
            return
        peer = Peer(self.party, self.stream, self.channel, live=self.live)
        self.peer = peer
        self.party._add_peer(peer)
        for name, payload in self._early:
            self._route(name, payload)
        self._early.clear()
        if self._overflow:
            peer.report_overflow(self._overflow, "no channel left on this connection", quiet=True)
            self._overflow = []
        peer.spawn(self._start(peer))

    async def _start(self, peer: Peer) -> None:
        rules = self.party.rules
        try:
            await rules.ready(peer)
            await rules.handshake(peer)
        except Exception as exc:
            if not peer.closed:
                log.exception("rules.handshake failed")
                self.party.emit("error", exc, peer)
                self.stream.destroy(exc)
            if not self.peer_ready.done():
                self.peer_ready.set_exception(exc)
                self.peer_ready.exception()  # mark retrieved
            return
        if not self.peer_ready.done():
            self.peer_ready.set_result(peer)
        self.party.emit("handshake", peer)

    def on_overflow(self, key: bytes) -> None:
        """The stream refused a channel for ``key`` (its channel limit): reported by the peer."""
        if self.peer is None:
            self._overflow.append(bytes(key))
        else:
            self.peer.report_overflow([key], "no channel left on this connection", quiet=True)

    def on_remote_feed(self, discovery_key: bytes) -> None:
        if discovery_key == self.party.discovery_key:
            return
        self._spawn(self._find_and_replicate(bytes(discovery_key)))

    async def _find_and_replicate(self, discovery_key: bytes) -> None:
        peer = self.peer
        if peer is None:
            peer = await self.peer_ready
        feed = await self.party.rules.find_feed(peer, discovery_key)
        if feed is None:
            self.party.emit("unknown-feed", peer, discovery_key)
            return
        await peer.replicate(feed)

    def on_extension(self, name: str, payload: bytes) -> None:
        if self.peer is None:
            if len(self._early) >= limits.MAX_EARLY_MESSAGES:
                raise TooManyEarlyMessages(
                    f"Remote sent more than {limits.MAX_EARLY_MESSAGES} party messages before its handshake")
            self._early.append((name, payload))
            return
        self._route(name, payload)

    def _route(self, name: str, payload: bytes) -> None:
        peer = self.peer
        assert peer is not None
        if name == EXTENSION:
            peer._on_party_payload(payload)
        elif name in self.party.rules.extensions:
            self._spawn(self.party.rules.on_extension(peer, name, payload))

    def on_close(self, error: BaseException | None) -> None:
        for task in list(self._tasks):
            task.cancel()
        if not self.peer_ready.done():
            self.peer_ready.cancel()
        peer = self.peer
        if peer is not None:
            peer._close(error)
            self.party._remove_peer(peer)


class Party(EventEmitter):
    """A party: ``Party(key, rules)``; ``party.replicate(live=...)`` makes one connection's stream."""

    def __init__(
        self, key: bytes, rules: Rules, id: bytes | None = None, *, clock: Clock | None = None, **replicate_options: Any
    ) -> None:
        super().__init__()
        #: The clock transaction timeouts run on (inject a ManualClock in tests).
        self.clock: Clock = clock or default_clock()
        key = bytes(key)
        if len(key) != 32:
            raise ValueError("a party key is 32 bytes")
        self.key = key
        self.discovery_key = make_discovery_key(key)
        self.rules = rules
        self.id = bytes(id) if id is not None else secrets.token_bytes(32)
        self.peers: list[Peer] = []
        #: Options passed to every ``Feed.attach`` (e.g. ``download=False``).
        self.replicate_options: dict[str, Any] = dict(replicate_options)
        #: When true, ``peer.replicate`` leaves the stream's ``expected_feeds`` alone (the caller fixed it).
        self.fixed_expected_feeds = False
        self._tasks: set[asyncio.Task] = set()  # rules.on_peer_removed hooks still running

    def __repr__(self) -> str:
        return f"<Party {self.discovery_key.hex()[:8]} rules={self.rules.name} peers={len(self.peers)}>"

    def stream_options(self, **options: Any) -> dict[str, Any]:
        """Protocol options for a connection of this party: id, extensions (sorted, ``party`` included),
        ``many_feeds`` (more than 256 channels with a peer that lists it too; see ProtocolStream)."""
        extensions = set(options.pop("extensions", ())) | set(self.rules.extensions)
        if self.rules.uses_party_extension:
            extensions.add(EXTENSION)
        opts: dict[str, Any] = {"id": self.id, "many_feeds": True, **self.rules.stream_options(), **options}
        opts["extensions"] = sorted(extensions)
        return opts

    def replicate(self, *, live: bool = False, **options: Any) -> ProtocolStream:
        """A new protocol stream for one connection to a peer of this party (run it on a transport)."""
        if "expected_feeds" in options:
            self.fixed_expected_feeds = True
        stream = ProtocolStream(live=live, **self.stream_options(**options))
        self.attach(stream, live=live)
        return stream

    def attach(self, stream: ProtocolStream, *, live: bool = False) -> None:
        """Take over ``stream`` (made elsewhere, e.g. by a :class:`PartyMap`) for this party."""
        _Connection(self, stream, live)

    def _add_peer(self, peer: Peer) -> None:
        self.peers.append(peer)
        self.emit("peer-add", peer)

    def _remove_peer(self, peer: Peer) -> None:
        if peer in self.peers:
            self.peers.remove(peer)
            self.emit("peer-remove", peer)
            task = asyncio.ensure_future(self.rules.on_peer_removed(peer))
            self._tasks.add(task)
            task.add_done_callback(self._removed)

    async def close(self) -> None:
        """End every connection of this party and wait for the rules' ``on_peer_removed`` hooks, so the
        feeds they touch can be closed safely afterwards."""
        for peer in list(self.peers):
            peer.stream.destroy()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _removed(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            log.error("rules.on_peer_removed failed: %r", exc, exc_info=exc)
            self.emit("error", exc, None)
