"""``ProtocolStream``: one hypercore-protocol 6 connection, with channels, handshake and extensions.

Sans-IO (no asyncio, no sockets, no clock): bytes come in through :meth:`ProtocolStream.receive` (and
:meth:`receive_eof`), bytes to send are taken with :meth:`data_to_send` (a transport registers
:meth:`set_output_listener` to be told when there are some), and the keep-alive clock advances only when
:meth:`tick` is called — the transport calls it every ``timeout / 4`` seconds of its injected clock, tests
call it by hand.  Work JS defers to the next tick (delivering messages queued on a channel we open late)
goes through :attr:`ProtocolStream.schedule`, which a transport sets to its loop's ``call_soon``; without
one it runs before :meth:`ProtocolStream.feed` returns.  See :mod:`hyperparty.protocol.transport`.

Semantics follow hypercore-protocol 6.12.0 (shared/spec/hypercore-protocol-6.md):

* ``stream.feed(key, handler)`` opens a channel; the first one sends the plaintext Feed with our nonce,
  starts encryption keyed by ``key`` and sends the Handshake.  Channels are matched across the wire by
  discovery key; the remote opening one fires the ``feed`` event (with the discovery key).
* Messages for a channel the remote opened but we have not are queued (at most ``max_queued``; one more
  destroys the stream) and delivered when we open it.  Extension frames are only delivered to opened
  channels.
* There is no close message: ``channel.close()`` is local.  With ``expected_feeds > 0`` each close counts
  down; at zero the stream *prefinalizes*: every ``prefinalize`` listener gets a ``done(error=None)``
  callback and may first raise the count (:meth:`ProtocolStream.add_expected_feeds`) for channels still
  to come, as hyperdb does for writers learned during the session; once every listener called ``done``
  the stream finalizes if the count is still zero (with no listener it finalizes at once).  :meth:`finalize` ends gracefully (the transport sends EOF;
  the remote finalizes when it sees it); :meth:`destroy` aborts with an error.

Bounded input (budgets: :mod:`hyperparty.protocol.limits`).  ``receive`` dispatches messages in *slices*:
a slice ends when the input is exhausted, when a handler holds the input (:meth:`ProtocolStream.pause_input`
/ :meth:`~ProtocolStream.resume_input`), or when its work is done (a message costs 1 unit, a handler adds
what a costly message cost with :meth:`~ProtocolStream.charge`); the rest continues through
:attr:`~ProtocolStream.schedule`, so one peer's input never blocks the loop.  Meanwhile
:attr:`~ProtocolStream.wants_input` is false and a transport reads nothing more (it asks
:meth:`~ProtocolStream.read_size` how much to read, and registers :meth:`~ProtocolStream.set_input_listener`
to learn when to read again).  Handlers that answer with output (serving a Request) check
:meth:`~ProtocolStream.output_full` and wait for :meth:`~ProtocolStream.when_drained` instead of queueing
without end.  :meth:`~ProtocolStream.tick` also runs the handshake, frame and output-stall deadlines.
A handler method that raises (other than a :class:`ProtocolError`) is logged and ends its own channel,
never the stream.

Channel handlers are plain objects; each of these methods is optional:
``on_open(channel)`` (called by ``feed()`` before anything is sent or delivered), ``on_message(channel, message)``, ``on_extension(channel, name, payload)``, ``on_handshake(channel)``,
``on_tick(channel)``, ``on_close(channel, error)``, ``on_batch_end(channel)`` (once after all the messages
of one received chunk were delivered: handlers that react per chunk rather than per message use it).

Stream events (``stream.on(name, fn)``): ``feed`` (discovery_key), ``handshake`` (), ``extension``
(channel, name, payload) for channels without a handler method, ``prefinalize`` (done), ``end`` (),
``error`` (exception), ``close`` (exception or None; always exactly once).
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Iterable

from ..crypto import discovery_key as make_discovery_key
from ..events import EventEmitter
from . import limits
from . import messages as m
from .errors import (
    FrameTimeout,
    HandshakeTimeout,
    InvalidFeedMessage,
    ProtocolError,
    RemoteStoppedReading,
    RemoteTimeout,
    TooManyFeeds,
    TooManyQueued,
)
from .wire import KEEP_ALIVE, MAX_FRAME, Wire

__all__ = ["ProtocolStream", "Channel", "MANY_FEEDS_EXTENSION"]

#: Listed in the handshake by streams made with ``many_feeds=True``: when both peers list it, a connection
#: carries up to :data:`~hyperparty.protocol.limits.MAX_FEEDS_NEGOTIATED` channels instead of JS's 256.
MANY_FEEDS_EXTENSION = "hyperparty/many-feeds"

log = logging.getLogger(__name__)


class Channel:
    """One feed's channel on a stream (matched with the remote's by discovery key)."""

    __slots__ = ("stream", "key", "discovery_key", "local_id", "remote_id", "handler", "closed", "_queue",
                 "_queued_bytes", "_methods", "__weakref__")

    def __init__(self, stream: "ProtocolStream", discovery_key: bytes) -> None:
        self.stream = stream
        self.discovery_key = discovery_key
        self.key: bytes | None = None
        self.local_id: int | None = None
        self.remote_id: int | None = None
        self.handler: Any = None
        self.closed = False
        self._queue: list | None = None
        self._queued_bytes = 0
        # (handler, its on_message, its on_batch_end): looked up once per handler, not once per message
        self._methods: tuple[Any, Any, Any] = (None, None, None)

    def __repr__(self) -> str:
        return (f"<Channel {self.discovery_key.hex()[:8]} local={self.local_id} remote={self.remote_id}"
                f"{' closed' if self.closed else ''}>")

    @property
    def opened(self) -> bool:
        """Opened locally (we sent its Feed)."""
        return self.local_id is not None

    def send(self, message) -> None:
        """Send a message (one of :mod:`hyperparty.protocol.messages`) on this channel."""
        if self.closed or self.local_id is None:
            return
        self.stream._send(self.local_id, message)

    def info(self, *, uploading: bool | None = None, downloading: bool | None = None) -> None:
        self.send(m.Info(uploading, downloading))

    def have(self, start: int, length: int | None = None, bitfield: bytes | None = None, ack: bool | None = None) -> None:
        self.send(m.Have(start, length, bitfield, ack))

    def unhave(self, start: int, length: int | None = None) -> None:
        self.send(m.Unhave(start, length))

    def want(self, start: int, length: int | None = None) -> None:
        self.send(m.Want(start, length))

    def request(self, index: int, bytes: int | None = 0, hash: bool | None = False, nodes: int | None = 0) -> None:
        """Send ``Request(index, bytes, hash, nodes)`` (the same bytes as ``send``, encoded from the fields)."""
        if self.closed or self.local_id is None:
            return
        stream = self.stream
        if stream.destroyed:
            return
        stream.wire.send_request(self.local_id, index, bytes, hash, nodes)
        stream._keep_alive = 0
        stream._notify()

    def data(self, index: int, value: bytes | None, nodes: list, signature: bytes | None) -> None:
        """Send ``Data(index, value, nodes, signature)`` (the same bytes as ``send``, encoded from the fields)."""
        if self.closed or self.local_id is None:
            return
        stream = self.stream
        if stream.destroyed:
            return
        stream.wire.send_data(self.local_id, index, value, nodes, signature)
        stream._keep_alive = 0
        stream._notify()

    def extension(self, name: str, payload: bytes) -> bool:
        """Send extension ``name``; False (nothing sent) when it is not in our extension list."""
        if self.closed or self.local_id is None:
            return False
        ext_id = self.stream._local_ext_ids.get(name)
        if ext_id is None:
            return False
        self.stream._send(self.local_id, m.Extension(ext_id, bytes(payload)))
        return True

    def close(self) -> None:
        """Close locally (v6 has no close message); counts down ``expected_feeds``."""
        self.stream._close_channel(self, None, local=True)


def _call(handler: Any, name: str, *args: Any) -> bool:
    fn = getattr(handler, name, None)
    if fn is None:
        return False
    fn(*args)
    return True


def _size(message: Any) -> int:
    """About how many bytes a decoded message holds (its byte fields), to bound what we queue."""
    n = 16
    for field in ("value", "bitfield", "payload", "user_data"):
        v = getattr(message, field, None)
        if v is not None:
            n += len(v)
    nodes = getattr(message, "nodes", None)
    if nodes:
        n += 48 * len(nodes)
    return n


class ProtocolStream(EventEmitter):
    """A hypercore-protocol 6 stream (see the module docstring)."""

    def __init__(
        self,
        *,
        id: bytes | None = None,
        live: bool = False,
        user_data: bytes | None = None,
        extensions: Iterable[str] = (),
        ack: bool = False,
        encrypt: bool = True,
        timeout: float | None = 5.0,
        expected_feeds: int = 0,
        max_feeds: int = limits.MAX_FEEDS,
        max_queued: int = limits.MAX_QUEUED,
        many_feeds: bool = False,
        max_frame: int = MAX_FRAME,
        nonce: bytes | None = None,
        max_output: int | None = None,
        input_pool: limits.Pool | None = None,
    ) -> None:
        super().__init__()
        self.id = bytes(id) if id is not None else os.urandom(32)
        self.live = bool(live)
        self.user_data = user_data
        self.many_feeds = bool(many_feeds)
        if self.many_feeds:
            extensions = set(extensions) | {MANY_FEEDS_EXTENSION}
        self.extensions: list[str] = sorted(set(extensions))
        self._local_ext_ids = {name: i for i, name in enumerate(self.extensions)}
        self.ack = bool(ack)
        self.encrypt = encrypt
        self.timeout = timeout or 0
        self.max_feeds = max_feeds
        self.max_queued = max_queued
        self._nonce = nonce
        self._expected_feeds = expected_feeds
        self.wire = Wire(encrypt=encrypt, max_frame=max_frame)
        # budgets (protocol/limits.py), read when the stream is made so a test can lower them
        self.max_output = limits.MAX_OUTPUT if max_output is None else max_output
        self.max_queued_bytes = limits.MAX_QUEUED_BYTES
        self.slice_work = limits.SLICE_WORK
        self.handshake_ticks = limits.HANDSHAKE_TICKS
        self.frame_base_ticks = limits.FRAME_BASE_TICKS
        self.frame_bytes_per_tick = limits.FRAME_BYTES_PER_TICK
        self.output_stall_ticks = limits.OUTPUT_STALL_TICKS
        self.input_free = limits.INPUT_FREE
        self.input_pool = input_pool if input_pool is not None else limits.input_pool
        self.key: bytes | None = None
        self.discovery_key: bytes | None = None
        self.remote_id: bytes | None = None
        self.remote_live = False
        self.remote_user_data: bytes | None = None
        self.remote_ack = False
        self.remote_extensions: list[str] = []
        self.channels: list[Channel] = []  # opened locally and not closed
        self._by_dk: dict[bytes, Channel] = {}
        self._remote: dict[int, Channel] = {}
        self._local_count = 0
        self._later: list[Channel] = []  # channels past the JS limit waiting for the remote's handshake
        #: Keys of feeds refused for want of channels (see :meth:`feed`); another connection can carry them.
        self.overflow: list[bytes] = []
        self.destroyed = False
        self.finalized = False
        self.error: BaseException | None = None
        self._keep_alive = 0
        self._remote_keep_alive = 0
        self._pumping = False
        self._batch: list = []  # (handler, channel) to call on_batch_end for after this input slice
        self._events: list = []  # parsed, not dispatched yet
        self._event_pos = 0
        self._paused = False  # input left to process (held by a handler, or the slice's work is done)
        self._pump_scheduled = False
        self._holds: set = set()
        self._work = 0  # work units charged by the message being dispatched
        self._queued_bytes = 0  # on channels we have not opened
        self._borrowed = 0  # bytes of the process input pool this stream holds
        self._handshake_wait = 0  # ticks without the remote's handshake
        self._frame_ticks = 0  # ticks without a complete frame while one is incomplete
        self._frames_at_tick = 0
        self._stall_ticks = 0  # ticks with output pending that the transport did not take
        self._taken = False  # the transport took output since the last tick
        self._drained: list[Callable[[], None]] = []  # when_drained callbacks
        self._drain_scheduled = False
        self._output_listener: Callable[[], None] | None = None
        self._push: Callable[[], None] | None = None
        self._input_listener: Callable[[], None] | None = None
        #: ``schedule(fn)`` runs ``fn`` soon, after the current call returns (a transport sets its loop's
        #: ``call_soon``); None runs deferred work before the call that deferred it returns.
        self.schedule: Callable[[Callable[[], None]], Any] | None = None

    def __repr__(self) -> str:
        state = "destroyed" if self.destroyed else "open"
        return f"<ProtocolStream {self.discovery_key.hex()[:8] if self.discovery_key else '-'} {state} channels={len(self.channels)}>"

    # -- properties -----------------------------------------------------------------------------------

    @property
    def expected_feeds(self) -> int:
        """Channels to close before the stream finalizes by itself (0: never)."""
        return self._expected_feeds

    @expected_feeds.setter
    def expected_feeds(self, value: int) -> None:
        self._expected_feeds = value

    def add_expected_feeds(self, n: int) -> None:
        """Expect ``n`` more channels to close before the stream finalizes (added, never overwritten)."""
        if n < 0:
            raise ValueError("the expected channel count only grows")
        self._expected_feeds += n

    @property
    def closed(self) -> bool:
        return self.destroyed

    @property
    def channel_limit(self) -> int:
        """Channels this connection can carry, the first one included: ``max_feeds`` (256, JS's limit),
        raised to :data:`~hyperparty.protocol.limits.MAX_FEEDS_NEGOTIATED` (16 384) once the remote's
        handshake listed :data:`MANY_FEEDS_EXTENSION` and this stream was made with ``many_feeds=True``.
        Before the remote's handshake it is the lower value."""
        return self.max_feeds

    @property
    def many_feeds_negotiated(self) -> bool:
        """Whether both peers listed :data:`MANY_FEEDS_EXTENSION` (known once the remote's handshake came)."""
        return self.many_feeds and MANY_FEEDS_EXTENSION in self.remote_extensions

    def remote_supports(self, name: str) -> bool:
        """Whether both sides listed extension ``name`` in their handshakes."""
        return name in self._local_ext_ids and name in self.remote_extensions

    def has(self, key: bytes) -> bool:
        """Whether a channel for ``key`` is open locally."""
        ch = self._by_dk.get(make_discovery_key(key))
        return ch is not None and ch.opened and not ch.closed

    def channel(self, discovery_key: bytes) -> Channel | None:
        return self._by_dk.get(bytes(discovery_key))

    # -- output ----------------------------------------------------------------------------------------

    def set_output_listener(self, fn: Callable[[], None] | None) -> None:
        """``fn()`` is called whenever bytes are queued (the transport then calls :meth:`data_to_send`)."""
        self._output_listener = fn
        if fn is not None and self.wire.pending():
            fn()

    def set_push(self, fn: Callable[[], None] | None) -> None:
        """``fn()`` takes the queued output (:meth:`data_to_send`) and hands it to the connection at once,
        or does nothing when the connection's own buffer is already full.  Transports set it; see
        :meth:`push`."""
        self._push = fn

    def push(self) -> None:
        """Hand the queued output to the transport now, before a long piece of work (e.g. storing a
        received chunk after the Requests that refill the pipeline): the remote works on it meanwhile,
        instead of waiting until the current input is processed.  Does nothing without a transport hook
        (:meth:`set_push`) or output."""
        if self._push is not None and not self.destroyed and self.wire.pending():
            self._push()

    def data_to_send(self) -> bytes:
        data = self.wire.data_to_send()
        if data:
            self._taken = True
            if self._drained and not self._drain_scheduled and not self.destroyed:
                self._drain_scheduled = True
                if self.schedule is not None:
                    self.schedule(self._run_drained)
                else:
                    self._run_drained()
        return data

    def output_full(self) -> bool:
        """True when at least :attr:`max_output` bytes wait for the transport: handlers then defer work
        that would add more (serving a Request) until :meth:`when_drained` calls them back."""
        return self.wire.pending() >= self.max_output

    def when_drained(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` once, after the transport took the queued output (registered at most once)."""
        if fn not in self._drained:
            self._drained.append(fn)

    def _run_drained(self) -> None:
        self._drain_scheduled = False
        callbacks, self._drained = self._drained, []
        for fn in callbacks:
            if self.destroyed:
                return
            try:
                fn()
            except ProtocolError as exc:
                self.destroy(exc)
                return
            except Exception:
                log.exception("drain callback %r failed", fn)

    def _notify(self) -> None:
        if self._output_listener is not None:
            self._output_listener()

    def _send(self, channel_id: int, message) -> None:
        if self.destroyed:
            return
        self.wire.send(channel_id, message)
        self._keep_alive = 0
        self._notify()

    # -- channels --------------------------------------------------------------------------------------

    def feed(self, key: bytes, handler: Any = None, *, discovery_key: bytes | None = None) -> Channel | None:
        """Open (or return the already open) channel for feed ``key``; None if the stream is destroyed."""
        if self.destroyed:
            return None
        key = bytes(key)
        dk = bytes(discovery_key) if discovery_key is not None else make_discovery_key(key)
        ch = self._by_dk.get(dk)
        if ch is not None and ch.opened and not ch.closed:
            if handler is not None and ch.handler is None:
                ch.handler = handler
            return ch
        if self._local_count >= self.max_feeds:
            if self.many_feeds and self.remote_id is None:
                return self._open_later(key, dk, ch, handler)
            self._refuse(key)
            return None
        if ch is None or ch.closed:
            ch = Channel(self, dk)
            self._by_dk[dk] = ch
        ch.key = key
        ch.handler = handler
        ch.local_id = self._local_count
        self._local_count += 1
        self.channels.append(ch)
        _call(handler, "on_open", ch)
        try:
            if self.key is None:
                self.key = key
                self.discovery_key = dk
                nonce = self._nonce if self._nonce is not None else os.urandom(24)
                self.wire.start(key, dk, nonce if self.encrypt else None)
                self.wire.send(ch.local_id, m.Handshake(self.id, self.live, self.user_data, list(self.extensions), self.ack))
                self._keep_alive = 0
                self._notify()
            else:
                self._send(ch.local_id, m.Feed(dk))
        except ProtocolError as exc:
            self.destroy(exc)
            return None
        if self.remote_id is not None:
            _call(handler, "on_handshake", ch)
        if ch._queue:
            # like JS, messages that arrived before we opened the channel are delivered on the next tick,
            # after the caller of feed() finished setting up
            if self.schedule is not None:
                self.schedule(lambda: self._flush_queue(ch))
            else:
                self._flush_queue(ch)
        if self.wire.unparsed:
            self._resume_parsing()
        return ch

    def _open_later(self, key: bytes, dk: bytes, ch: Channel | None, handler: Any) -> Channel:
        """A channel past the JS limit before the remote's handshake said whether it takes more: opened
        when the handshake comes (both list :data:`MANY_FEEDS_EXTENSION`), else refused (``overflow``)."""
        if ch is None or ch.closed:
            ch = Channel(self, dk)
            self._by_dk[dk] = ch
        ch.key = key
        if ch.handler is None or handler is not None:
            ch.handler = handler
        if ch not in self._later:
            self._later.append(ch)
        return ch

    def _refuse(self, key: bytes) -> None:
        """No room for one more channel on this connection: the feed is left out — reported in
        :attr:`overflow` and by the ``overflow`` event (another connection can carry it) — and the
        connection goes on with the others (JS destroys the whole stream).  A counted stream stops
        waiting for that channel."""
        self.overflow.append(key)
        log.debug("%r: no room for another channel (%d open), feed %s left out", self, self._local_count,
                  key.hex()[:16])
        self.emit("overflow", key)
        if self._expected_feeds > 0 and not self.destroyed:
            self._expected_feeds -= 1
            if self._expected_feeds == 0:
                self._prefinalize()

    def _open_deferred(self) -> None:
        """After the remote's handshake: open (or refuse) the channels held back by :meth:`_open_later`."""
        later, self._later = self._later, []
        for ch in later:
            if self.destroyed:
                return
            if ch.closed or ch.opened or ch.key is None:
                continue
            self.feed(ch.key, ch.handler, discovery_key=ch.discovery_key)

    def _flush_queue(self, ch: Channel) -> None:
        queued = ch._queue or []
        self._release_queued(ch)
        on_message = getattr(ch.handler, "on_message", None)
        k = 0
        while k < len(queued):  # the list may grow while we deliver
            message = queued[k]
            k += 1
            if ch.closed or self.destroyed:
                return
            if on_message is None:
                continue
            try:
                self._deliver(ch, on_message, ch, message)
            except ProtocolError as exc:
                self.destroy(exc)
                return
        ch._queue = None
        on_batch_end = getattr(ch.handler, "on_batch_end", None)
        if queued and on_batch_end is not None and not ch.closed and not self.destroyed:
            try:
                self._deliver(ch, on_batch_end, ch)  # these messages were one batch too
            except ProtocolError as exc:
                self.destroy(exc)

    def _release_queued(self, ch: Channel) -> None:
        self._queued_bytes -= ch._queued_bytes
        ch._queued_bytes = 0

    def _close_channel(self, ch: Channel, error: BaseException | None, local: bool) -> None:
        if ch.closed:
            return
        ch.closed = True
        self._release_queued(ch)
        if ch in self.channels:
            self.channels.remove(ch)
        if self._by_dk.get(ch.discovery_key) is ch:
            del self._by_dk[ch.discovery_key]
        if not local and ch.remote_id is not None and self._remote.get(ch.remote_id) is ch:
            # (closed here: the remote's id stays mapped, so what it sent before it learns of the close
            # is ignored rather than taken for a message on an unknown channel, as JS does)
            del self._remote[ch.remote_id]
        if ch.handler is not None:
            try:
                _call(ch.handler, "on_close", ch, error)
            except Exception:
                log.exception("channel close handler failed")
        if local and ch.local_id is not None and self._expected_feeds > 0 and not self.destroyed:
            self._expected_feeds -= 1
            if self._expected_feeds == 0:
                self._prefinalize()

    def _prefinalize(self) -> None:
        waiting = self.listener_count("prefinalize")
        if waiting == 0:
            self.finalize()
            return
        pending = [waiting]

        def done(error: BaseException | None = None) -> None:
            if error is not None:
                self.destroy(error)
                return
            pending[0] -= 1
            if pending[0] == 0 and self._expected_feeds == 0:
                self.finalize()

        self.emit("prefinalize", done)

    # -- input -----------------------------------------------------------------------------------------

    def set_input_listener(self, fn: Callable[[], None] | None) -> None:
        """``fn()`` is called when :attr:`wants_input` may have become true again (or the stream ended)."""
        self._input_listener = fn

    @property
    def wants_input(self) -> bool:
        """Whether a transport should read more now.

        False while earlier input waits to be processed (a handler holds the input — e.g. a replication
        peer with too many Requests deferred until our output drains — or the work of one slice is done),
        or while this stream's partial frame would need more of the process input pool than is free (see
        :mod:`~hyperparty.protocol.limits`).
        """
        if self.destroyed or self._paused:
            return False
        if self.wire.buffered >= self.input_free and not self.input_pool.available():
            self.input_pool.wait(self._wake_input)
            return False
        return True

    def read_size(self, preferred: int) -> int:
        """How many bytes a transport should ask for in its next read: ``preferred`` while this stream
        holds less than its free input share, then small reads (each one checked against the pool)."""
        room = self.input_free - self.wire.buffered
        return preferred if room >= preferred else max(room, limits.MIN_READ)

    def _wake_input(self) -> None:
        if self._input_listener is not None:
            self._input_listener()

    def pause_input(self, holder: Any) -> None:
        """Stop processing input until :meth:`resume_input` with the same ``holder`` (backpressure from a
        handler: e.g. a party peer with too many rule hooks running).  Nothing already received is lost."""
        self._holds.add(holder)

    def resume_input(self, holder: Any) -> None:
        if holder in self._holds:
            self._holds.discard(holder)
            if not self._holds and self._paused and not self.destroyed:
                self._schedule_pump()

    def charge(self, units: int) -> None:
        """A handler tells the stream the message it is handling cost ``units`` more work (a message costs
        1): the slice yields to the loop sooner.  See :data:`~hyperparty.protocol.limits.SLICE_WORK`."""
        if units > 0:
            self._work += units

    def receive(self, data) -> None:
        """Bytes from the remote.  Protocol violations destroy the stream (they never raise here).

        Messages are dispatched until the input is exhausted, a handler holds the input, or a slice of
        work is done (the rest is then continued through :attr:`schedule`); meanwhile
        :attr:`wants_input` is false and the bytes stay buffered here.
        """
        if self.destroyed:
            return
        self._remote_keep_alive = 0
        try:
            self.wire.feed_data(data)
        except ProtocolError as exc:
            self.destroy(exc)
            return
        self._pump()

    def _resume_parsing(self) -> None:
        self._pump()

    def _schedule_pump(self) -> None:
        if self.schedule is None:
            self._pump()
            return
        if not self._pump_scheduled:
            self._pump_scheduled = True
            self.schedule(self._scheduled_pump)

    def _scheduled_pump(self) -> None:
        self._pump_scheduled = False
        self._pump()

    def _pump(self) -> None:
        if self._pumping or self.destroyed:
            return  # the running pump goes on with whatever arrived meanwhile
        was_paused = self._paused
        self._pumping = True
        try:
            self._pump_slice()
        finally:
            self._pumping = False
            batch = self._batch
            if batch:
                self._batch = []
                for handler, ch in batch:
                    if not ch.closed and not self.destroyed:
                        try:
                            self._deliver(ch, handler.on_batch_end, ch)
                        except ProtocolError as exc:
                            self.destroy(exc)
        self._account_input()
        if was_paused and not self._paused and self._input_listener is not None:
            self._input_listener()

    def _pump_slice(self) -> None:
        work = 0
        events = self._events
        pos = self._event_pos
        while not self.destroyed:
            if self._holds:
                self._paused = True
                break
            if work >= self.slice_work:
                if self.schedule is not None:
                    self._paused = True
                    if not self._pump_scheduled:
                        self._pump_scheduled = True
                        self.schedule(self._scheduled_pump)
                    break
                work = 0  # nobody to yield to (sans-IO use without a loop): go on
            if pos >= len(events):
                try:
                    events = self.wire.next_events(limits.PARSE_BATCH)
                except ProtocolError as exc:
                    self.destroy(exc)
                    break
                pos = 0
                if not events:
                    self._paused = False
                    break
            channel_id, type_, msg = events[pos]
            pos += 1
            self._work = 1
            try:
                self._dispatch(channel_id, type_, msg)
            except ProtocolError as exc:
                self.destroy(exc)
                break
            work += self._work
        self._events = events if pos < len(events) else []
        self._event_pos = pos if pos < len(events) else 0

    def _account_input(self) -> None:
        """Tell the process input pool what we hold beyond our free share."""
        excess = 0 if self.destroyed else max(0, self.wire.buffered - self.input_free)
        if excess != self._borrowed:
            self._borrowed = excess
            self.input_pool.hold(self, excess)

    def _deliver(self, ch: Channel, fn: Callable[..., Any], *args: Any) -> None:
        """Call a channel handler method; a bug in it ends that channel (logged), never the stream.

        A :class:`ProtocolError` it raises still destroys the stream (the remote broke the protocol).
        """
        try:
            fn(*args)
        except ProtocolError:
            raise
        except Exception as exc:
            self._handler_failed(ch, fn, exc)

    def _handler_failed(self, ch: Channel, fn: Callable[..., Any], exc: Exception) -> None:
        log.exception("channel %s: handler %s failed; closing the channel", ch.discovery_key.hex()[:8],
                      getattr(fn, "__qualname__", fn), exc_info=exc)
        self._close_channel(ch, exc, local=True)

    def receive_eof(self) -> None:
        """The remote ended its side: finalize (JS: ``finish`` -> ``finalize``)."""
        self.finalize()

    def _dispatch(self, channel_id: int, type_: int, msg) -> None:
        if type_ == KEEP_ALIVE:
            return
        if type_ == 0:
            self._on_feed(channel_id, msg)
            return
        ch = self._remote.get(channel_id)
        if ch is None:
            raise InvalidFeedMessage()
        if type_ == 1:
            self._on_handshake(msg)
            return
        if ch.closed:
            return
        if type_ == 15:
            self._on_extension(ch, msg)
            return
        if type_ > 9:
            return
        if ch.local_id is None:
            queue = ch._queue
            if queue is None:
                queue = ch._queue = []
            if len(queue) > self.max_queued:
                raise TooManyQueued()
            size = _size(msg)
            if self._queued_bytes + size > self.max_queued_bytes:
                raise TooManyQueued(f"Remote queued more than {self.max_queued_bytes} bytes on unopened feeds")
            self._queued_bytes += size
            ch._queued_bytes += size
            queue.append(msg)
            return
        if ch._queue is not None:  # opened, earlier messages not delivered yet: keep the order
            ch._queue.append(msg)
            return
        handler = ch.handler
        if handler is not None:
            methods = ch._methods
            if methods[0] is not handler:
                methods = ch._methods = (handler, getattr(handler, "on_message", None),
                                         getattr(handler, "on_batch_end", None))
            on_message = methods[1]
            if on_message is not None:
                try:  # _deliver, inlined on the per-message path
                    on_message(ch, msg)
                except ProtocolError:
                    raise
                except Exception as exc:
                    self._handler_failed(ch, on_message, exc)
            if methods[2] is not None and (handler, ch) not in self._batch:
                self._batch.append((handler, ch))

    def _on_feed(self, channel_id: int, msg: m.Feed) -> None:
        if channel_id >= self.max_feeds:
            raise TooManyFeeds(self.max_feeds)
        old = self._remote.get(channel_id)
        if old is not None:
            self._close_channel(old, None, local=False)
        dk = msg.discovery_key
        ch = self._by_dk.get(dk)
        if ch is None:
            if len(self._by_dk) >= 2 * self.max_feeds:
                raise TooManyFeeds(self.max_feeds)
            ch = Channel(self, dk)
            self._by_dk[dk] = ch
        elif ch.remote_id is not None and self._remote.get(ch.remote_id) is ch:
            del self._remote[ch.remote_id]
        ch.remote_id = channel_id
        self._remote[channel_id] = ch
        self.emit("feed", dk)

    def _on_handshake(self, msg: m.Handshake) -> None:
        if self.remote_id is not None:
            return
        self.remote_id = msg.id if msg.id is not None else os.urandom(32)
        self.remote_live = bool(msg.live)
        self.remote_user_data = msg.user_data
        self.remote_ack = bool(msg.ack)
        self.remote_extensions = list(msg.extensions)
        if self.many_feeds_negotiated:
            self.max_feeds = max(self.max_feeds, limits.MAX_FEEDS_NEGOTIATED)
        self.emit("handshake")
        for ch in list(self.channels):
            if self.destroyed:
                return
            fn = getattr(ch.handler, "on_handshake", None)
            if fn is not None and not ch.closed:
                self._deliver(ch, fn, ch)
        if self._later and not self.destroyed:
            self._open_deferred()

    def _on_extension(self, ch: Channel, msg: m.Extension) -> None:
        if ch.local_id is None:
            return
        ext_id = msg.id
        if not 0 <= ext_id < len(self.remote_extensions):
            return
        name = self.remote_extensions[ext_id]
        if name not in self._local_ext_ids:
            return
        fn = getattr(ch.handler, "on_extension", None)
        if fn is None:
            self.emit("extension", ch, name, msg.payload)
        else:
            self._deliver(ch, fn, ch, name, msg.payload)

    # -- clock -----------------------------------------------------------------------------------------

    def tick(self) -> None:
        """One keep-alive timer step (every ``timeout / 4`` s): deadlines, channel ticks, pings.

        Deadlines (:mod:`~hyperparty.protocol.limits`): the remote must be heard within 5 ticks while we
        read it (JS), send its handshake within ``HANDSHAKE_TICKS``, complete a frame it started within
        ``FRAME_BASE_TICKS`` + 1 tick per ``FRAME_BYTES_PER_TICK`` of it, and take our output: when it
        was over its budget and the transport took none of it for ``OUTPUT_STALL_TICKS``, the remote
        stopped reading.
        """
        if self.destroyed:
            return
        if self.output_full() and not self._taken:
            self._stall_ticks += 1
            if self._stall_ticks > self.output_stall_ticks:
                self.destroy(RemoteStoppedReading())
                return
        else:
            self._stall_ticks = 0
        self._taken = False
        if self._remote_keep_alive > 4:
            self.destroy(RemoteTimeout())
            return
        if self.remote_id is None:
            self._handshake_wait += 1
            if self._handshake_wait > self.handshake_ticks:
                self.destroy(HandshakeTimeout())
                return
        wire = self.wire
        if not self._paused and wire.unparsed and wire.frames_parsed == self._frames_at_tick:
            self._frame_ticks += 1
            if self._frame_ticks > self.frame_base_ticks + wire.partial_length // self.frame_bytes_per_tick:
                self.destroy(FrameTimeout(wire.partial_length, wire.unparsed))
                return
        else:
            self._frame_ticks = 0
        self._frames_at_tick = wire.frames_parsed
        for ch in list(self.channels):
            if self.destroyed:
                return
            fn = getattr(ch.handler, "on_tick", None)
            if fn is not None and not ch.closed:
                try:
                    self._deliver(ch, fn, ch)
                except ProtocolError as exc:
                    self.destroy(exc)
                    return
        if not self._holds and not (self._borrowed and not self.input_pool.available()):
            # while we hold the input back, the remote's pings wait in its socket: not its fault
            self._remote_keep_alive += 1
        if self._keep_alive > 2:
            self._keep_alive = 0
            if self.key is not None and not self.destroyed:
                self.wire.send_ping()
                self._notify()
        else:
            self._keep_alive += 1

    # -- ending ----------------------------------------------------------------------------------------

    def _close_all(self, error: BaseException | None) -> None:
        for ch in list(self._by_dk.values()) + list(self.channels):
            self._close_channel(ch, error, local=False)
        self._remote.clear()

    def finalize(self) -> None:
        """End gracefully: close every channel; the transport flushes and sends EOF."""
        if self.destroyed:
            return
        self.destroyed = True
        self.finalized = True
        self._close_all(None)
        self._release_input()
        self.emit("end")
        self._notify()
        self._emit_close(None)

    def destroy(self, error: BaseException | None = None) -> None:
        """Abort: close every channel with ``error``; the transport drops the connection."""
        if self.destroyed:
            return
        self.destroyed = True
        self.error = error
        self._close_all(error)
        self._release_input()
        if error is not None:
            self.emit("error", error)
        self._notify()
        self._emit_close(error)

    def _release_input(self) -> None:
        self._drained = []
        self._events = []
        self._event_pos = 0
        self._account_input()
        self.input_pool.cancel(self._wake_input)
        if self._input_listener is not None:
            self._input_listener()

    def _emit_close(self, error: BaseException | None) -> None:
        self.emit("close", error)
