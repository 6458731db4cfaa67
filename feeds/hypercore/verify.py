"""Verification of a received block or hash against its proof (hypercore 7.7.1 ``_putBuffer`` ->
``_verifyAndWrite`` -> ``_verifyRootsAndWrite``), without writing anything.

1. Walk up from node ``2*index``: the first locally stored ancestor is *trusted*; stored siblings that
   the proof does not carry are loaded from the tree file.
2. Hash upward (leaf hash of the data, or the first proof node for a hash-only response), pairing with
   the proof's nodes, then the local ones.  Meeting the trusted node ends verification: no signature.
3. Otherwise the climb ended at a root: ``verified_by = max(rightSpan(top), rightSpan(last node)) + 2``,
   the roots ``fullRoots(verified_by)`` come from the climb, the proof or local storage (else
   ``Missing tree roots needed for verify``), and their tree hash must carry a valid signature by the
   feed key (``Remote signature could not be verified``); a non-empty feed requires one (``Remote did
   not include a signature``); an unsigned tree must hash to the key itself (``Remote checksum failed``).

The result names the nodes to store and the signature slot; :meth:`Hypercore.put` writes them.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

from . import crypto, flat_tree
from .errors import (
    ChecksumError,
    MissingRootsError,
    MissingSignatureError,
    SignatureVerificationError,
    VerificationError,
)
from ...protocol.messages import Node
from .tree_index import TreeIndex

__all__ = ["VerifiedWrite", "proof_parts", "verify_put"]

# Nodes and results made here take tuple.__new__: a NamedTuple's constructor is an interpreted function
# (twice the cost of a node)
_new_node = tuple.__new__


class VerifiedWrite(NamedTuple):
    """What a verified put stores."""

    nodes: list[Node]  # tree nodes to write (the proof nodes used, the computed ones, the roots used)
    signature: bytes | None  # to store in ``signature_slot`` (None when a trusted node sufficed)
    signature_slot: int  # -1 when there is nothing to store
    roots: list[Node] | None  # the verified roots (None when a trusted node sufficed)
    verified_by: int  # 2 * length of the verified tree, or 0


def proof_parts(proof: Any) -> tuple[list[Node], bytes | None]:
    """``(nodes, signature)`` of anything with ``nodes`` (``index``/``hash``/``size``) and ``signature``."""
    try:
        nodes = [
            n if type(n) is Node else Node(int(n.index), bytes(n.hash), int(n.size))
            for n in (getattr(proof, "nodes", None) or ())
        ]
    except (AttributeError, TypeError, ValueError) as err:
        raise VerificationError(f"Malformed proof nodes: {err}") from None
    for n in nodes:
        if type(n.hash) is not bytes or len(n.hash) != 32 or n.index < 0 or n.size < 0:
            raise VerificationError("Malformed proof node")
    signature = getattr(proof, "signature", None) or None
    if signature is not None:
        signature = bytes(signature)
    return nodes, signature


def verify_put(
    tree: TreeIndex,
    get_node: Callable[[int], Node],
    key: bytes,
    length: int,
    index: int,
    data: bytes | None,
    nodes: list[Node],
    signature: bytes | None,
) -> VerifiedWrite:
    """Check block ``index`` (or its hash, when ``data`` is None) against ``nodes``/``signature``.

    ``tree``/``get_node`` are the local tree bits and node reader, ``length`` the local feed length.
    Raises a :class:`VerificationError` subclass (or ``NodeNotFoundError`` for a local node that is
    marked but unreadable).
    """
    # 1. the trusted ancestor (methods and functions are called directly, not through locals: compiled,
    # that is a native call; a local holding a bound method is called through the generic protocol) and the local siblings the proof leaves out
    trusted = -1
    missing: list[int] = []
    nxt = 2 * index
    k = 0 if data is not None else 1
    while True:
        if tree.get(nxt):
            trusted = nxt
            break
        sib = flat_tree.sibling(nxt)
        nxt = flat_tree.parent(nxt)
        if k < len(nodes) and nodes[k].index == sib:
            k += 1
            continue
        if not tree.get(sib):
            break
        missing.append(sib)
    if trusted == -1 and tree.get(nxt):
        trusted = nxt
    missing_nodes = [get_node(m) for m in missing]
    trusted_node = get_node(trusted) if trusted > -1 else None
    t_index = trusted_node.index if trusted_node is not None else -1
    t_hash = trusted_node.hash if trusted_node is not None else b""

    # 2. hash upward
    ri = 0
    if data is not None:
        top = _new_node(Node, (2 * index, crypto.leaf_hash(data), len(data)))
    else:
        if not nodes:
            raise VerificationError("A hash-only response needs the node itself in the proof")
        top = nodes[0]
        ri = 1
    visited: list[Node] = []
    li = 0
    reached = top.index == t_index and top.hash == t_hash
    while not reached:
        want = flat_tree.sibling(top.index)
        if ri < len(nodes) and nodes[ri].index == want:
            node = nodes[ri]
            ri += 1
            visited.append(node)
        elif li < len(missing_nodes) and missing_nodes[li].index == want:
            node = missing_nodes[li]
            li += 1
        else:
            break
        visited.append(top)
        size = top.size + node.size
        if top.index < node.index:
            h = crypto.parent_hash(top.hash, node.hash, size)
        else:
            h = crypto.parent_hash(node.hash, top.hash, size)
        top = _new_node(Node, (flat_tree.parent(top.index), h, size))
        reached = top.index == t_index and top.hash == t_hash
    if reached:
        return _new_node(VerifiedWrite, (visited, None, -1, None, 0))

    # 3. roots and signature
    remaining = nodes[ri:]
    last = remaining[-1].index if remaining else top.index
    verified_by = max(flat_tree.right_span(top.index), flat_tree.right_span(last)) + 2
    roots: list[Node] = []
    used: list[Node] = []
    rj = 0
    for r in flat_tree.full_roots(verified_by):
        if r == top.index:
            used.append(top)
            roots.append(top)
        elif rj < len(remaining) and remaining[rj].index == r:
            used.append(remaining[rj])
            roots.append(remaining[rj])
            rj += 1
        elif tree.get(r):
            roots.append(get_node(r))
        else:
            raise MissingRootsError()
    checksum = crypto.tree_hash(roots)
    if length and signature is None:
        raise MissingSignatureError()
    if signature is not None:
        if not crypto.verify(checksum, signature, key):
            raise SignatureVerificationError()
        return _new_node(VerifiedWrite, (visited + used, signature, verified_by // 2 - 1, roots, verified_by))
    if checksum != key:
        raise ChecksumError()
    return _new_node(VerifiedWrite, (visited + used, None, -1, roots, verified_by))
