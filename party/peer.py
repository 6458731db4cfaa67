"""``Peer``: the remote end of one party connection, with transactions and ephemeral messages.

A transaction (``introduce_feeds`` / ``request``) sends its message with ``Transaction{id}`` (a 12-byte
random id as 24 hex characters, as in JS); the remote runs its rules hook and sends the same message type
back with ``Transaction{id, return: true}``.  The awaiting coroutine gets that answer, or
:class:`TransactionTimeout` after the rules' ``transaction_timeout`` on the party's clock
(:mod:`hyperparty.clock`), or :class:`PeerClosed` when the connection ends first — nothing waits
forever on a vanished peer.

Bounds (:mod:`hyperparty.protocol.limits`): an incoming ``IntroduceFeeds``/``Request`` without its
``Transaction`` is refused like an undecodable payload (the JS party cannot decode it either), so it never
reaches the rules; at most :data:`~hyperparty.protocol.limits.MAX_PEER_TASKS` rule hooks run at once for
one peer (the connection is not read while they do); ephemeral messages larger than
:data:`~hyperparty.protocol.limits.MAX_EPHEMERAL_BYTES` or beyond
:data:`~hyperparty.protocol.limits.EPHEMERAL_RATE` a second (burst
:data:`~hyperparty.protocol.limits.EPHEMERAL_BURST`) are dropped, with one log line a second.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import TYPE_CHECKING, Any, Awaitable, Coroutine

from . import codec
from .codec import EphemeralMessage, IntroduceFeeds, Request, Transaction
from .errors import PeerClosed, TransactionTimeout
from ..events import EventEmitter
from ..protocol import limits

if TYPE_CHECKING:  # pragma: no cover
    from ..feeds import Feed
    from ..protocol.stream import Channel, ProtocolStream
    from .party import Party

log = logging.getLogger(__name__)
netlog = logging.getLogger("hyperparty.net")

EXTENSION = "party"


class Peer(EventEmitter):
    """One connected remote peer of a party.  Events: ``"close"`` (error or None)."""

    def __init__(self, party: "Party", stream: "ProtocolStream", channel: "Channel", *, live: bool) -> None:
        super().__init__()
        self.party = party
        self.stream = stream
        self.channel = channel
        self.live = live
        self.peer_id: bytes | None = stream.remote_id
        self.closed = False
        self.error: BaseException | None = None
        self._pending: dict[str, asyncio.Future] = {}
        self._replicated: dict[bytes, "Feed"] = {}
        self._tasks: set[asyncio.Task] = set()
        self._ephemeral = limits.RateLimit(limits.EPHEMERAL_RATE, limits.EPHEMERAL_BURST)
        self._ephemeral_refused = 0
        self._ephemeral_logged: float | None = None
        #: Keys of the feeds this connection left out (see :meth:`report_overflow`), in order.
        self.overflow: list[bytes] = []
        self._overflow_logged = False
        #: Per-peer scratch space for rule sets.
        self.state: dict[str, Any] = {}

    def __repr__(self) -> str:
        pid = self.peer_id.hex()[:8] if self.peer_id else "?"
        return f"<Peer {pid} of party {self.party.discovery_key.hex()[:8]}>"

    # -- feeds -------------------------------------------------------------------------------------

    @property
    def key_limit(self) -> int:
        """Most feed keys one message to or from this peer may name (and most keys offered by it that the
        rules keep): :data:`~hyperparty.protocol.limits.MAX_KEYS_PER_MESSAGE` (256), or the connection's
        channel limit (16 384) when both peers listed the ``hyperparty/many-feeds`` extension — a
        connection that can carry the feeds may name them.  The store's ``max_feeds`` still bounds what is
        admitted."""
        if self.stream.many_feeds_negotiated:
            return max(limits.MAX_KEYS_PER_MESSAGE, self.stream.channel_limit)
        return limits.MAX_KEYS_PER_MESSAGE

    @property
    def feed_room(self) -> int:
        """Feeds this connection can carry besides the party's own channel (255 with a JS peer)."""
        return max(0, self.stream.channel_limit - 1)

    def report_overflow(self, keys: list[bytes], why: str, *, quiet: bool = False) -> None:
        """Feeds ``keys`` are left out of this connection (no room for them, see :attr:`feed_room`): never
        silently — they are added to :attr:`overflow`, the party emits ``overflow`` (peer, keys) and a
        warning is logged on ``hyperparty.net`` (with ``quiet``, only the first time for this peer)."""
        if not keys:
            return
        keys = [bytes(k) for k in keys]
        self.overflow.extend(keys)
        if not quiet or not self._overflow_logged:
            netlog.warning("%d feed(s) left out of the connection to %r: %s", len(keys), self, why)
        self._overflow_logged = True
        self.party.emit("overflow", self, keys)

    @property
    def replicated_keys(self) -> list[bytes]:
        """Keys of the feeds attached to this connection so far, in order."""
        return list(self._replicated)

    async def replicate(self, feed: "Feed", **options: Any) -> bool:
        """Replicate ``feed`` on this connection: every core now, and every core it learns later.

        Returns False if it was already replicated here.  In a non-live connection each core attached
        (learned ones included) adds one to the stream's expected channel count, so the connection ends
        once all of them finished replicating (unless the rules manage that count themselves).
        """
        if self.closed:
            raise PeerClosed("the connection to this peer has ended")
        await feed.ready()
        if feed.key in self._replicated:
            return False
        self._replicated[feed.key] = feed
        opts = {"live": self.live, **self.party.replicate_options, **options}
        count = not self.live and not (self.party.fixed_expected_feeds or self.party.rules.manages_expected_feeds)
        await feed.attach(self.stream, count=count, **opts)
        return True

    # -- messages ----------------------------------------------------------------------------------

    async def introduce_feeds(self, keys: list[bytes]) -> list[bytes]:
        """Introduce ``keys`` to the remote (a transaction); returns the keys in its answer."""
        keys = [bytes(k) for k in keys]
        for k in keys:
            if len(k) != 32:
                raise ValueError("feed keys are 32 bytes")
        answer = await self._transact(lambda tx: IntroduceFeeds(tx, list(keys)))
        return list(answer.keys)

    async def request(self, type: str, value: bytes = b"") -> tuple[str | None, bytes | None]:
        """Send a request (a transaction); returns the answer's ``(type, value)``."""
        answer = await self._transact(lambda tx: Request(tx, type, bytes(value)))
        return answer.type, answer.value

    def send_ephemeral_message(self, type: str, value: bytes = b"") -> None:
        """Fire and forget: the remote's rules get ``on_ephemeral_message``."""
        self._send(EphemeralMessage(type, bytes(value)))

    def _send(self, message: codec.PartyMessage) -> None:
        if self.closed:
            raise PeerClosed("the connection to this peer has ended")
        self.channel.extension(EXTENSION, codec.encode(message))

    async def _transact(self, build) -> Any:
        tx_id = secrets.token_bytes(12).hex()
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[tx_id] = future
        timer = None
        try:
            self._send(build(Transaction(tx_id)))
            timeout = self.party.rules.transaction_timeout
            if timeout is not None:

                def expire() -> None:
                    if not future.done():
                        future.set_exception(TransactionTimeout())

                timer = self.party.clock.call_later(timeout, expire)
            return await future
        finally:
            if timer is not None:
                timer.cancel()
            self._pending.pop(tx_id, None)

    # -- incoming ----------------------------------------------------------------------------------

    def _on_party_payload(self, payload: bytes) -> None:
        """Called by the party channel handler for every ``party`` extension payload."""
        try:
            message = codec.decode(payload)
        except codec.PartyCodecError as exc:
            self.party.emit("error", exc, self)
            self.stream.destroy(exc)
            return
        if message is None:
            return  # unknown AnyType: passed over, as in JS
        if isinstance(message, EphemeralMessage):
            if not self._accept_ephemeral(message):
                return
        else:
            tx = message.transaction
            if tx is None:
                refused = codec.PartyCodecError(f"{type(message).__name__} without its transaction")
                self.party.emit("error", refused, self)
                self.stream.destroy(refused)
                return
            if tx.is_return:
                future = self._pending.get(tx.id or "")
                if future is not None and not future.done():
                    future.set_result(message)
                return
        self.spawn(self._dispatch(message))
        if len(self._tasks) >= limits.MAX_PEER_TASKS:
            self.stream.pause_input(self)  # read no more until some of the running hooks end

    def _accept_ephemeral(self, message: EphemeralMessage) -> bool:
        now = self.party.clock.now()
        too_big = message.value is not None and len(message.value) > limits.MAX_EPHEMERAL_BYTES
        if not too_big and self._ephemeral.allow(now):
            return True
        self._ephemeral_refused += 1
        if self._ephemeral_logged is None or now - self._ephemeral_logged >= 1.0:
            self._ephemeral_logged = now
            netlog.warning("dropped %d ephemeral message(s) from %r (at most %d bytes, %g a second)",
                           self._ephemeral_refused, self, limits.MAX_EPHEMERAL_BYTES, limits.EPHEMERAL_RATE)
            self._ephemeral_refused = 0
        return False

    async def _dispatch(self, message: codec.PartyMessage) -> None:
        rules = self.party.rules
        try:
            if isinstance(message, EphemeralMessage):
                await rules.on_ephemeral_message(self, message.type, message.value)
                self.party.emit("ephemeral", self, message.type, message.value)
                return
            assert message.transaction is not None  # checked on arrival
            if isinstance(message, IntroduceFeeds):
                keys = await rules.on_introduce_feeds(self, list(message.keys))
                answer: codec.PartyMessage = IntroduceFeeds(
                    Transaction(message.transaction.id, True), list(keys or ())
                )
            else:
                result = await rules.on_request(self, message.type, message.value)
                rtype, rvalue = result if result is not None else (None, None)
                answer = Request(Transaction(message.transaction.id, True), rtype, rvalue)
            if not self.closed:
                self._send(answer)
        except PeerClosed:
            pass
        except Exception as exc:  # a rules bug: report it, keep the connection
            log.exception("rules hook failed for %r", message)
            self.party.emit("error", exc, self)

    # -- lifecycle ---------------------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any] | Awaitable[Any]) -> asyncio.Task:
        """Run ``coro`` as a task owned by this peer (cancelled when the connection ends)."""
        task = asyncio.ensure_future(coro)
        if self.closed:
            task.cancel()
            return task
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if len(self._tasks) < limits.MAX_PEER_TASKS:
            self.stream.resume_input(self)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if not isinstance(exc, PeerClosed):
                log.error("peer task failed: %r", exc)
                self.party.emit("error", exc, self)

    def _close(self, error: BaseException | None) -> None:
        if self.closed:
            return
        self.closed = True
        self.error = error
        for future in self._pending.values():
            if not future.done():
                future.set_exception(PeerClosed(f"connection ended: {error}" if error else "connection ended"))
        self._pending.clear()
        for task in list(self._tasks):
            task.cancel()
        self.emit("close", error)
