"""The party extension's wire messages (protobuf, as encoded by @wirelineio/party 0.1.x).

Every party message travels as the payload of one hypercore-protocol Extension message named ``party``,
wrapped in ``AnyType { string type = 1; bytes value = 2; }`` where ``type`` is the inner message's name:

* ``Transaction { string id = 1; bool return = 2; }``
* ``IntroduceFeeds { Transaction transaction = 1; repeated bytes keys = 2; }``
* ``Request { Transaction transaction = 1; string type = 3; bytes value = 4; }``
* ``EphemeralMessage { string type = 1; bytes value = 2; }``

The encoder writes a field when it is present (not ``None``), as protobufjs does; an empty repeated field
is omitted.  The decoder accepts fields in any order, skips unknown fields (wire types 0, 1, 2, 5) and
raises :class:`PartyCodecError` on truncated or malformed input.  The schema is five tiny messages, so
the codec is written by hand rather than pulling in generated protobuf code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .. import varint


class PartyCodecError(ValueError):
    """A party extension payload could not be decoded."""


@dataclass(frozen=True)
class Transaction:
    id: str
    is_return: bool | None = None  # the protobuf field is named ``return``


@dataclass(frozen=True)
class IntroduceFeeds:
    transaction: Transaction | None = None
    keys: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class Request:
    transaction: Transaction | None = None
    type: str | None = None
    value: bytes | None = None


@dataclass(frozen=True)
class EphemeralMessage:
    type: str | None = None
    value: bytes | None = None


PartyMessage = Union[IntroduceFeeds, Request, EphemeralMessage]


# -- protobuf primitives -------------------------------------------------------------------------

_varint = varint.encode


def _bytes_field(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _bool_field(number: int, value: bool) -> bytes:
    return _varint(number << 3) + (b"\x01" if value else b"\x00")


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    try:
        return varint.decode(buf, pos)
    except varint.VarintError as exc:
        raise PartyCodecError(str(exc)) from None


def _fields(buf: bytes):
    """Yield ``(field number, wire type, value)``; value is an int (varint/fixed) or bytes."""
    pos = 0
    n = len(buf)
    while pos < n:
        tag, pos = _read_varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise PartyCodecError("field number 0")
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            if pos + length > n:
                raise PartyCodecError("truncated length-delimited field")
            value, pos = bytes(buf[pos : pos + length]), pos + length
        elif wire == 1 or wire == 5:
            size = 8 if wire == 1 else 4
            if pos + size > n:
                raise PartyCodecError("truncated fixed-width field")
            value, pos = int.from_bytes(buf[pos : pos + size], "little"), pos + size
        else:
            raise PartyCodecError(f"unsupported wire type {wire}")
        yield number, wire, value


def _text(value, what: str) -> str:
    if not isinstance(value, bytes):
        raise PartyCodecError(f"{what} must be length-delimited")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PartyCodecError(f"{what} is not UTF-8") from exc


def _blob(value, what: str) -> bytes:
    if not isinstance(value, bytes):
        raise PartyCodecError(f"{what} must be length-delimited")
    return value


# -- messages ------------------------------------------------------------------------------------

def _encode_transaction(tx: Transaction) -> bytes:
    out = _bytes_field(1, tx.id.encode("utf-8"))
    if tx.is_return is not None:
        out += _bool_field(2, tx.is_return)
    return out


def _decode_transaction(buf: bytes) -> Transaction:
    tx_id, ret = "", None
    for number, _wire, value in _fields(buf):
        if number == 1:
            tx_id = _text(value, "Transaction.id")
        elif number == 2:
            ret = bool(value)
    return Transaction(tx_id, ret)


def encode_inner(message: PartyMessage) -> tuple[str, bytes]:
    """Encode ``message`` alone; returns ``(type name, bytes)``."""
    out = b""
    if isinstance(message, IntroduceFeeds):
        if message.transaction is not None:
            out += _bytes_field(1, _encode_transaction(message.transaction))
        for key in message.keys:
            out += _bytes_field(2, bytes(key))
        return "IntroduceFeeds", out
    if isinstance(message, Request):
        if message.transaction is not None:
            out += _bytes_field(1, _encode_transaction(message.transaction))
        if message.type is not None:
            out += _bytes_field(3, message.type.encode("utf-8"))
        if message.value is not None:
            out += _bytes_field(4, bytes(message.value))
        return "Request", out
    if isinstance(message, EphemeralMessage):
        if message.type is not None:
            out += _bytes_field(1, message.type.encode("utf-8"))
        if message.value is not None:
            out += _bytes_field(2, bytes(message.value))
        return "EphemeralMessage", out
    raise TypeError(f"not a party message: {message!r}")


def encode(message: PartyMessage) -> bytes:
    """Encode ``message`` wrapped in ``AnyType`` (the Extension payload)."""
    name, value = encode_inner(message)
    return _bytes_field(1, name.encode("utf-8")) + _bytes_field(2, value)


def _decode_introduce(buf: bytes) -> IntroduceFeeds:
    tx, keys = None, []
    for number, _wire, value in _fields(buf):
        if number == 1:
            tx = _decode_transaction(_blob(value, "IntroduceFeeds.transaction"))
        elif number == 2:
            keys.append(_blob(value, "IntroduceFeeds.keys"))
    return IntroduceFeeds(tx, tuple(keys))


def _decode_request(buf: bytes) -> Request:
    tx, typ, val = None, None, None
    for number, _wire, value in _fields(buf):
        if number == 1:
            tx = _decode_transaction(_blob(value, "Request.transaction"))
        elif number == 3:
            typ = _text(value, "Request.type")
        elif number == 4:
            val = _blob(value, "Request.value")
    return Request(tx, typ, val)


def _decode_ephemeral(buf: bytes) -> EphemeralMessage:
    typ, val = None, None
    for number, _wire, value in _fields(buf):
        if number == 1:
            typ = _text(value, "EphemeralMessage.type")
        elif number == 2:
            val = _blob(value, "EphemeralMessage.value")
    return EphemeralMessage(typ, val)


_DECODERS = {
    "IntroduceFeeds": _decode_introduce,
    "Request": _decode_request,
    "EphemeralMessage": _decode_ephemeral,
}


def decode(payload: bytes) -> PartyMessage | None:
    """Decode an ``AnyType`` payload.  Returns ``None`` for an unknown ``type`` (passed over, as in JS);
    raises :class:`PartyCodecError` for malformed bytes."""
    name, value = None, b""
    for number, _wire, val in _fields(bytes(payload)):
        if number == 1:
            name = _text(val, "AnyType.type")
        elif number == 2:
            value = _blob(val, "AnyType.value")
    if name is None:
        raise PartyCodecError("AnyType without a type")
    decoder = _DECODERS.get(name)
    return decoder(value) if decoder else None
