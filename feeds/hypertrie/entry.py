"""What the public API returns for a stored key: :class:`Entry` and :class:`DiffEntry`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Entry", "DiffEntry"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored node: ``key`` (normalised), ``value`` (decoded with the trie's value encoding; None when
    the node has no value), ``seq`` (its block index), ``flags`` (the user flags given to ``put``) and
    ``hidden``."""

    key: str
    value: Any
    seq: int
    flags: int = 0
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class DiffEntry:
    """One difference between two versions: ``left`` is this trie's node, ``right`` the other version's;
    None on a side where the key is absent (a put seen from the other side, or a delete)."""

    key: str
    left: Entry | None
    right: Entry | None
