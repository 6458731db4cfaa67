"""Integrity of stored feeds: the open-time signature check, torn-tail recovery, clearing bits past the
signed length, and the block/node audit.

Policy (see ``core.py``): the length derived from the tree bits must be signed.  A blank or missing
signature slot or root node is a *torn tail* (an interrupted write): drop back to the largest earlier
length whose signature verifies.  A present signature over present roots that does not verify is
*corruption* (or a wrong key) and is reported, never silently truncated.
"""

from __future__ import annotations

from typing import Any, Literal

from . import crypto, flat_tree
from .bitfield import Bitfield
from .errors import NodeNotFoundError
from .format import SignatureFile, TreeFile
from ...protocol.messages import Node

__all__ = ["check_length", "recover_length", "clear_past", "audit_parents"]

Status = Literal["ok", "torn", "bad"]


def check_length(signatures: SignatureFile, tree: TreeFile, key: bytes, length: int) -> tuple[Status, list[Node]]:
    """``("ok", roots)`` when slot ``length-1`` verifies over the stored roots of ``length``; ``"torn"``
    when the slot or a root is blank/missing; ``"bad"`` when both exist but do not verify."""
    if length == 0:
        return "ok", []
    roots = []
    for r in flat_tree.full_roots(2 * length):
        node = tree.get_or_none(r)
        if node is None:
            return "torn", []
        roots.append(node)
    sig = signatures.get_raw(length - 1)
    if sig is None:
        return "torn", roots
    if crypto.verify(crypto.tree_hash(roots), sig, key):
        return "ok", roots
    return "bad", roots


def recover_length(signatures: SignatureFile, tree: TreeFile, key: bytes, below: int) -> tuple[int, list[Node]]:
    """The largest length ``< below`` whose signature slot verifies over its stored roots (0 if none)."""
    for slot, _sig in signatures.filled_slots_desc(below - 1):
        status, roots = check_length(signatures, tree, key, slot + 1)
        if status == "ok":
            return slot + 1, roots
    return 0, []


def _pages_with_bits_from(bitfield: Bitfield, first_bit: int, region_start: int, region_bytes: int) -> list[int]:
    """Pager pages with a set bit ``>= first_bit`` in one region (``8*region_bytes`` bits per page)."""
    pages = bitfield.pages.pages
    bits_per_page = region_bytes * 8
    found = []
    for j in sorted(p for p in pages if p >= first_bit // bits_per_page):
        page = pages[j]
        lo = max(first_bit, j * bits_per_page) - j * bits_per_page
        b = lo >> 3
        if page[region_start + b] & (0xFF >> (lo & 7)) or any(page[region_start + b + 1 : region_start + region_bytes]):
            found.append(j)
    return found


def clear_past(bitfield: Bitfield, length: int) -> bool:
    """Clear data bits ``>= length`` and tree bits of nodes reaching past leaf ``2*length - 2``.

    Returns True when anything changed (the changed pages are then dirty).  A feed never has such bits
    unless an interrupted write left them (or the length was dropped back).
    """
    changed = False
    for j in _pages_with_bits_from(bitfield, length, 0, 1024):
        for i in range(max(length, j << 13), (j + 1) << 13):
            if bitfield.get(i):
                bitfield.set(i, False)
                changed = True
    tree_bits = bitfield.tree
    boundary = 2 * length
    for j in _pages_with_bits_from(bitfield, boundary, 1024, 2048):
        for n in range(max(boundary, j << 14), (j + 1) << 14):
            if tree_bits.get(n):
                tree_bits.set(n, False)
                changed = True
    # ancestors of leaf 2*length that lie left of it but span past it
    d = 1
    limit = max(tree_bits.length, boundary + 2)
    while (1 << d) <= 2 * limit:
        anc = flat_tree.index(d, boundary >> (d + 1))
        if anc < boundary and tree_bits.get(anc):
            tree_bits.set(anc, False)
            changed = True
        d += 1
    return changed


def audit_parents(tree_bits: Any, tree: TreeFile, length: int) -> list[int]:
    """Stored parents (below ``2*length``) whose hash or size is not that of their two stored children."""
    bad = []
    get = tree_bits.get
    for n in range(1, 2 * length, 2):
        if not get(n):
            continue
        kids = flat_tree.children(n)
        assert kids is not None  # n is odd: a parent
        left, right = kids
        if not (get(left) and get(right)):
            continue
        try:
            pn, ln, rn = tree.get(n), tree.get(left), tree.get(right)
        except NodeNotFoundError:
            bad.append(n)
            continue
        if pn.size != ln.size + rn.size or crypto.parent_hash(ln.hash, rn.hash, pn.size) != pn.hash:
            bad.append(n)
    return bad
