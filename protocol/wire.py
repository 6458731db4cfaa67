"""Sans-IO framing and encryption of hypercore-protocol 6 (bytes in, decoded messages out).

``Wire`` knows nothing of sockets, channels or feeds.  It turns outgoing messages into frames
(``varint(len) ‖ varint(channel << 4 | type) ‖ payload``), XORs everything after the sender's first Feed
frame with the sender's XSalsa20 stream, and turns incoming bytes back into ``(channel, type, message)``
tuples, decrypting from the byte after the remote's first (plaintext) Feed frame.

Incoming rules (hypercore-protocol 6.12.0):

* a frame length above ``max_frame`` (8 MiB) or a length varint longer than 4 bytes: :class:`MessageTooLarge`;
* zero-length frames are keep-alives (a run of them is skipped at once); bodies shorter than 2 bytes are
  ignored;
* until the remote's Handshake frame was parsed, frames may be at most ``max_frame_before_handshake``
  (64 KiB, :mod:`~hyperparty.protocol.limits`) long: :class:`MessageTooLarge`;
* an undecodable header varint: :class:`InvalidHeader`;
* the first frame must be a Feed, with a 32-byte discovery key and (when encrypting) a 24-byte nonce;
  later Feeds must have 32-byte keys: :class:`InvalidFeedMessage` / :class:`MissingNonce`;
* the first discovery keys of both sides must match when encrypting: :class:`FirstFeedMismatch`;
* until the local side knows the key (``start`` was called), parsing stops after the remote's first
  frame and later bytes are buffered, at most ``max_before_key`` of them (:class:`BufferLimitExceeded`).

Parsing can be done in steps: :meth:`Wire.feed_data` takes bytes, :meth:`Wire.next_events` parses at
most ``limit`` frames, so a stream can stop between frames (backpressure) without losing any.

Undecodable payloads of types 1..9 and types 10..14 are dropped, like JS does.
"""

from __future__ import annotations

import re

from . import limits, messages
from .cipher import XSalsa20
from .errors import (
    BufferLimitExceeded,
    FirstFeedMismatch,
    InvalidFeedMessage,
    InvalidHeader,
    MessageTooLarge,
    MissingNonce,
)
from .messages import Feed, MessageError
from ..varint import VarintError, encode_into
from ..varint import decode as _varint
from .data_codec import encode_data_into as _encode_data_into
from .data_codec import encode_request_into as _encode_request_into

__all__ = ["Wire", "MAX_FRAME", "KEEP_ALIVE"]

MAX_FRAME = limits.MAX_FRAME
KEEP_ALIVE = -1  # pseudo type reported for zero-length frames

_decode = messages.decode
_decode_data = messages.decode_data_payload
_decode_request = messages.decode_request_payload
_NONZERO = re.compile(rb"[^\x00]")


class Wire:
    """Frame codec + stream cipher for one connection."""

    def __init__(
        self,
        *,
        encrypt: bool = True,
        max_frame: int = MAX_FRAME,
        max_buffer: int | None = None,
        max_frame_before_handshake: int | None = None,
        max_before_key: int | None = None,
    ) -> None:
        self.encrypt = encrypt
        self.max_frame = max_frame
        self.max_buffer = max_buffer if max_buffer is not None else 2 * max_frame + 65536
        self.max_frame_before_handshake = min(
            max_frame, limits.MAX_FRAME_BEFORE_HANDSHAKE if max_frame_before_handshake is None
            else max_frame_before_handshake)
        self.max_before_key = limits.MAX_INPUT_BEFORE_KEY if max_before_key is None else max_before_key
        #: True once a Handshake frame was parsed (frames may then be ``max_frame`` long).
        self.handshake_seen = False
        #: Complete frames parsed so far (keep-alive runs count once): progress, for the frame deadline.
        self.frames_parsed = 0
        #: Announced length of the incomplete frame at the parse position (0: none or not known yet).
        self.partial_length = 0
        self.key: bytes | None = None
        self.discovery_key: bytes | None = None
        self.nonce: bytes | None = None
        self.remote_discovery_key: bytes | None = None
        self.remote_nonce: bytes | None = None
        self._tx: XSalsa20 | None = None
        self._rx: XSalsa20 | None = None
        self._out = bytearray()
        self._plain = bytearray()  # frames queued after the first, not encrypted yet
        self._buf = bytearray()  # plaintext waiting to be parsed
        self._pos = 0
        self._raw = bytearray()  # ciphertext held while we cannot decrypt yet
        self._first_seen = False  # parsed the remote's first frame
        self.bytes_received = 0
        self.bytes_sent = 0

    # -- sending ------------------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return self.key is not None

    def start(self, key: bytes, discovery_key: bytes, nonce: bytes | None) -> None:
        """Send the first Feed frame (plaintext, carrying ``nonce`` when encrypting) and start the ciphers."""
        if self.key is not None:
            raise RuntimeError("the wire already has its key")
        if self.remote_discovery_key is not None and self.encrypt and self.remote_discovery_key != discovery_key:
            raise FirstFeedMismatch()
        self.key = bytes(key)
        self.discovery_key = bytes(discovery_key)
        self._frame(0, Feed(self.discovery_key, nonce if self.encrypt else None), plaintext=True)
        if self.encrypt:
            if nonce is None or len(nonce) != 24:
                raise ValueError("an encrypted stream needs a 24-byte nonce")
            self.nonce = bytes(nonce)
            self._tx = XSalsa20(self.key, self.nonce)
            if self.remote_nonce is not None:
                self._start_rx()

    def send(self, channel: int, message) -> None:
        """Queue one message on ``channel`` (encrypted once the wire has started)."""
        self._frame(channel, message)

    def send_request(self, channel: int, index: int, bytes_: int | None, hash_: bool | None, nodes: int | None) -> None:
        """Queue ``Request(index, bytes_, hash_, nodes)`` on ``channel`` (a fetcher sends one per block).

        Once the cipher runs, the whole frame is encoded straight from the fields into the send buffer by
        :func:`.data_codec.encode_request_into`, byte for byte what the generic encoder writes (a property
        test checks it); :meth:`send` of a Request comes here too."""
        if self._tx is None:
            self._frame(channel, messages.Request(index, bytes_, hash_, nodes))
            return
        plain = self._plain
        before = len(plain)
        _encode_request_into(plain, (channel << 4) | 7, index, bytes_, None if hash_ is None else bool(hash_), nodes)
        self.bytes_sent += len(plain) - before

    def send_data(self, channel: int, index: int, value: bytes | None, nodes: list, signature: bytes | None) -> None:
        """Queue ``Data(index, value, nodes, signature)`` on ``channel`` (an uploader sends one per block).

        Once the cipher runs, the whole frame — ``varint(length) varint(header)`` and the payload — is
        encoded straight from the fields into the send buffer by :func:`.data_codec.encode_data_into` (the
        block's bytes are copied once), byte for byte what the generic encoder writes (a property test
        checks it); :meth:`send` of a Data comes here too."""
        if self._tx is None:
            self._frame(channel, messages.Data(index, value, nodes, signature))
            return
        plain = self._plain
        before = len(plain)
        _encode_data_into(plain, (channel << 4) | 9, index, value, nodes, signature)
        self.bytes_sent += len(plain) - before

    def send_ping(self) -> None:
        """Queue a keep-alive (a zero-length frame: one ``0x00`` byte, encrypted)."""
        if self.key is None:
            return
        self._emit(b"\x00")

    def _frame(self, channel: int, message, plaintext: bool = False) -> None:
        if self._tx is not None:
            t = message.TYPE
            if t == 9:
                self.send_data(channel, message.index, message.value, message.nodes, message.signature)
                return
            if t == 7:
                self.send_request(channel, message.index, message.bytes, message.hash, message.nodes)
                return
        body = bytearray()
        encode_into(body, (channel << 4) | message.TYPE)
        message.encode_into(body)
        frame = bytearray()
        encode_into(frame, len(body))
        frame += body
        if plaintext:
            self._out += frame
            self.bytes_sent += len(frame)
        else:
            self._emit(frame)

    def _emit(self, frame) -> None:
        # frames after the first are encrypted lazily, all at once in data_to_send(): one cipher call per
        # transport write instead of one per frame (the key stream is continuous, so this is the same)
        if self._tx is not None:
            self._plain += frame
        else:
            self._out += frame
        self.bytes_sent += len(frame)

    def pending(self) -> int:
        """Bytes queued for sending."""
        return len(self._out) + len(self._plain)

    def data_to_send(self) -> bytes:
        """Take everything queued for the transport (encrypting what needs it)."""
        if self._plain:
            assert self._tx is not None  # frames are held back in _plain only once the cipher exists
            sealed = self._tx.xor(self._plain)
            self._plain.clear()
            if not self._out:
                return bytes(sealed)  # the usual case: no plaintext queued before, no extra copy
            self._out += sealed
        out = bytes(self._out)
        self._out.clear()
        return out

    # -- receiving ----------------------------------------------------------------------------------

    def _start_rx(self) -> None:
        assert self.key is not None and self.remote_nonce is not None
        self._rx = XSalsa20(self.key, self.remote_nonce)
        if self._raw:
            raw = bytes(self._raw)
            self._raw.clear()
            self._append_plain(self._rx.xor(raw))

    def _append_plain(self, data) -> None:
        buf = self._buf
        if self._pos and self._pos >= len(buf) // 2:
            del buf[: self._pos]
            self._pos = 0
        buf += data
        if len(buf) - self._pos > self.max_buffer:
            raise BufferLimitExceeded(f"more than {self.max_buffer} bytes buffered")

    def _hold_raw(self, data) -> None:
        self._raw += data
        if len(self._raw) > self.max_before_key:
            raise BufferLimitExceeded(f"more than {self.max_before_key} bytes received before the key was known")

    @property
    def unparsed(self) -> int:
        """Decrypted bytes not parsed yet (after :meth:`start` released held-back input)."""
        return len(self._buf) - self._pos

    @property
    def buffered(self) -> int:
        """Every received byte still held: not parsed yet, or held back until the key is known."""
        return len(self._buf) - self._pos + len(self._raw)

    @property
    def waiting_for_key(self) -> bool:
        """True when bytes are held back until :meth:`start` gives the key."""
        return self.encrypt and self._first_seen and self._rx is None

    def receive_data(self, data, limit: int | None = None) -> list:
        """Feed received bytes; returns the complete messages as ``(channel, type, message)`` tuples.

        ``message`` is a dataclass from :mod:`messages`, or None for a keep-alive (type
        :data:`KEEP_ALIVE`; a run of them is reported once).  Frames whose payload does not decode are
        dropped.  At most ``limit`` frames are parsed (the rest stays buffered for the next call).
        Raises a :class:`~hyperparty.protocol.errors.ProtocolError` for fatal violations.
        """
        self.feed_data(data)
        return self._parse(limit)

    def feed_data(self, data) -> None:
        """Take received bytes without parsing them (see :meth:`next_events`)."""
        if not data:
            return
        self.bytes_received += len(data)
        if not self._first_seen or not self.encrypt:
            self._append_plain(data)
        elif self._rx is not None:
            self._append_plain(self._rx.xor(data))
        else:
            self._hold_raw(data)

    def next_events(self, limit: int | None = None) -> list:
        """Parse at most ``limit`` buffered frames (all when None); see :meth:`receive_data`."""
        return self._parse(limit)

    def _parse(self, limit: int | None = None) -> list:
        out: list = []
        buf = self._buf
        pos = self._pos
        end = len(buf)
        frames = 0
        if limit is None:
            limit = end + 1  # never reached: each frame takes at least one byte
        self.partial_length = 0
        try:
            while pos < end and frames < limit:
                # frames before the remote's handshake are small (a Feed, the Handshake itself)
                max_frame = self.max_frame if self.handshake_seen else self.max_frame_before_handshake
                # frame length: at most 4 varint bytes
                b = buf[pos]
                if b == 0:
                    # a run of keep-alives (zero-length frames) is skipped at C speed and reported once
                    found = _NONZERO.search(buf, pos)
                    pos = found.start() if found is not None else end
                    frames += 1
                    out.append((0, KEEP_ALIVE, None))
                    continue
                if b < 0x80:
                    length = b
                    p = pos + 1
                else:
                    length = 0
                    shift = 0
                    p = pos
                    while True:
                        if p >= end:
                            self.partial_length = 0
                            return out
                        if p - pos >= 4:
                            raise MessageTooLarge()
                        b = buf[p]
                        p += 1
                        length |= (b & 0x7F) << shift
                        if b < 0x80:
                            break
                        shift += 7
                if length > max_frame:
                    if max_frame < self.max_frame:
                        raise MessageTooLarge(f"Remote message of {length} bytes before its handshake "
                                              f"(at most {max_frame} allowed)")
                    raise MessageTooLarge()
                if p + length > end:
                    self.partial_length = length
                    break
                pos = p + length
                frames += 1
                if length < 2:
                    continue
                header = buf[p]
                if header < 0x80:  # channels 0..7: a one-byte header, read without a view
                    hp = p + 1
                else:
                    body = memoryview(buf)[p:pos]
                    try:
                        header, n = _varint(body, 0)
                    except VarintError:
                        raise InvalidHeader() from None
                    finally:
                        body.release()
                    hp = p + n
                channel = header >> 4
                type_ = header & 15
                if type_ == 1:
                    self.handshake_seen = True
                if (type_ == 9 or type_ == 7) and self._first_seen:
                    # Data and Request, one per block: the payload copied once into bytes for the
                    # one-pass decoders
                    with memoryview(buf) as view:
                        payload = bytes(view[hp:pos])
                    block_msg = _decode_data(payload) if type_ == 9 else _decode_request(payload)
                    if block_msg is not None:
                        out.append((channel, type_, block_msg))
                    continue
                body = memoryview(buf)[hp:pos]
                if not self._first_seen:
                    try:
                        msg = self._first_frame(channel, type_, body)
                    finally:
                        body.release()
                    out.append((channel, 0, msg))
                    if self.encrypt:
                        rest = bytes(buf[pos:])
                        del buf[:]
                        pos = 0
                        if self._rx is None:
                            self._hold_raw(rest)
                            return out
                        buf += self._rx.xor(rest)
                        end = len(buf)
                    continue
                try:
                    if type_ == 0:
                        msg = self._feed(body)
                    else:
                        msg = _decode(type_, body)
                finally:
                    body.release()
                if msg is not None:
                    out.append((channel, type_, msg))
        finally:
            self.frames_parsed += frames
            self._pos = pos
        if pos and pos == len(buf):
            buf.clear()
            self._pos = 0
        return out

    def _feed(self, payload) -> Feed:
        try:
            msg = _decode(0, payload)
        except MessageError:
            raise InvalidFeedMessage() from None
        if len(msg.discovery_key) != 32 or (msg.nonce is not None and len(msg.nonce) != 24):
            raise InvalidFeedMessage()
        return msg

    def _first_frame(self, channel: int, type_: int, payload) -> Feed:
        if type_ != 0:
            raise InvalidFeedMessage()
        msg = self._feed(payload)
        self._first_seen = True
        self.remote_discovery_key = msg.discovery_key
        if self.encrypt:
            if msg.nonce is None:
                raise MissingNonce()
            if self.discovery_key is not None and self.discovery_key != msg.discovery_key:
                raise FirstFeedMismatch()
            self.remote_nonce = msg.nonce
            if self.key is not None:
                self._rx = XSalsa20(self.key, self.remote_nonce)
        return msg
