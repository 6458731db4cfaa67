"""Flat-tree index math (the node numbering of flat-tree 1.x used by hypercore 7).

A flat tree numbers the nodes of a binary tree in-order: leaves (blocks) are the even numbers (block
``i`` is node ``2*i``), parents the odd numbers.  A node at ``depth`` d with ``offset`` o (its position
among the nodes of that depth) has index ``(2*o + 1) * 2**d - 1``.  All functions take and return
Python ints (unbounded, so indexes past 2**53 stay exact).

Written by hand rather than taken from a library: it is a dozen one-line bit tricks, and no maintained
Python package implements this exact numbering.
"""

from __future__ import annotations

__all__ = [
    "depth",
    "offset",
    "index",
    "parent",
    "sibling",
    "left_child",
    "right_child",
    "children",
    "left_span",
    "right_span",
    "spans",
    "count",
    "full_roots",
    "Iterator",
]


def depth(i: int) -> int:
    """Number of trailing 1-bits of ``i`` (0 for leaves)."""
    return ((i + 1) & ~i).bit_length() - 1


def offset(i: int, d: int | None = None) -> int:
    """Position of node ``i`` among the nodes of its depth."""
    if d is None:
        d = depth(i)
    return i >> (d + 1)


def index(d: int, o: int) -> int:
    """The node at depth ``d`` and offset ``o``."""
    return (((o << 1) + 1) << d) - 1


def parent(i: int, d: int | None = None) -> int:
    """The parent of node ``i``."""
    if d is None:
        d = depth(i)
    if (i >> (d + 1)) & 1:
        return i - (1 << d)
    return i + (1 << d)


def sibling(i: int, d: int | None = None) -> int:
    """The other child of ``i``'s parent."""
    if d is None:
        d = depth(i)
    return i ^ (2 << d)


def left_child(i: int, d: int | None = None) -> int:
    """Left child of ``i``; ``-1`` for a leaf."""
    if d is None:
        d = depth(i)
    if d == 0:
        return -1
    return i - (1 << (d - 1))


def right_child(i: int, d: int | None = None) -> int:
    """Right child of ``i``; ``-1`` for a leaf."""
    if d is None:
        d = depth(i)
    if d == 0:
        return -1
    return i + (1 << (d - 1))


def children(i: int) -> tuple[int, int] | None:
    """``(left_child, right_child)`` or ``None`` for a leaf."""
    d = depth(i)
    if d == 0:
        return None
    return i - (1 << (d - 1)), i + (1 << (d - 1))


def left_span(i: int, d: int | None = None) -> int:
    """The leftmost leaf below ``i`` (``i`` itself for a leaf)."""
    if d is None:
        d = depth(i)
    if d == 0:
        return i
    return i - (1 << d) + 1


def right_span(i: int, d: int | None = None) -> int:
    """The rightmost leaf below ``i`` (``i`` itself for a leaf)."""
    if d is None:
        d = depth(i)
    if d == 0:
        return i
    return i + (1 << d) - 1


def spans(i: int) -> tuple[int, int]:
    """``(left_span(i), right_span(i))``."""
    d = depth(i)
    return left_span(i, d), right_span(i, d)


def count(i: int) -> int:
    """Number of nodes in the subtree rooted at ``i``."""
    return (2 << depth(i)) - 1


def full_roots(i: int) -> list[int]:
    """The roots of the complete subtrees covering the leaves before node ``i`` (``i`` must be even).

    ``full_roots(2*n)`` are the merkle roots of a feed of ``n`` blocks, in ascending order.
    """
    if i & 1:
        raise ValueError("You can only look up roots for depth(0) blocks")
    n = i >> 1
    result = []
    off = 0
    while n:
        f = 1 << (n.bit_length() - 1)
        result.append(off + f - 1)
        off += f << 1
        n -= f
    return result


class Iterator:
    """A cursor over a flat tree keeping ``index``, ``offset`` and ``factor = 2**(depth+1)``.

    Mirrors flat-tree's iterator, which hypercore's bitfield index code moves around step by step.
    """

    __slots__ = ("index", "offset", "factor")

    def __init__(self, i: int = 0) -> None:
        self.index = 0
        self.offset = 0
        self.factor = 0
        self.seek(i)

    def seek(self, i: int) -> int:
        d = depth(i)
        self.index = i
        self.offset = i >> (d + 1)
        self.factor = 2 << d
        return i

    def is_left(self) -> bool:
        return not (self.offset & 1)

    def is_right(self) -> bool:
        return bool(self.offset & 1)

    def next(self) -> int:
        self.offset += 1
        self.index += self.factor
        return self.index

    def prev(self) -> int:
        if not self.offset:
            return self.index
        self.offset -= 1
        self.index -= self.factor
        return self.index

    def sibling(self) -> int:
        return self.next() if self.is_left() else self.prev()

    def parent(self) -> int:
        if self.offset & 1:
            self.index -= self.factor >> 1
            self.offset = (self.offset - 1) >> 1
        else:
            self.index += self.factor >> 1
            self.offset >>= 1
        self.factor <<= 1
        return self.index

    def left_span(self) -> int:
        self.index = self.index - (self.factor >> 1) + 1
        self.offset = self.index >> 1
        self.factor = 2
        return self.index

    def right_span(self) -> int:
        self.index = self.index + (self.factor >> 1) - 1
        self.offset = self.index >> 1
        self.factor = 2
        return self.index

    def left_child(self) -> int:
        if self.factor == 2:
            return self.index
        self.factor >>= 1
        self.index -= self.factor >> 1
        self.offset <<= 1
        return self.index

    def right_child(self) -> int:
        if self.factor == 2:
            return self.index
        self.factor >>= 1
        self.index += self.factor >> 1
        self.offset = (self.offset << 1) + 1
        return self.index

    def is_parent(self) -> bool:
        return bool(self.index & 1)

    def peek_left_span(self) -> int:
        """Leftmost leaf under the current node (without moving)."""
        return self.index - (self.factor >> 1) + 1

    def peek_right_span(self) -> int:
        """Rightmost leaf under the current node (without moving)."""
        return self.index + (self.factor >> 1) - 1
