"""The hypercore-protocol 6 messages, declared once with the project's protobuf codec.

Every message is a small dataclass (:func:`hyperparty.protobuf.message`).  A field left at ``None`` (or
an empty list for repeated fields) is *absent* on the wire; anything else is written, ``False`` and ``0``
included, in field-number order — exactly what the protocol-buffers 4 codegen used by
hypercore-protocol 6.12.0 does.  Decoding keeps that distinction (absent fields decode to ``None``), so
``encode(decode(b)) == b`` for every payload JS writes; the proto2 defaults a receiver assumes
(``Have.length`` = 1, ``Want.length`` = 0, ...) are declared on the fields and read with
:func:`hyperparty.protobuf.value_or_default`.

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
``Data`` (one per replicated block) has a hand-tuned one-pass decoder; anything unusual in a payload
falls back to the generated one, and a property test checks that both agree.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

from .. import protobuf as pb
from ..varint import VarintError, encode_into
from ..varint import decode as _varint
from .data_codec import decode_data as _fast_decode_data
from .data_codec import decode_request as _fast_decode_request

__all__ = [
    "Feed", "Handshake", "Info", "Have", "Unhave", "Want", "Unwant", "Request", "Cancel", "Data", "Node",
    "Extension", "MESSAGE_TYPES", "TYPE_NAMES", "encode", "decode", "MessageError",
]


class MessageError(pb.DecodeError):
    """A message that cannot be decoded (raised only where the protocol treats that as fatal)."""


@pb.message
class Feed(pb.Message):
    """Opens a channel: the feed's discovery key, plus the sender's stream nonce on the first channel."""

    TYPE: ClassVar[int] = 0
    discovery_key: bytes = pb.field(1, "bytes", required=True)
    nonce: bytes | None = pb.field(2, "bytes")


@pb.message
class Handshake(pb.Message):
    """Sent once per stream on its first channel: peer id, live flag, user data, extension names, ack."""

    TYPE: ClassVar[int] = 1
    id: bytes | None = pb.field(1, "bytes")
    live: bool | None = pb.field(2, "bool")
    user_data: bytes | None = pb.field(3, "bytes")
    extensions: list[str] = pb.field(4, "string", repeated=True, utf8_errors="replace")
    ack: bool | None = pb.field(5, "bool")


@pb.message
class Info(pb.Message):
    """Upload/download state; a non-live peer that is done downloading says ``downloading=False``."""

    TYPE: ClassVar[int] = 2
    uploading: bool | None = pb.field(1, "bool")
    downloading: bool | None = pb.field(2, "bool")


@pb.message
class Have(pb.Message):
    """The sender has blocks ``[start, start+length)`` (or the set bits of an RLE ``bitfield`` from start)."""

    TYPE: ClassVar[int] = 3
    start: int = pb.field(1, "uint64", required=True)
    length: int | None = pb.field(2, "uint64", default=1)
    bitfield: bytes | None = pb.field(3, "bytes")
    ack: bool | None = pb.field(4, "bool")


@pb.message
class Unhave(pb.Message):
    """The sender no longer has ``[start, start+length)`` (length defaults to 1)."""

    TYPE: ClassVar[int] = 4
    start: int = pb.field(1, "uint64", required=True)
    length: int | None = pb.field(2, "uint64", default=1)


@pb.message
class Want(pb.Message):
    """Subscribe to Haves for ``[start, start+length)`` (hypercore uses windows of 1 048 576 blocks)."""

    TYPE: ClassVar[int] = 5
    start: int = pb.field(1, "uint64", required=True)
    length: int | None = pb.field(2, "uint64", default=0)


@pb.message
class Unwant(pb.Message):
    """Unsubscribe from ``[start, start+length)`` (hypercore 7 never sends it and ignores it)."""

    TYPE: ClassVar[int] = 6
    start: int = pb.field(1, "uint64", required=True)
    length: int | None = pb.field(2, "uint64", default=0)


@pb.message
class Request(pb.Message):
    """Ask for block ``index`` (``hash``: only its proof; ``nodes``: the requester's tree digest)."""

    TYPE: ClassVar[int] = 7
    index: int = pb.field(1, "uint64", required=True)
    bytes: int | None = pb.field(2, "uint64")
    hash: bool | None = pb.field(3, "bool")
    nodes: int | None = pb.field(4, "uint64")


@pb.message
class Cancel(pb.Message):
    """Cancel a Request (hypercore 7 never sends it and ignores it)."""

    TYPE: ClassVar[int] = 8
    index: int = pb.field(1, "uint64", required=True)
    bytes: int | None = pb.field(2, "uint64")
    hash: bool | None = pb.field(3, "bool")


# Declared in the functional form: in the class form type checkers read the field ``index`` as an
# incompatible override of ``tuple.index`` (the field does shadow that method; nodes never need it).
Node = NamedTuple("Node", [("index", int), ("hash", bytes), ("size", int)])
Node.__doc__ = """A merkle tree node in a Data proof: flat-tree ``index``, 32-byte BLAKE2b ``hash``, ``size`` in bytes.

The same tuple hypercore's tree uses, so a received proof goes to ``Hypercore.put`` without conversion.
"""


pb.bind(
    Node,
    pb.FieldSpec("index", 1, "uint64", required=True),
    pb.FieldSpec("hash", 2, "bytes", required=True),
    pb.FieldSpec("size", 3, "uint64", required=True),
)


@pb.message
class Data(pb.Message):
    """Block ``index``: its bytes (absent for hash-only replies), proof nodes, and the roots' signature."""

    TYPE: ClassVar[int] = 9
    index: int = pb.field(1, "uint64", required=True)
    value: bytes | None = pb.field(2, "bytes")
    nodes: list[Node] = pb.field(3, Node, repeated=True)
    signature: bytes | None = pb.field(4, "bytes")


class Extension:
    """An extension message: ``varint(id)`` (index in the sender's sorted extension list) + payload."""

    __slots__ = ("id", "payload")
    TYPE: ClassVar[int] = 15

    def __init__(self, id: int, payload: bytes = b"") -> None:
        self.id = id
        self.payload = payload

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Extension) and (self.id, self.payload) == (other.id, other.payload)

    def __repr__(self) -> str:
        return f"Extension(id={self.id}, payload={self.payload!r})"

    def encode_into(self, out: bytearray) -> None:
        encode_into(out, self.id)
        out += self.payload


MESSAGE_TYPES: dict[int, type] = {
    cls.TYPE: cls for cls in (Feed, Handshake, Info, Have, Unhave, Want, Unwant, Request, Cancel, Data, Extension)
}
TYPE_NAMES = {t: cls.__name__ for t, cls in MESSAGE_TYPES.items()}


def encode(message: Any) -> bytes:
    """The payload bytes of ``message`` (without frame length and header)."""
    out = bytearray()
    message.encode_into(out)
    return bytes(out)


def _decode_data(payload: Any) -> Data | None:
    """A Data message whose proof nodes are well-formed (32-byte hashes), or None (dropped).

    The one-pass decoder of :mod:`.data_codec` handles what hypercore writes; anything unusual goes
    through the generic decoder (raising ``DecodeError`` when invalid).  A node hash that is not 32
    bytes makes the whole message undecodable (dropped like any other), so ``Hypercore.put_many`` can take
    the nodes as they are.
    """
    buf = payload if type(payload) is bytes else bytes(payload)
    fields = _fast_decode_data(buf, Node)
    if fields is not None:
        return Data(*fields)
    msg = Data.decode(buf)
    for node in msg.nodes:
        if len(node.hash) != 32:
            return None
    return msg


def decode_data_payload(payload: bytes) -> Data | None:
    """A Data payload (``bytes``), or None when it does not decode: ``decode(9, ...)``, and what the wire
    calls for Data frames directly (one per block)."""
    try:
        return _decode_data(payload)
    except (pb.DecodeError, VarintError):
        return None


def decode_request_payload(payload: bytes) -> Request | None:
    """A Request payload (``bytes``), or None when it does not decode: ``decode(7, ...)``, and what the
    wire calls for Request frames directly.  The one-pass decoder first, the generic one for anything
    unusual."""
    fields = _fast_decode_request(payload)
    if fields is not None:
        return Request(*fields)
    try:
        return Request.decode(payload)
    except (pb.DecodeError, VarintError):
        return None


def decode(type_: int, payload: Any) -> Any:
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
    if type_ == 9 or type_ == 7:  # one per block: the one-pass decoders first
        payload = payload if type(payload) is bytes else bytes(payload)
        return decode_data_payload(payload) if type_ == 9 else decode_request_payload(payload)
    cls = MESSAGE_TYPES.get(type_)
    if cls is None:
        return None
    try:
        return cls.decode(payload)  # type: ignore[attr-defined]
    except (pb.DecodeError, VarintError) as exc:
        if type_ == 0:
            raise MessageError(f"invalid Feed message: {exc}") from None
        return None
