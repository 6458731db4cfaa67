"""TreeIndex (hypercore 7 lib/tree-index.js): which merkle tree nodes are stored, and what follows.

Wraps a bitfield of node indexes (the ``tree`` region of the feed bitfield, or a standalone
:class:`~.bitfield.SparseBitfield` for a peer's "remote tree").  Ported step by step because the results
go on the wire: ``digest()`` is a Request's ``nodes`` field and ``proof()`` decides which nodes a Data
message carries.

* ``set(n)``: mark ``n``; while its sibling is marked, mark the parent (stop at one already marked).
* ``verified_by(n)``: ``2 * length`` of the tree that ``n``'s stored roots prove (0 when ``n`` is absent).
* ``blocks()``: the feed length stored locally (used on open).
* ``digest(n)``: bit mask of the proof nodes a requester already has (bit 0 = has a trusted ancestor).
* ``proof(n, digest, hash, remote_tree)``: node indexes the sender must send, and ``verified_by``.
"""

from __future__ import annotations

from typing import NamedTuple

from . import flat_tree
from .bitfield import SparseBitfield

__all__ = ["TreeIndex", "ProofIndexes"]


_new_tuple = tuple.__new__  # a NamedTuple's own constructor is an interpreted function: twice the cost


class ProofIndexes(NamedTuple):
    """Result of :meth:`TreeIndex.proof`: node indexes to send and the ``verified_by`` length (or 0)."""

    nodes: list[int]
    verified_by: int


def _depth(i: int) -> int:
    return ((i + 1) & ~i).bit_length() - 1


def _parent(i: int, d: int) -> int:
    return i - (1 << d) if (i >> (d + 1)) & 1 else i + (1 << d)


def _right_span(i: int) -> int:
    d = _depth(i)
    return i + (1 << d) - 1 if d else i


def _left_span(i: int) -> int:
    d = _depth(i)
    return i - (1 << d) + 1 if d else i


class TreeIndex:
    """Stored-node bookkeeping over a bitfield with ``get(i)``, ``set(i, v) -> changed`` and ``length``."""

    __slots__ = ("bitfield",)

    def __init__(self, bits: SparseBitfield | None = None) -> None:
        self.bitfield = bits if bits is not None else SparseBitfield()

    # -- basic ----------------------------------------------------------------------------------------

    def get(self, n: int) -> bool:
        return self.bitfield.get(n)

    def has(self, n: int) -> bool:
        return self.bitfield.get(n)

    def __contains__(self, n: int) -> bool:
        return self.bitfield.get(n)

    def set(self, n: int) -> bool:
        """Mark node ``n`` (and every parent whose both children are now marked)."""
        bits = self.bitfield
        if not bits.set(n, True):
            return False
        d = _depth(n)
        while bits.get(n ^ (2 << d)):
            n = _parent(n, d)
            d += 1
            if not bits.set(n, True):
                break
        return True

    def set_leaves(self, start: int, end: int) -> None:
        """``set(2*i)`` for every block ``i`` in ``[start, end)``, in order (the append path).

        Same result as the per-leaf loop.  ``set`` keeps the invariant "both children marked => parent
        marked" (it only stops climbing at an already-marked parent, whose ancestors are then already
        consistent), so marking a run of leaves one by one ends in the closure of the old marks plus the
        leaves under that rule.  That closure is computed level by level: at depth ``d`` the newly marked
        nodes are a contiguous run of offsets, their parents are the halved run, and only the two end
        parents need a look at a sibling outside the run.
        """
        if end - start < 32:
            for i in range(start, end):
                self.set(2 * i)
            return
        bits = self.bitfield
        lo, hi = start, end - 1
        d = 0
        while lo <= hi:
            self._mark_level(d, lo, hi)
            plo, phi = lo >> 1, hi >> 1
            if (plo << 1) < lo and not bits.get(flat_tree.index(d, plo << 1)):
                plo += 1
            if (phi << 1) + 1 > hi and not bits.get(flat_tree.index(d, (phi << 1) + 1)):
                phi -= 1
            lo, hi = plo, phi
            d += 1

    def _mark_level(self, d: int, lo: int, hi: int) -> None:
        """Mark the nodes at depth ``d`` with offsets ``lo..hi`` (every ``2**(d+1)``-th bit)."""
        bits = self.bitfield
        step = 2 << d
        first = ((2 * lo + 1) << d) - 1
        last = ((2 * hi + 1) << d) - 1
        if step <= 8 and last - first >= 64:
            # whole bytes get a fixed mask (0xAA, 0x44, 0x10 for depths 0, 1, 2); ends bit by bit
            mask = 0
            for k in range(first % step, 8, step):
                mask |= 0x80 >> k
            b0 = (first + 7) >> 3  # first whole byte
            b1 = (last + 1) >> 3  # end (exclusive) of whole bytes
            n = first
            while n < b0 << 3:
                bits.set(n, True)
                n += step
            self._or_bytes(b0, b1, mask)
            n = first + ((((b1 << 3) - first) + step - 1) // step) * step
            while n <= last:
                bits.set(n, True)
                n += step
            return
        n = first
        while n <= last:
            bits.set(n, True)
            n += step

    def _or_bytes(self, b0: int, b1: int, mask: int) -> None:
        """OR ``mask`` into bytes ``[b0, b1)`` of the bitfield (page by page, in C via int ops)."""
        bits = self.bitfield
        pager = bits.pager
        pages = pager.pages
        shift = bits._shift
        po = bits.page_offset
        b = b0
        while b < b1:
            j = b >> shift
            stop = min(b1, (j + 1) << shift)
            page = pages.get(j)
            if page is None:
                page = pager.get(j)
            a = po + (b & bits._mask)
            z = a + (stop - b)
            old = page[a:z]
            new = (int.from_bytes(old, "big") | int.from_bytes(bytes([mask]) * (z - a), "big")).to_bytes(z - a, "big")
            if new != old:
                page[a:z] = new
                if stop - 1 >= bits.byte_length:
                    bits.byte_length = stop
                if bits.track_updates:
                    pager.updated(j)
            b = stop

    # -- derived lengths --------------------------------------------------------------------------------

    def verified_by(self, n: int, nodes: list[int] | None = None) -> int:
        """Twice the length proven by the stored roots around ``n``; 0 when ``n`` is not stored."""
        bits = self.bitfield
        if not bits.get(n):
            return 0
        d = _depth(n)
        top = n
        parent = _parent(top, d)
        d += 1
        while bits.get(parent) and bits.get(top ^ (2 << (d - 1))):
            top = parent
            parent = _parent(top, d)
            d += 1
        d -= 1
        while d:
            # the node right after ``top`` at depth d, then its left child
            nxt = flat_tree.index(d, (top >> (d + 1)) + 1)
            top = nxt - (1 << (d - 1))
            d -= 1
            while not bits.get(top) and d:
                top = top - (1 << (d - 1))
                d -= 1
            if nodes is not None and bits.get(top):
                nodes.append(top)
        return top + 2 if bits.get(top) else top

    def blocks(self) -> int:
        """Number of blocks of the longest tree whose roots are stored (the feed length on open)."""
        top = 0
        nxt = 0
        max_bits = self.bitfield.length
        bits = self.bitfield
        while _right_span(nxt) < max_bits:
            nxt = flat_tree.parent(nxt)
            if bits.get(nxt):
                top = nxt
        return (self.verified_by(top) if bits.get(top) else 0) // 2

    def roots(self) -> list[int]:
        return flat_tree.full_roots(2 * self.blocks())

    # -- replication ------------------------------------------------------------------------------------

    def digest(self, n: int) -> int:
        """The Request ``nodes`` value for node ``n``: which proof nodes we already have."""
        bits = self.bitfield
        if bits.get(n):
            return 1
        digest = 0
        nxt = flat_tree.sibling(n)
        max_bits = max(nxt + 2, self.bitfield.length)
        bit = 2
        d = flat_tree.depth(n)
        parent = _parent(nxt, d)
        d += 1
        while _right_span(nxt) < max_bits or _left_span(parent) > 0:
            if bits.get(nxt):
                digest += bit
            if bits.get(parent):
                digest += 2 * bit
                if not digest & 1:
                    digest += 1
                if digest + 1 == 4 * bit:
                    return 1
                return digest
            nxt = flat_tree.sibling(parent)
            parent = _parent(nxt, d)
            d += 1
            bit *= 2
        return digest

    def proof(self, n: int, digest: int = 0, hash: bool = False, remote_tree: "TreeIndex | None" = None) -> ProofIndexes | None:
        """Which nodes to send for node ``n`` to a peer described by ``digest``/``remote_tree``.

        ``remote_tree`` is updated with what the digest says the peer has (as JS does).  Returns None when
        ``n`` is not stored.
        """
        if remote_tree is None:
            remote_tree = TreeIndex()
        digest = digest or 0
        bits = self.bitfield
        nodes: list[int] = []
        if not bits.get(n):
            return None
        if hash:
            nodes.append(n)
        if digest == 1:
            return _new_tuple(ProofIndexes, (nodes, 0))

        nxt = n
        has_root = digest & 1
        digest >>= 1
        while digest:
            if digest == 1 and has_root:
                if bits.get(nxt):
                    remote_tree.set(nxt)
                sib = flat_tree.sibling(nxt)
                if sib < nxt:
                    nxt = sib
                for r in flat_tree.full_roots(flat_tree.right_span(nxt) + 2):
                    if bits.get(r):
                        remote_tree.set(r)
                break
            sib = flat_tree.sibling(nxt)
            if digest & 1 and bits.get(sib):
                remote_tree.set(sib)
            nxt = flat_tree.parent(nxt)
            digest >>= 1

        nxt = n
        while not remote_tree.get(nxt):
            sib = flat_tree.sibling(nxt)
            if not bits.get(sib):
                verified_by = self.verified_by(nxt)
                for r in flat_tree.full_roots(verified_by):
                    if r != nxt and not remote_tree.get(r):
                        nodes.append(r)
                return _new_tuple(ProofIndexes, (nodes, verified_by))
            if not remote_tree.get(sib):
                nodes.append(sib)
            nxt = flat_tree.parent(nxt)
        return _new_tuple(ProofIndexes, (nodes, 0))
