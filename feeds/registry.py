"""The feed registry: which kinds of feed exist, how to open each, and how to recognise one by block 0.

Every kind registers a name, the import path of its :class:`~hyperparty.feeds.base.Feed` class (loaded
lazily, so the registry imports no structure until it is needed) and the string its first core's block 0
carries in protobuf field 1 — hypertrie ``Header{type: "hypertrie"}``, hyperdrive metadata
``Index{type: "hyperdrive"}``, hyperdb ``Header{protocol: "hyperdb"}``.  A plain hypercore has none: a
block 0 that is not such a header means ``"hypercore"``.

So a party member that was introduced a key opens a plain replica, and once block 0 arrives
:func:`detect_kind` tells what to build around it (:meth:`Feed.from_core`), without the rules knowing
kinds.  Tests and applications may :func:`register` kinds of their own.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import protobuf as pb

if TYPE_CHECKING:  # pragma: no cover
    from .base import Feed

__all__ = ["FeedKind", "register", "kinds", "feed_class", "detect_kind", "UnknownKind", "HYPERCORE"]

HYPERCORE = "hypercore"


class UnknownKind(LookupError):
    """No feed kind of that name is registered (or its module cannot be imported here)."""


@dataclass(frozen=True)
class FeedKind:
    """A registered kind: ``name``, ``target`` (``"module:Class"`` or the class) and ``block0_type``."""

    name: str
    target: "str | type[Feed]"
    block0_type: str | None = None


_KINDS: dict[str, FeedKind] = {}


def register(name: str, target: "str | type[Feed]", block0_type: str | None = None) -> FeedKind:
    """Register (or replace) the kind ``name``; returns its :class:`FeedKind`."""
    if not name or not isinstance(name, str):
        raise ValueError("a feed kind needs a name")
    kind = FeedKind(name, target, block0_type)
    _KINDS[name] = kind
    return kind


def kinds() -> list[FeedKind]:
    """Every registered kind, in registration order."""
    return list(_KINDS.values())


def feed_class(name: str) -> "type[Feed]":
    """The Feed class of kind ``name``; :class:`UnknownKind` when it is not registered or not importable."""
    kind = _KINDS.get(name)
    if kind is None:
        raise UnknownKind(f"unknown feed kind {name!r} (known: {', '.join(_KINDS)})")
    target = kind.target
    if isinstance(target, str):
        module_name, _, attr = target.partition(":")
        try:
            target = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise UnknownKind(f"feed kind {name!r} is not available: {exc}") from exc
    return target


@pb.message
class _Block0(pb.Message):
    """Field 1 of every structure's block 0 (Header.type / Index.type / Header.protocol)."""

    type: str | None = pb.field(1, "string", utf8_errors="replace")


def detect_kind(block0: bytes) -> str:
    """The kind whose ``block0_type`` is in field 1 of ``block0``; ``"hypercore"`` for anything else."""
    try:
        header = _Block0.decode(bytes(block0))
    except pb.DecodeError:
        return HYPERCORE
    if header.type is None:
        return HYPERCORE
    for kind in _KINDS.values():
        if kind.block0_type is not None and kind.block0_type == header.type:
            return kind.name
    return HYPERCORE


register(HYPERCORE, "hyperparty.feeds.hypercore:Hypercore")
register("hypertrie", "hyperparty.feeds.hypertrie:Hypertrie", "hypertrie")
register("hyperdrive", "hyperparty.feeds.hyperdrive:Hyperdrive", "hyperdrive")
register("hyperdb", "hyperparty.feeds.hyperdb:HyperDB", "hyperdb")
