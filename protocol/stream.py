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
from . import messages as m
from .errors import (
    InvalidFeedMessage,
    ProtocolError,
    RemoteTimeout,
    TooManyFeeds,
    TooManyQueued,
)
from .wire import KEEP_ALIVE, MAX_FRAME, Wire

__all__ = ["ProtocolStream", "Channel"]

log = logging.getLogger(__name__)


class Channel:
    """One feed's channel on a stream (matched with the remote's by discovery key)."""

    __slots__ = ("stream", "key", "discovery_key", "local_id", "remote_id", "handler", "closed", "_queue", "__weakref__")

    def __init__(self, stream: "ProtocolStream", discovery_key: bytes) -> None:
        self.stream = stream
        self.discovery_key = discovery_key
        self.key: bytes | None = None
        self.local_id: int | None = None
        self.remote_id: int | None = None
        self.handler: Any = None
        self.closed = False
        self._queue: list | None = None

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

    def request(self, index: int, bytes: int = 0, hash: bool = False, nodes: int = 0) -> None:
        self.send(m.Request(index, bytes, hash, nodes))

    def data(self, index: int, value: bytes | None, nodes: list, signature: bytes | None) -> None:
        self.send(m.Data(index, value, nodes, signature))

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
        max_feeds: int = 256,
        max_queued: int = 16,
        max_frame: int = MAX_FRAME,
        nonce: bytes | None = None,
    ) -> None:
        super().__init__()
        self.id = bytes(id) if id is not None else os.urandom(32)
        self.live = bool(live)
        self.user_data = user_data
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
        self.destroyed = False
        self.finalized = False
        self.error: BaseException | None = None
        self._keep_alive = 0
        self._remote_keep_alive = 0
        self._processing = False
        self._batch: list = []  # (handler, channel) to call on_batch_end for after this input chunk
        self._resume = False
        self._output_listener: Callable[[], None] | None = None
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

    def data_to_send(self) -> bytes:
        return self.wire.data_to_send()

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
            self.destroy(TooManyFeeds(self.max_feeds))
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

    def _flush_queue(self, ch: Channel) -> None:
        queued = ch._queue or []
        k = 0
        while k < len(queued):  # the list may grow while we deliver
            message = queued[k]
            k += 1
            if ch.closed or self.destroyed:
                return
            try:
                _call(ch.handler, "on_message", ch, message)
            except ProtocolError as exc:
                self.destroy(exc)
                return
        ch._queue = None
        if queued and not ch.closed and not self.destroyed:
            _call(ch.handler, "on_batch_end", ch)  # these messages were one batch too

    def _close_channel(self, ch: Channel, error: BaseException | None, local: bool) -> None:
        if ch.closed:
            return
        ch.closed = True
        if ch in self.channels:
            self.channels.remove(ch)
        if self._by_dk.get(ch.discovery_key) is ch:
            del self._by_dk[ch.discovery_key]
        if ch.remote_id is not None and self._remote.get(ch.remote_id) is ch:
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

    def receive(self, data) -> None:
        """Bytes from the remote.  Protocol violations destroy the stream (they never raise here)."""
        if self.destroyed:
            return
        self._remote_keep_alive = 0
        try:
            events = self.wire.receive_data(data)
        except ProtocolError as exc:
            self.destroy(exc)
            return
        self._process(events)

    def _resume_parsing(self) -> None:
        if self._processing:
            self._resume = True
            return
        try:
            events = self.wire.receive_data(b"")
        except ProtocolError as exc:
            self.destroy(exc)
            return
        self._process(events)

    def _process(self, events: list) -> None:
        self._processing = True
        try:
            self._process_events(events)
        finally:
            self._processing = False
            batch = self._batch
            if batch:
                self._batch = []
                for handler, ch in batch:
                    if not ch.closed and not self.destroyed:
                        handler.on_batch_end(ch)

    def _process_events(self, events: list) -> None:
        while True:
            for channel_id, type_, msg in events:
                if self.destroyed:
                    return
                try:
                    self._dispatch(channel_id, type_, msg)
                except ProtocolError as exc:
                    self.destroy(exc)
                    return
            if not self._resume or self.destroyed:
                return
            self._resume = False
            try:
                events = self.wire.receive_data(b"")
            except ProtocolError as exc:
                self.destroy(exc)
                return

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
            queue.append(msg)
            return
        if ch._queue is not None:  # opened, earlier messages not delivered yet: keep the order
            ch._queue.append(msg)
            return
        handler = ch.handler
        if handler is not None:
            on_message = getattr(handler, "on_message", None)
            if on_message is not None:
                on_message(ch, msg)
            if getattr(handler, "on_batch_end", None) is not None and (handler, ch) not in self._batch:
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
        self.emit("handshake")
        for ch in list(self.channels):
            if self.destroyed:
                return
            _call(ch.handler, "on_handshake", ch)

    def _on_extension(self, ch: Channel, msg: m.Extension) -> None:
        if ch.local_id is None:
            return
        ext_id = msg.id
        if not 0 <= ext_id < len(self.remote_extensions):
            return
        name = self.remote_extensions[ext_id]
        if name not in self._local_ext_ids:
            return
        if not _call(ch.handler, "on_extension", ch, name, msg.payload):
            self.emit("extension", ch, name, msg.payload)

    # -- clock -----------------------------------------------------------------------------------------

    def tick(self) -> None:
        """One keep-alive timer step (every ``timeout / 4`` s): timeouts, channel ticks, pings."""
        if self.destroyed:
            return
        if self._remote_keep_alive > 4:
            self.destroy(RemoteTimeout())
            return
        for ch in list(self.channels):
            if self.destroyed:
                return
            _call(ch.handler, "on_tick", ch)
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
        if error is not None:
            self.emit("error", error)
        self._notify()
        self._emit_close(error)

    def _emit_close(self, error: BaseException | None) -> None:
        self.emit("close", error)
