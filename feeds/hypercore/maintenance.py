"""Maintenance: ``audit`` (re-hash every stored block and parent, re-verify the signature, report what is
bad), ``repair`` (keep what verifies, drop what cannot be verified back to the longest signed length that
verifies) and ``clear`` (forget a range of blocks).

``repair`` never touches what verifies: blocks, nodes and signatures that check out stay as they are; it
rewrites the bitfield from what verifies, restores the ``key`` file (from ``secret_key`` or the key given),
fixes the file headers, clears signature slots past the kept length that do not verify, and — for a
writer whose every block still hashes to its stored leaf — signs the longest such length again (ed25519
signatures are deterministic: the same roots give the very signature that was lost, so no fork is made).
Blocks a replica lost come back from a peer (``hyperparty core repair --connect``).
"""

from __future__ import annotations

from typing import Any

from . import crypto, flat_tree, integrity
from .bitfield import DEFAULT_PAGE_SIZE, Bitfield, SparseBitfield
from .errors import DamagedFeedError, NodeNotFoundError, ReadOnlyFeedError
from .format import HEADER_SIZE, NODE_SIZE, SIGNATURE_SIZE, SIGNATURES_HEADER, TREE_HEADER, bitfield_header
from .state import CoreState, read_exact
from .tree_index import TreeIndex
from ...protocol.messages import Node
from ...storage.base import OutOfRangeError

_CHUNK = 8192  # leaves read per step when scanning the tree file


class _Maintenance(CoreState):
    """The maintenance methods of :class:`~hyperparty.feeds.hypercore.core.Hypercore`."""

    async def audit(self) -> dict[str, Any]:
        """Re-hash every stored block against its leaf node and every stored parent against its children,
        re-verify the signature of the current length, and clear the data bits of bad blocks (not when the
        feed is read-only or damaged: then it only reports).

        Returns ``{"valid", "invalid", "invalid_blocks", "bad_nodes", "signature_ok", "cleared_bits",
        "problems"}``: ``cleared_bits`` are blocks below the length a writer lacks although their data
        verifies (``repair`` sets them again); ``problems`` is what opening found (``damage``).
        """
        await self._ensure_open()
        report: dict[str, Any] = {"valid": 0, "invalid": 0, "invalid_blocks": [], "bad_nodes": [],
                                  "signature_ok": True, "cleared_bits": [], "problems": list(self.damage)}
        bf = self.bitfield
        self._tree_file.clear_cache()
        self._offset_memo = (-1, 0, 0)
        self._prefix_memo.clear()
        for i in range(self.length):
            stored = bf.get(i)
            if not stored and not self.writable:
                continue
            ok = self._block_verifies(i)
            if not stored:
                if ok:
                    report["cleared_bits"].append(i)
                continue
            if ok:
                report["valid"] += 1
            else:
                report["invalid"] += 1
                report["invalid_blocks"].append(i)
                self._verified.set(i, False)
        report["bad_nodes"] = integrity.audit_parents(self.tree.bitfield, self._tree_file, self.length)
        if self.length:
            status, _ = self._check_length(self.length)
            report["signature_ok"] = status == "ok"
        if report["invalid_blocks"] and not self.read_only and not integrity.storage_damage(self.damage):
            self._forget_blocks(report["invalid_blocks"])
        return report

    def _block_verifies(self, i: int) -> bool:
        """True when block ``i``'s stored bytes hash to its stored leaf node."""
        try:
            offset, leaf = self._data_offset(i)
            self._offset_memo = (i, offset, leaf.size)
            data = self._data.read(offset, leaf.size) if leaf.size else b""
        except (NodeNotFoundError, OutOfRangeError):
            self._offset_memo = (-1, 0, 0)
            return False
        return crypto.leaf_hash(data) == leaf.hash

    def block_failed(self, index: int) -> None:
        """Block ``index`` turned out damaged on disk (it does not match its tree node): stop having it —
        its bit is cleared (in memory only: ``audit``/``repair`` decide what is written) and every peer is
        told with an ``Unhave``, so nobody keeps waiting for it from us."""
        self._verified.set(index, False)
        if not self.bitfield.get(index):
            return
        self.bitfield.set(index, False)
        for peer in list(self.peers):
            unhave = getattr(peer, "unhave", None)
            if unhave is not None:
                unhave(index, None)

    def _forget_blocks(self, blocks: list[int]) -> None:
        """Clear the data bits of ``blocks`` (bad data), tell peers, and write the bitfield."""
        for i in blocks:
            self._verified.set(i, False)
            self.bitfield.set(i, False)
            for peer in list(self.peers):
                unhave = getattr(peer, "unhave", None)
                if unhave is not None:
                    unhave(i, None)
        with self._storage.transaction():
            self._write_bitfield()

    async def repair(self) -> dict[str, Any]:
        """Keep what verifies and make the feed writable again (see the module docstring).

        Open the feed with ``allow_damaged=True`` first (a damaged feed refuses to open otherwise).
        Returns ``{"length_before", "length", "actions", "missing"}``: ``actions`` are sentences saying
        what was changed, ``missing`` the blocks below the length that are not stored (a replica's, or
        lost ones: fetch them from a peer).  Raises :class:`DamagedFeedError` when nothing verifies (the
        wrong key?) rather than drop every block.
        """
        await self._ensure_open()
        if self.read_only:
            raise ReadOnlyFeedError("cannot repair a feed opened read-only")
        files = self._files
        tree = self._tree_file
        sigs = self._signatures
        key = self.key
        actions: list[str] = []
        before = self.length
        stored_bits = self._stored_bitfield()  # as on disk (opening may have changed the one in memory)
        claimed = TreeIndex(stored_bits.tree).blocks()
        tree.clear_cache()

        # the longest stored signature that verifies over its stored roots
        signed, roots = 0, []
        mismatched = False  # a signature over stored roots that does not verify (the wrong key?)
        for slot, _sig in sigs.filled_slots_desc(sigs.slot_count()):
            status, found = integrity.check_length(sigs, tree, key, slot + 1)
            if status == "ok":
                signed, roots = slot + 1, found
                break
            mismatched = mismatched or status == "bad"
        # the tree computed from the stored blocks themselves (sizes from the stored leaves): when its roots
        # are the signed ones, every block and node of it is authentic, whatever stored node is damaged; a
        # writer whose blocks go on past the signed length signs the longest such prefix again
        nodes: dict[int, Node] = {}
        target = signed
        leaves = self._data_leaves()
        if leaves and len(leaves) >= signed:
            computed = _tree_of(leaves)
            if signed == 0 or _roots_of(computed, signed) == roots:
                if self.writable:
                    target = len(leaves)
                if target:
                    nodes = _tree_of(leaves[:target]) if target < len(leaves) else computed
        if target == 0 and mismatched:
            raise DamagedFeedError(f"no stored signature of this feed verifies with key {key.hex()} (the wrong key, "
                                   "or every signature is damaged): nothing was changed")
        with self._storage.transaction():
            if any(p.file == "key" for p in self.damage):
                files["key"].truncate(0)
                files["key"].write(0, key)
                actions.append("restored the key file" + (" from secret_key" if self.writable else ""))
            for name, header in (("tree", TREE_HEADER), ("signatures", SIGNATURES_HEADER),
                                 ("bitfield", bitfield_header(DEFAULT_PAGE_SIZE))):
                if read_exact(files[name], HEADER_SIZE) != header:
                    files[name].write(0, header)
                    actions.append(f"rewrote the {name} header")
            if nodes:
                rewritten = 0
                for index, node in nodes.items():
                    if tree.get_or_none(index) != node:
                        tree.put(index, node.hash, node.size)
                        rewritten += 1
                if rewritten:
                    actions.append(f"rewrote {rewritten} damaged or missing tree nodes (computed from the blocks, "
                                   "they give the signed roots)")
                roots = _roots_of(nodes, target)
                if target > signed:
                    assert self._secret_key is not None  # only a writer extends the signed length
                    sigs.put(target - 1, crypto.sign(crypto.tree_hash(roots), self._secret_key))
                    actions.append(f"signed length {target} again (every block verifies; the longest signature "
                                   f"that verified was for length {signed})")
            dropped = self._clear_slots_from(target)
            if dropped:
                actions.append(f"cleared {dropped} signature slots past length {target} that do not verify")
            tree.clear_cache()
            verified = nodes if nodes else self._verified_nodes(roots)
            bitfield, missing = self._rebuild_bitfield(target, verified)
            if _bits(bitfield) != _bits(stored_bits) or stored_bits.page_size != DEFAULT_PAGE_SIZE:
                new_pages = bytearray()
                for j in range(bitfield.pages.length):
                    page = bitfield.pages.pages.get(j)
                    new_pages += page if page is not None else bytes(bitfield.page_size)
                files["bitfield"].truncate(HEADER_SIZE)
                files["bitfield"].write(HEADER_SIZE, bytes(new_pages))
                actions.append(f"rebuilt the bitfield from what verifies (length {claimed} -> {target}"
                               + (f", {len(missing)} blocks missing" if missing else "") + ")")
            else:
                bitfield = stored_bits
        self.bitfield = bitfield
        self.tree = TreeIndex(bitfield.tree)
        self._verified = SparseBitfield()  # hash every block again on its next read
        bitfield.take_dirty_pages()
        tree.clear_cache()
        self._offset_memo = (-1, 0, 0)
        self._prefix_memo.clear()
        self.length = target
        self.byte_length = sum(r.size for r in roots)
        self._roots = list(roots)
        self.damage = [p for p in self.damage if p.file == "secret_key"]  # a damaged secret cannot be fixed
        self.recovered = None
        return {"length_before": before, "claimed": claimed, "length": target, "actions": actions,
                "missing": missing}

    def _stored_bitfield(self) -> Bitfield:
        """The bitfield as the file holds it (its header's page size when possible, else the default)."""
        f = self._files["bitfield"]
        size = f.size()
        head = f.read(0, HEADER_SIZE) if size >= HEADER_SIZE else b""
        page_size = int.from_bytes(head[5:7], "big") if head else DEFAULT_PAGE_SIZE
        index_size = page_size - 3072
        if index_size <= 0 or index_size & (index_size - 1):
            page_size = DEFAULT_PAGE_SIZE
        raw = f.read(HEADER_SIZE, size - HEADER_SIZE) if size > HEADER_SIZE else b""
        return Bitfield(page_size, [raw[i : i + page_size] for i in range(0, len(raw), page_size)])

    def _data_leaves(self) -> list[Node]:
        """Leaf nodes computed from the stored blocks, from block 0 on while a leaf (for its size) and the
        block's bytes are stored."""
        tree_file = self._tree_file.file
        data = self._data
        leaves: list[Node] = []
        offset = 0
        i = 0
        span = NODE_SIZE * (2 * _CHUNK - 1)
        while True:
            at = HEADER_SIZE + NODE_SIZE * 2 * i
            size = tree_file.size() - at
            if size < NODE_SIZE:
                return leaves
            raw = tree_file.read(at, min(span, size))
            for k in range(0, len(raw) - NODE_SIZE + 1, 2 * NODE_SIZE):
                leaf = raw[k : k + NODE_SIZE]
                if not any(leaf):
                    return leaves
                length = int.from_bytes(leaf[32:40], "big")
                try:
                    block = data.read(offset, length) if length else b""
                except OutOfRangeError:
                    return leaves
                leaves.append(Node(2 * i, crypto.leaf_hash(block), length))
                offset += length
                i += 1
            if len(raw) < span:
                return leaves

    def _verified_nodes(self, roots: list[Node]) -> dict[int, Node]:
        """Stored nodes below the verified ``roots`` that are the hash of their children, top-down."""
        tree = self._tree_file
        verified = {r.index: r for r in roots}
        todo = list(verified.values())
        while todo:
            node = todo.pop()
            kids = flat_tree.children(node.index)
            if kids is None:
                continue
            left, right = tree.get_or_none(kids[0]), tree.get_or_none(kids[1])
            if left is None or right is None:
                continue
            if left.size + right.size == node.size and crypto.parent_hash(left.hash, right.hash, node.size) == node.hash:
                verified[left.index] = left
                verified[right.index] = right
                todo.append(left)
                todo.append(right)
        return verified

    def _rebuild_bitfield(self, length: int, verified: dict[int, Node]) -> tuple[Bitfield, list[int]]:
        """A fresh bitfield of ``length`` blocks: tree bits for the ``verified`` nodes, data bits for blocks
        whose stored bytes hash to their verified leaf.  Returns it and the blocks it lacks."""
        bitfield = Bitfield(DEFAULT_PAGE_SIZE)
        index = TreeIndex(bitfield.tree)
        for n in sorted(verified):
            index.set(n)
        missing = []
        for i in range(length):
            leaf = verified.get(2 * i)
            offset = _offset_of(verified, i)
            ok = False
            if leaf is not None and offset is not None:
                try:
                    data = self._data.read(offset, leaf.size) if leaf.size else b""
                    ok = crypto.leaf_hash(data) == leaf.hash
                except OutOfRangeError:
                    ok = False
            if ok:
                bitfield.set(i, True)
            else:
                missing.append(i)
        if index.blocks() != length:
            raise DamagedFeedError(f"cannot rebuild the tree bits for length {length}; nothing was changed")
        return bitfield, missing

    def _clear_slots_from(self, length: int) -> int:
        """Zero the filled signature slots ``>= length`` (none of them verifies); returns how many."""
        sigs = self._signatures
        slots = [slot for slot, _ in sigs.filled_slots_desc(sigs.slot_count()) if slot >= length]
        if slots:
            sigs.file.truncate(HEADER_SIZE + SIGNATURE_SIZE * length)
        return len(slots)

    async def clear(self, start: int, end: int | None = None) -> None:
        """Forget blocks ``[start, end)``: clear their data bits and zero their bytes (tree nodes stay)."""
        await self._ensure_open()
        self._check_can_write()
        if end is None:
            end = start + 1
        changed = False
        for i in range(start, end):
            self._verified.set(i, False)
            if self.bitfield.set(i, False):
                changed = True
        if not changed:
            return
        for peer in list(self.peers):
            unhave = getattr(peer, "unhave", None)
            if unhave is not None:
                unhave(start, end - start)
        try:
            lo, _ = self._data_offset(start)
            if end >= self.length:
                hi = self.byte_length
            else:
                hi, _ = self._data_offset(end)
        except NodeNotFoundError:
            lo = hi = 0
        self._offset_memo = (-1, 0, 0)
        self._prefix_memo.clear()
        with self._storage.transaction():
            if hi > lo:
                self._data.delete(lo, hi - lo)
            self._write_bitfield()
        self.emit("clear", start, end)


def _tree_of(leaves: list[Node]) -> dict[int, Node]:
    """Every node of the tree over ``leaves`` (leaf ``i`` is node ``2*i``), parents computed."""
    nodes: dict[int, Node] = {}
    stack: list[Node] = []
    for i, node in enumerate(leaves):
        nodes[node.index] = node
        k = i
        while k & 1:
            left = stack.pop()
            size = left.size + node.size
            node = Node((left.index + node.index) >> 1, crypto.parent_hash(left.hash, node.hash, size), size)
            nodes[node.index] = node
            k >>= 1
        stack.append(node)
    return nodes


def _bits(bitfield: Bitfield) -> list[tuple[int, bytes]]:
    """The data and tree regions of every non-empty page (what the bitfield says, without its index)."""
    out = []
    for j in sorted(bitfield.pages.pages):
        part = bytes(bitfield.pages.pages[j][:3072])
        if any(part):
            out.append((j, part))
    return out


def _roots_of(nodes: dict[int, Node], length: int) -> list[Node]:
    return [nodes[r] for r in flat_tree.full_roots(2 * length)]


def _offset_of(nodes: dict[int, Node], i: int) -> int | None:
    """Byte offset of block ``i`` from the sizes of the full roots of ``[0, i)`` (None if one is unknown)."""
    total = 0
    for r in flat_tree.full_roots(2 * i):
        node = nodes.get(r)
        if node is None:
            return None
        total += node.size
    return total
