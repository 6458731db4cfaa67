"""Merkle tree nodes and the incremental generator (merkle-tree-stream 3.0.3 ``generator.js``).

The generator keeps the current full roots (ascending index).  Feeding it one block returns the new leaf
followed by every parent completed by it, bottom-up.  :meth:`MerkleGenerator.next_batch` does the same
for many blocks in one tight loop and is what appends use.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple, Sequence

from . import flat_tree

__all__ = ["Node", "MerkleGenerator"]

_blake2b = hashlib.blake2b


class Node(NamedTuple):
    """One merkle tree node: flat-tree ``index``, 32-byte BLAKE2b ``hash``, ``size`` in bytes."""

    index: int
    hash: bytes
    size: int


class MerkleGenerator:
    """Builds tree nodes for appended blocks, starting from existing ``roots``."""

    __slots__ = ("roots", "blocks")

    def __init__(self, roots: Sequence[Node] = ()) -> None:
        self.roots: list[Node] = list(roots)
        self.blocks = 1 + flat_tree.right_span(self.roots[-1].index) // 2 if self.roots else 0

    def next(self, data: bytes) -> list[Node]:
        """Add one block; return ``[leaf, parent, grandparent, ...]`` (the nodes it created)."""
        return self.next_batch((data,))

    def next_batch(self, blocks: Sequence[bytes]) -> list[Node]:
        """Add ``blocks`` in order; return every created node (per block: leaf first, then parents)."""
        roots = self.roots
        out: list[Node] = []
        append = out.append
        b = self.blocks
        blake = _blake2b
        for data in blocks:
            size = len(data)
            node = Node(b << 1, blake(b"\x00" + size.to_bytes(8, "big") + data, digest_size=32).digest(), size)
            append(node)
            # a leaf completes one parent per trailing 1-bit of its block number
            k = b
            while k & 1:
                left = roots.pop()
                size = left.size + node.size
                node = Node(
                    (left.index + node.index) >> 1,
                    blake(b"\x01" + size.to_bytes(8, "big") + left.hash + node.hash, digest_size=32).digest(),
                    size,
                )
                append(node)
                k >>= 1
            roots.append(node)
            b += 1
        self.blocks = b
        return out
