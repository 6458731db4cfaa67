"""The party extension's wire messages (protobuf, as encoded by @wirelineio/party 0.1.x).

Every party message travels as the payload of one hypercore-protocol Extension message named ``party``,
wrapped in ``AnyType { string type = 1; bytes value = 2; }`` where ``type`` is the inner message's name:

* ``Transaction { string id = 1; bool return = 2; }``
* ``IntroduceFeeds { Transaction transaction = 1; repeated bytes keys = 2; }``
* ``Request { Transaction transaction = 1; string type = 3; bytes value = 4; }``
* ``EphemeralMessage { string type = 1; bytes value = 2; }``

They are declared with the project's one protobuf codec (:mod:`hyperparty.protobuf`): a field is written
when it is present (not ``None``), as protobufjs does; an empty repeated field is omitted; unknown fields
are skipped.  :func:`decode` raises :class:`PartyCodecError` on truncated or malformed input (including
a string that is not UTF-8) and returns ``None`` for an unknown ``type``, which JS passes over.
"""

from __future__ import annotations

from typing import Union

from .. import protobuf as pb

__all__ = [
    "PartyCodecError", "Transaction", "IntroduceFeeds", "Request", "EphemeralMessage", "PartyMessage",
    "encode", "encode_inner", "decode",
]


class PartyCodecError(pb.DecodeError):
    """A party extension payload could not be decoded."""


@pb.message
class Transaction(pb.Message):
    id: str | None = pb.field(1, "string")
    is_return: bool | None = pb.field(2, "bool")  # the protobuf field is named ``return``


@pb.message
class IntroduceFeeds(pb.Message):
    transaction: Transaction | None = pb.field(1, Transaction)
    keys: list[bytes] = pb.field(2, "bytes", repeated=True)


@pb.message
class Request(pb.Message):
    transaction: Transaction | None = pb.field(1, Transaction)
    type: str | None = pb.field(3, "string")
    value: bytes | None = pb.field(4, "bytes")


@pb.message
class EphemeralMessage(pb.Message):
    type: str | None = pb.field(1, "string")
    value: bytes | None = pb.field(2, "bytes")


@pb.message
class _AnyType(pb.Message):
    type: str = pb.field(1, "string", required=True)
    value: bytes | None = pb.field(2, "bytes")


PartyMessage = Union[IntroduceFeeds, Request, EphemeralMessage]

_BY_NAME: dict[str, type[PartyMessage]] = {cls.__name__: cls for cls in (IntroduceFeeds, Request, EphemeralMessage)}


def encode_inner(message: PartyMessage) -> tuple[str, bytes]:
    """Encode ``message`` alone; returns ``(type name, bytes)``."""
    name = type(message).__name__
    if _BY_NAME.get(name) is not type(message):
        raise TypeError(f"not a party message: {message!r}")
    return name, message.encode()


def encode(message: PartyMessage) -> bytes:
    """Encode ``message`` wrapped in ``AnyType`` (the Extension payload)."""
    name, value = encode_inner(message)
    return _AnyType(name, value).encode()


def decode(payload: bytes) -> PartyMessage | None:
    """Decode an ``AnyType`` payload.  Returns ``None`` for an unknown ``type`` (passed over, as in JS);
    raises :class:`PartyCodecError` for malformed bytes."""
    try:
        wrapper = _AnyType.decode(bytes(payload))
        cls = _BY_NAME.get(wrapper.type)
        if cls is None:
            return None
        return cls.decode(wrapper.value or b"")
    except pb.DecodeError as exc:
        raise PartyCodecError(str(exc)) from None
