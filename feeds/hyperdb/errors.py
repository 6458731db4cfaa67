"""Errors of the hyperdb layer.  Every one is a :class:`HyperDBError` (a ``ValueError`` subclass only where
the caller passed a bad argument), so callers can catch the whole family at once."""

from __future__ import annotations

__all__ = [
    "HyperDBError",
    "CorruptEntryError",
    "MissingFeedMappingsError",
    "InvalidVersionError",
    "ReadOnlyCheckoutError",
    "NotReadyError",
    "DBClosedError",
    "ReadTimeoutError",
]


class HyperDBError(Exception):
    """Base class of every hyperdb error."""


class CorruptEntryError(HyperDBError):
    """A writer block that is not a valid hyperdb entry (bad protobuf, bad trie, bad value encoding).

    ``feed`` is the writer's key, ``seq`` the block index.  Reads of other keys are unaffected: only
    walks that reach this block fail.
    """

    def __init__(self, message: str, *, feed: bytes | None = None, seq: int | None = None) -> None:
        where = f" (writer {feed.hex()[:16]}, block {seq})" if feed is not None else ""
        super().__init__(message + where)
        self.feed = feed
        self.seq = seq


class MissingFeedMappingsError(CorruptEntryError):
    """An entry's clock names more writers than its author's feeds list (JS: "Missing feed mappings")."""


class InvalidVersionError(HyperDBError, ValueError):
    """A version that names a writer this db does not know, or is not ``key || varint(seq)`` pairs."""


class ReadOnlyCheckoutError(HyperDBError):
    """A write on a checkout (JS: "Cannot put on a checkout")."""


class NotReadyError(HyperDBError):
    """A property (key, local writer) was read before ``await db.ready()``."""


class DBClosedError(HyperDBError):
    """The db was closed."""


class ReadTimeoutError(HyperDBError, TimeoutError):
    """A block a read needs was not replicated within the db's ``timeout`` (a pointer to a block that never
    comes, or a peer that does not send it).  Without ``timeout`` reads wait, as JS does."""
