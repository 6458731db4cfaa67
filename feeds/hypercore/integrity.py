"""Integrity of stored feeds: the open-time assessment (signature check, torn tail, lost bitfield),
completing an interrupted append, clearing bits past the signed length, and the block/node audit.

Policy (see ``core.py``): the length ``L`` derived from the tree bits must be signed.  :func:`assess`
tells three cases apart, before anything is written:

* **sound**: slot ``L-1`` verifies over the stored roots of ``L``.  One filled signature slot past ``L``
  that verifies is an append interrupted before its bitfield write (data, tree and signature are written
  first): a writer *completes* it when every block and node of the batch verifies (nothing lost, nothing
  new signed); a replica ignores it (JS does).
* **torn tail**: the last batch's signature never landed — slot ``L-1`` is blank or cut short, no other
  signature lies in the dropped range, the signatures file does not end inside it, and (for a writer) a
  root of ``L`` is missing too.  Drop back to the largest earlier length whose signature verifies: only
  that batch is lost, and it was never acknowledged.
* **damaged**: anything else — a signature that does not verify, roots missing under a stored signature,
  more than one signature past ``L`` (the bitfield lost blocks), signatures cut inside the signed range,
  or a writer's tree that holds the roots of ``L`` under a lost signature (re-signing, not dropping, keeps
  it: ``repair``).  A drop of more than the last batch would lose acknowledged blocks and let the next
  append fork the signed log, so the feed is opened only read-only (``allow_damaged``) and every
  :class:`Problem` is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Literal

from . import crypto, flat_tree
from .bitfield import Bitfield
from .errors import (
    REPAIR_HINT,
    DamagedFeedError,
    DamagedSignatureError,
    MissingKeyError,
    NodeNotFoundError,
)
from .format import HEADER_SIZE, SIGNATURE_SIZE, SignatureFile, TreeFile
from ...protocol.messages import Node

if TYPE_CHECKING:  # pragma: no cover
    from ...storage.base import Storage

__all__ = [
    "Problem", "Assessment", "assess", "check_length", "recover_length", "clear_past", "audit_parents",
    "batch_verifies", "path_nodes", "seed_matches", "damage_error",
    "storage_damage",
]

Status = Literal["ok", "torn", "bad"]


@dataclass(frozen=True)
class Problem:
    """One thing found wrong with a stored feed: the ``file`` it concerns and a sentence for a user.
    ``kind`` is ``"signature"`` when a stored signature does not verify."""

    file: str
    message: str
    kind: str = "damage"

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "problem": self.message}

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass
class Assessment:
    """What :func:`assess` found: the ``length`` (and its ``roots``) the feed can be read at, the length
    the tree bits ``claimed``, whether a torn last batch was dropped (``torn``), the end of an interrupted
    append a writer can complete (``forward``, 0 if none) and the ``problems`` that make it damaged."""

    length: int
    roots: list[Node]
    claimed: int
    torn: bool = False
    forward: int = 0
    forward_roots: list[Node] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def storage_damage(problems: list[Problem]) -> list[Problem]:
    """The problems that make the stored feed unsafe to write (all but a damaged secret key, which only
    makes the feed not writable)."""
    return [p for p in problems if p.file != "secret_key"]


def damage_error(problems: list[Problem], storage: "Storage | None" = None) -> DamagedFeedError:
    """The error opening raises for a damaged feed: every problem, then the way out (``repair``)."""
    where = f" ({storage.description})" if storage is not None else ""
    message = f"the stored feed{where} is damaged: " + "; ".join(map(str, problems)) + f"; {REPAIR_HINT}"
    if any(p.kind == "signature" for p in problems):
        return DamagedSignatureError(message, problems)
    if len(problems) == 1 and problems[0].file == "key":
        return MissingKeyError(message, problems)
    return DamagedFeedError(message, problems)


def seed_matches(secret_key: bytes) -> bool:
    """True when the seed half of a 64-byte secret key derives its public half."""
    public, _ = crypto.key_pair(secret_key[:32])
    return public == secret_key[32:]


def assess(signatures: SignatureFile, tree: TreeFile, key: bytes, claimed: int, *, writer: bool,
           read_data: Callable[[int, int], bytes] | None = None) -> Assessment:
    """Assess the stored state of a feed whose tree bits claim ``claimed`` blocks (see module docstring).

    ``writer``: the feed holds a usable secret key.  ``read_data(offset, length)`` reads the data file
    (an interrupted batch is checked block by block before a writer completes it).
    """
    status, roots = check_length(signatures, tree, key, claimed)
    found = Assessment(claimed, roots, claimed)
    if status != "ok":
        found.length, found.roots = recover_length(signatures, tree, key, claimed)
    kept = found.length
    problems = found.problems
    if status == "bad":
        problems.append(Problem("signatures", f"the signature of length {claimed} does not verify against the "
                                "stored tree roots (a damaged signature or tree node, or the wrong key)",
                                "signature"))
        return found
    beyond = _filled_slots_from(signatures, kept, limit=2)  # signatures of lengths past the kept one
    if not beyond:
        if claimed > kept:
            reason = _unsigned_tail(signatures, tree, claimed, kept, writer)
            if reason is None:
                found.torn = True
            else:
                problems.append(reason)
        return found
    end = beyond[0] + 1
    if len(beyond) > 1:
        if end > claimed:
            problems.append(Problem("bitfield", f"the bitfield holds {claimed} blocks but the signatures file has "
                                    f"signatures up to length {end}: the bitfield lost blocks"))
        else:
            problems.append(Problem("signatures", f"the signed lengths {beyond[1] + 1} and {end} cannot be verified "
                                    f"(the last that can is {kept}): more than the last batch is damaged"))
        return found
    end_status, end_roots = check_length(signatures, tree, key, end)
    if end_status == "bad":
        problems.append(Problem("signatures", f"the signature of length {end} does not verify against the stored "
                                "tree roots (a damaged signature or tree node)", "signature"))
    elif end_status == "torn":
        problems.append(Problem("tree", f"tree roots of length {end} are missing although its signature is "
                                f"stored: the tree file lost nodes (it is {tree.file.size()} bytes)"))
    elif not writer:  # a replica's verified write interrupted before its bitfield write: forget it (as JS)
        found.torn = claimed > kept
    elif read_data is not None and batch_verifies(tree, read_data, kept, end, sum(r.size for r in found.roots),
                                                  end_roots):
        found.forward, found.forward_roots = end, end_roots  # an interrupted append: complete it
    else:
        problems.append(Problem("data", f"blocks {kept} to {end - 1} are signed (length {end}) but do not all "
                                "verify: the data or tree file lost them"))
    return found


def _filled_slots_from(signatures: SignatureFile, first: int, limit: int) -> list[int]:
    """Up to ``limit`` filled signature slots ``>= first``, highest first."""
    found = []
    for slot, _sig in signatures.filled_slots_desc(signatures.slot_count()):
        if slot < first:
            break
        found.append(slot)
        if len(found) >= limit:
            break
    return found


def _unsigned_tail(signatures: SignatureFile, tree: TreeFile, claimed: int, kept: int, writer: bool) -> Problem | None:
    """None when blocks ``[kept, claimed)``, claimed by the tree bits but signed by nothing stored, are
    what a last batch whose signature never landed leaves; else the :class:`Problem` that makes it damage."""
    sig_size = signatures.file.size()
    if sig_size < HEADER_SIZE:
        return Problem("signatures", f"the signatures file is {'truncated' if sig_size else 'missing'} but the "
                       f"bitfield holds {claimed} blocks")
    if HEADER_SIZE + SIGNATURE_SIZE * kept < sig_size <= HEADER_SIZE + SIGNATURE_SIZE * (claimed - 1):
        return Problem("signatures", f"the signatures file ends inside the signed range ({sig_size} bytes: "
                       f"{(sig_size - HEADER_SIZE) // SIGNATURE_SIZE} signature slots for {claimed} blocks): it "
                       "was truncated")
    if writer and all(tree.get_or_none(r) is not None for r in flat_tree.full_roots(2 * claimed)):
        return Problem("signatures", f"the signature of length {claimed} is missing but its tree is stored "
                       "(repair can sign it again)")
    return None


def batch_verifies(tree: TreeFile, read_data: Callable[[int, int], bytes], start: int, end: int, offset: int,
                   roots: list[Node]) -> bool:
    """True when blocks ``[start, end)`` (the first at byte ``offset``) hash to their stored leaves and
    every stored node from those leaves up to ``roots`` (the verified roots of length ``end``) is the hash
    of its two children: the batch is authenticated by the signature of ``end``."""
    try:
        for i in range(start, end):
            leaf = tree.get(2 * i)
            data = read_data(offset, leaf.size) if leaf.size else b""
            if crypto.leaf_hash(data) != leaf.hash:
                return False
            offset += leaf.size
        return _paths_verify(tree, range(2 * start, 2 * end, 2), {r.index for r in roots})
    except Exception:  # a missing node or data: not verifiable
        return False


def path_nodes(nodes: Any, roots: set[int]) -> set[int]:
    """The ancestors of ``nodes`` up to (and including) the ``roots`` they lie under."""
    found: set[int] = set()
    level = set(nodes)
    while level:
        level = {flat_tree.parent(n) for n in level if n not in roots}
        found |= level
    return found


def _paths_verify(tree: TreeFile, nodes: Any, roots: set[int]) -> bool:
    """Every ancestor of ``nodes`` below the ``roots`` is the hash of its stored children."""
    for p in path_nodes(nodes, roots):
        kids = flat_tree.children(p)
        assert kids is not None  # a parent
        pn, ln, rn = tree.get(p), tree.get(kids[0]), tree.get(kids[1])
        if pn.size != ln.size + rn.size or crypto.parent_hash(ln.hash, rn.hash, pn.size) != pn.hash:
            return False
    return True


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
