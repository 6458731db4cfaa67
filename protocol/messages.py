"""The hypercore-protocol 6 messages and their protobuf (proto2) encoding.

Every message is a small dataclass.  A field left at ``None`` (or an empty list for repeated fields) is
*absent* on the wire; anything else is written, ``False`` and ``0`` included, in field-number order —
exactly what the protocol-buffers 4 codegen used by hypercore-protocol 6.12.0 does.  Decoding keeps that
distinction (absent fields decode to ``None``), so ``encode(decode(b)) == b`` for every payload JS writes;
the JS decoded defaults (``Have.length`` = 1, ``Want.length`` = 0, ...) are given by the ``*_or_default``
helpers and the receiver applies them.

Type ids (the low 4 bits of a frame header):

====  ==========  =====================================================================
type  message     fields (number: name type)
====  ==========  =====================================================================
0     Feed        1: discovery_key bytes (required, 32 B), 2: nonce bytes (24 B)
1     Handshake   1: id bytes, 2: live bool, 3: user_data bytes, 4: extensions string*, 5: ack bool
2     Info        1: uploading bool, 2: downloading bool
3     Have        1: start uint64 (req), 2: length uint64 (default 1), 3: bitfield bytes, 4: ack bool
4     Unhave      1: start (req), 2: length (default 1)
5     Want        1: start (req), 2: length (default 0)
6     Unwant      1: start (req), 2: length (default 0)
7     Request     1: index (req), 2: bytes, 3: hash bool, 4: nodes uint64
8     Cancel      1: index (req), 2: bytes, 3: hash bool
9     Data        1: index (req), 2: value bytes, 3: nodes Node*, 4: signature bytes
                  Node = 1: index (req), 2: hash bytes (req), 3: size uint64 (req)
15    Extension   not protobuf: varint(extension id) followed by opaque bytes
====  ==========  =====================================================================

A payload that does not decode, or lacks a required field, decodes to ``None`` (JS ignores such messages
silently); :func:`decode` never raises on hostile bytes except for :class:`MessageError` on a Feed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..feeds.hypercore.merkle import Node as _MerkleNode
from .varint import VarintError, encode_into
from .varint import decode as _varint

__all__ = [
    "Feed", "Handshake", "Info", "Have", "Unhave", "Want", "Unwant", "Request", "Cancel", "Data", "Node",
    "Extension", "MESSAGE_TYPES", "TYPE_NAMES", "encode", "decode", "MessageError",
]

# wire types
_VARINT = 0
_BYTES = 2


class MessageError(ValueError):
    """A message that cannot be decoded (raised only where the protocol treats that as fatal)."""


# --- low-level field codec ------------------------------------------------------------------------


def _put_uint(out: bytearray, num: int, value: int) -> None:
    out.append(num << 3)
    encode_into(out, value)


def _put_bool(out: bytearray, num: int, value: bool) -> None:
    out.append(num << 3)
    out.append(1 if value else 0)


def _put_bytes(out: bytearray, num: int, value: bytes) -> None:
    out.append((num << 3) | _BYTES)
    encode_into(out, len(value))
    out += value


def _fields(buf, pos: int, end: int) -> list[tuple[int, int, Any]]:
    """Split a protobuf payload into ``(field number, wire type, value)``; raises on malformed input.

    Varint values are ints; length-delimited values are ``bytes``; fixed64/fixed32 are skipped.
    """
    out = []
    while pos < end:
        tag, pos = _varint(buf, pos, end)
        num = tag >> 3
        wt = tag & 7
        if wt == _VARINT:
            value, pos = _varint(buf, pos, end)
        elif wt == _BYTES:
            n, pos = _varint(buf, pos, end)
            if pos + n > end:
                raise MessageError("length-delimited field runs past the message")
            value = bytes(buf[pos:pos + n])
            pos += n
        elif wt == 1:
            pos += 8
            if pos > end:
                raise MessageError("truncated fixed64 field")
            continue
        elif wt == 5:
            pos += 4
            if pos > end:
                raise MessageError("truncated fixed32 field")
            continue
        else:
            raise MessageError(f"unsupported wire type {wt}")
        if num == 0:
            raise MessageError("field number 0")
        out.append((num, wt, value))
    return out


def _expect(wt: int, want: int) -> None:
    if wt != want:
        raise MessageError("field has the wrong wire type")


# --- messages -------------------------------------------------------------------------------------


@dataclass(slots=True)
class Feed:
    """Opens a channel: the feed's discovery key, plus the sender's stream nonce on the first channel."""

    TYPE: ClassVar[int] = 0
    discovery_key: bytes
    nonce: bytes | None = None

    def encode_into(self, out: bytearray) -> None:
        _put_bytes(out, 1, self.discovery_key)
        if self.nonce is not None:
            _put_bytes(out, 2, self.nonce)

    @classmethod
    def parse(cls, fields) -> "Feed":
        dk = nonce = None
        for num, wt, v in fields:
            if num == 1:
                _expect(wt, _BYTES)
                dk = v
            elif num == 2:
                _expect(wt, _BYTES)
                nonce = v
        if dk is None:
            raise MessageError("Feed without a discovery key")
        return cls(dk, nonce)


@dataclass(slots=True)
class Handshake:
    """Sent once per stream on its first channel: peer id, live flag, user data, extension names, ack."""

    TYPE: ClassVar[int] = 1
    id: bytes | None = None
    live: bool | None = None
    user_data: bytes | None = None
    extensions: list[str] = field(default_factory=list)
    ack: bool | None = None

    def encode_into(self, out: bytearray) -> None:
        if self.id is not None:
            _put_bytes(out, 1, self.id)
        if self.live is not None:
            _put_bool(out, 2, self.live)
        if self.user_data is not None:
            _put_bytes(out, 3, self.user_data)
        for name in self.extensions:
            _put_bytes(out, 4, name.encode("utf-8"))
        if self.ack is not None:
            _put_bool(out, 5, self.ack)

    @classmethod
    def parse(cls, fields) -> "Handshake":
        msg = cls()
        for num, wt, v in fields:
            if num == 1:
                _expect(wt, _BYTES)
                msg.id = v
            elif num == 2:
                _expect(wt, _VARINT)
                msg.live = v > 0
            elif num == 3:
                _expect(wt, _BYTES)
                msg.user_data = v
            elif num == 4:
                _expect(wt, _BYTES)
                msg.extensions.append(v.decode("utf-8", "replace"))
            elif num == 5:
                _expect(wt, _VARINT)
                msg.ack = v > 0
        return msg


@dataclass(slots=True)
class Info:
    """Upload/download state; a non-live peer that is done downloading says ``downloading=False``."""

    TYPE: ClassVar[int] = 2
    uploading: bool | None = None
    downloading: bool | None = None

    def encode_into(self, out: bytearray) -> None:
        if self.uploading is not None:
            _put_bool(out, 1, self.uploading)
        if self.downloading is not None:
            _put_bool(out, 2, self.downloading)

    @classmethod
    def parse(cls, fields) -> "Info":
        msg = cls()
        for num, wt, v in fields:
            if num == 1:
                _expect(wt, _VARINT)
                msg.uploading = v > 0
            elif num == 2:
                _expect(wt, _VARINT)
                msg.downloading = v > 0
        return msg


def _parse_range(cls, fields, extra=None):
    start = length = None
    kw: dict[str, Any] = {}
    for num, wt, v in fields:
        if num == 1:
            _expect(wt, _VARINT)
            start = v
        elif num == 2:
            _expect(wt, _VARINT)
            length = v
        elif extra and num in extra:
            name, want = extra[num]
            _expect(wt, want)
            kw[name] = (v > 0) if want == _VARINT else v
    if start is None:
        raise MessageError(f"{cls.__name__} without start")
    return cls(start, length, **kw)


@dataclass(slots=True)
class Have:
    """The sender has blocks ``[start, start+length)`` (or the set bits of an RLE ``bitfield`` from start)."""

    TYPE: ClassVar[int] = 3
    start: int
    length: int | None = None
    bitfield: bytes | None = None
    ack: bool | None = None

    def encode_into(self, out: bytearray) -> None:
        _put_uint(out, 1, self.start)
        if self.length is not None:
            _put_uint(out, 2, self.length)
        if self.bitfield is not None:
            _put_bytes(out, 3, self.bitfield)
        if self.ack is not None:
            _put_bool(out, 4, self.ack)

    @classmethod
    def parse(cls, fields) -> "Have":
        return _parse_range(cls, fields, {3: ("bitfield", _BYTES), 4: ("ack", _VARINT)})


@dataclass(slots=True)
class _Range:
    """A ``[start, start+length)`` message (Unhave, Want, Unwant share the layout; only TYPE differs)."""

    TYPE: ClassVar[int] = -1
    start: int
    length: int | None = None

    def encode_into(self, out: bytearray) -> None:
        _put_uint(out, 1, self.start)
        if self.length is not None:
            _put_uint(out, 2, self.length)

    @classmethod
    def parse(cls, fields):
        return _parse_range(cls, fields)


@dataclass(slots=True)
class Unhave(_Range):
    """The sender no longer has ``[start, start+length)`` (length defaults to 1)."""

    TYPE: ClassVar[int] = 4


@dataclass(slots=True)
class Want(_Range):
    """Subscribe to Haves for ``[start, start+length)`` (hypercore uses windows of 1 048 576 blocks)."""

    TYPE: ClassVar[int] = 5


@dataclass(slots=True)
class Unwant(_Range):
    """Unsubscribe from ``[start, start+length)`` (hypercore 7 never sends it and ignores it)."""

    TYPE: ClassVar[int] = 6


def _parse_request(cls, fields, with_nodes: bool):
    index = None
    kw: dict[str, Any] = {}
    for num, wt, v in fields:
        if num == 1:
            _expect(wt, _VARINT)
            index = v
        elif num == 2:
            _expect(wt, _VARINT)
            kw["bytes"] = v
        elif num == 3:
            _expect(wt, _VARINT)
            kw["hash"] = v > 0
        elif num == 4 and with_nodes:
            _expect(wt, _VARINT)
            kw["nodes"] = v
    if index is None:
        raise MessageError(f"{cls.__name__} without index")
    return cls(index, **kw)


@dataclass(slots=True)
class Cancel:
    """Cancel a Request (hypercore 7 never sends it and ignores it)."""

    TYPE: ClassVar[int] = 8
    index: int
    bytes: int | None = None
    hash: bool | None = None

    def encode_into(self, out: bytearray) -> None:
        _put_uint(out, 1, self.index)
        if self.bytes is not None:
            _put_uint(out, 2, self.bytes)
        if self.hash is not None:
            _put_bool(out, 3, self.hash)

    @classmethod
    def parse(cls, fields):
        return _parse_request(cls, fields, False)


@dataclass(slots=True)
class Request(Cancel):
    """Ask for block ``index`` (``hash``: only its proof; ``nodes``: the requester's tree digest).

    The fields of :class:`Cancel` plus ``nodes`` (field 4); a Request never equals a Cancel.
    """

    TYPE: ClassVar[int] = 7
    nodes: int | None = None

    def encode_into(self, out: bytearray) -> None:
        Cancel.encode_into(self, out)
        if self.nodes is not None:
            _put_uint(out, 4, self.nodes)

    @classmethod
    def parse(cls, fields):
        return _parse_request(cls, fields, True)


# A merkle tree node in a Data proof (flat-tree index, BLAKE2b-256 hash, byte size): the same NamedTuple
# hypercore's tree uses, so a received proof goes to ``Hypercore.put`` without conversion.
Node = _MerkleNode


@dataclass(slots=True)
class Data:
    """Block ``index``: its bytes (absent for hash-only replies), proof nodes, and the roots' signature."""

    TYPE: ClassVar[int] = 9
    index: int
    value: bytes | None = None
    nodes: list[Node] = field(default_factory=list)
    signature: bytes | None = None

    def encode_into(self, out: bytearray) -> None:
        _put_uint(out, 1, self.index)
        if self.value is not None:
            _put_bytes(out, 2, self.value)
        for node in self.nodes:
            body = bytearray()
            _put_uint(body, 1, node.index)
            _put_bytes(body, 2, node.hash)
            _put_uint(body, 3, node.size)
            _put_bytes(out, 3, body)
        if self.signature is not None:
            _put_bytes(out, 4, self.signature)

    @classmethod
    def parse(cls, fields) -> "Data":
        msg = cls(-1)
        for num, wt, v in fields:
            if num == 1:
                _expect(wt, _VARINT)
                msg.index = v
            elif num == 2:
                _expect(wt, _BYTES)
                msg.value = v
            elif num == 3:
                _expect(wt, _BYTES)
                index = hash_ = size = None
                for n2, w2, v2 in _fields(v, 0, len(v)):
                    if n2 == 1:
                        _expect(w2, _VARINT)
                        index = v2
                    elif n2 == 2:
                        _expect(w2, _BYTES)
                        hash_ = v2
                    elif n2 == 3:
                        _expect(w2, _VARINT)
                        size = v2
                if index is None or hash_ is None or size is None:
                    raise MessageError("Data node without index, hash or size")
                msg.nodes.append(Node(index, hash_, size))
            elif num == 4:
                _expect(wt, _BYTES)
                msg.signature = v
        if msg.index < 0:
            raise MessageError("Data without index")
        return msg


@dataclass(slots=True)
class Extension:
    """An extension message: ``varint(id)`` (index in the sender's sorted extension list) + payload."""

    TYPE: ClassVar[int] = 15
    id: int
    payload: bytes = b""

    def encode_into(self, out: bytearray) -> None:
        encode_into(out, self.id)
        out += self.payload


MESSAGE_TYPES: dict[int, type] = {
    cls.TYPE: cls for cls in (Feed, Handshake, Info, Have, Unhave, Want, Unwant, Request, Cancel, Data, Extension)
}
TYPE_NAMES = {t: cls.__name__ for t, cls in MESSAGE_TYPES.items()}


def encode(message) -> bytes:
    """The payload bytes of ``message`` (without frame length and header)."""
    out = bytearray()
    message.encode_into(out)
    return bytes(out)


def _decode_data(buf) -> Data:
    """Fast path for the hottest message (one Data per replicated block): one pass, no field list.

    Same result as ``Data.parse(_fields(...))``; raises MessageError/VarintError on malformed input.
    """
    end = len(buf)
    pos = 0
    index = -1
    value = None
    nodes: list = []
    signature = None
    while pos < end:
        tag = buf[pos]
        pos += 1
        if tag == 0x12 or tag == 0x1A or tag == 0x22:  # value / node / signature: length-delimited
            n = buf[pos] if pos < end else 0x80
            if n < 0x80:
                pos += 1
            else:
                n, pos = _varint(buf, pos, end)
            stop = pos + n
            if stop > end:
                raise MessageError("length-delimited field runs past the message")
            if tag == 0x1A:
                nodes.append(_decode_node(buf, pos, stop))
            elif tag == 0x12:
                value = bytes(buf[pos:stop])
            else:
                signature = bytes(buf[pos:stop])
            pos = stop
        elif tag == 0x08:
            index, pos = _varint(buf, pos, end)
        else:  # anything unusual (unknown fields, multi-byte tags): the general decoder
            return Data.parse(_fields(buf, 0, end))
    if index < 0:
        raise MessageError("Data without index")
    return Data(index, value, nodes, signature)


def _decode_node(buf, pos: int, end: int) -> Node:
    index = hash_ = size = None
    while pos < end:
        tag = buf[pos]
        pos += 1
        if tag == 0x08:
            index, pos = _varint(buf, pos, end)
        elif tag == 0x12:
            n = buf[pos] if pos < end else 0
            pos += 1
            if n >= 0x80 or pos + n > end:
                raise MessageError("bad node hash")
            hash_ = bytes(buf[pos:pos + n])
            pos += n
        elif tag == 0x18:
            size, pos = _varint(buf, pos, end)
        else:
            for num, wt, v in _fields(buf, pos - 1, end):
                if num == 1 and wt == _VARINT:
                    index = v
                elif num == 2 and wt == _BYTES:
                    hash_ = v
                elif num == 3 and wt == _VARINT:
                    size = v
            break
    if index is None or hash_ is None or size is None:
        raise MessageError("Data node without index, hash or size")
    return Node(index, hash_, size)


def decode(type_: int, payload) -> Any:
    """Decode the payload of a message of ``type_``; ``None`` when JS would ignore it.

    A malformed Feed raises :class:`MessageError` (the protocol destroys the stream for that).
    Unknown types (10..14) give ``None``.
    """
    if type_ == 15:
        try:
            ext_id, pos = _varint(payload, 0)
        except VarintError:
            return None
        return Extension(ext_id, bytes(payload[pos:]))
    cls = MESSAGE_TYPES.get(type_)
    if cls is None:
        return None
    try:
        if type_ == 9:
            return _decode_data(payload)
        return cls.parse(_fields(payload, 0, len(payload)))
    except (MessageError, VarintError, UnicodeDecodeError) as exc:
        if type_ == 0:
            raise MessageError(f"invalid Feed message: {exc}") from None
        return None
