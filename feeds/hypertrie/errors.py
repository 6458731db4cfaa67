"""Errors of the hypertrie port.  Every one is a :class:`HypertrieError`.

A lookup that meets a bad block raises for *that* lookup only: nothing is written, nothing is cached, and
keys whose walks do not pass through the bad block stay readable.
"""

from __future__ import annotations

__all__ = ["HypertrieError", "NotAHypertrieError", "CorruptNodeError", "BadPointerError", "BeyondFeedError"]


class HypertrieError(Exception):
    """Base class of the hypertrie errors."""


class NotAHypertrieError(HypertrieError):
    """Block 0 is not a hypertrie ``Header`` (JS never checks; readers of the header do here)."""


class CorruptNodeError(HypertrieError):
    """A block that should hold a trie ``Node`` does not decode as one (protobuf or trie buffer)."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"block {seq} is not a valid hypertrie node: {reason}")
        self.seq = seq
        self.reason = reason


class BadPointerError(HypertrieError):
    """A trie pointer that no honest writer produces: every pointer of the node at block ``s`` names a
    block in ``[1, s)`` (a node only ever points to older nodes), so a pointer outside that range (past
    the feed, to itself, or forming a cycle) is corrupt data."""

    def __init__(self, seq: int, pointer: int) -> None:
        super().__init__(f"node {seq} points to block {pointer}, which is not an older node (must be 1..{seq - 1})")
        self.seq = seq
        self.pointer = pointer


class BeyondFeedError(HypertrieError):
    """A read of block ``seq`` past the end of a feed we write ourselves (e.g. a checkout of a version that
    does not exist yet): a writer holds every block, so waiting for it would never end."""

    def __init__(self, seq: int, length: int) -> None:
        super().__init__(f"block {seq} is past the end of this writer's feed (length {length})")
        self.seq = seq
        self.length = length
