"""Reading: blocks (each re-hashed against its stored leaf node), byte offsets, tree nodes, roots and
signatures."""

from __future__ import annotations

from typing import Sequence

from . import crypto, flat_tree
from .errors import BlockChecksumError, BlockNotAvailable, HypercoreError, NodeNotFoundError
from .selections import Waiting
from .state import CoreState
from ...protocol.messages import Node
from ...storage.base import OutOfRangeError


_blake2b = crypto._blake2b
_full_roots = flat_tree.full_roots


class _Reading(CoreState):
    """The reading methods of :class:`~hyperparty.feeds.hypercore.core.Hypercore`."""

    def has(self, index: int, end: int | None = None) -> bool:
        """True when block ``index`` (or every block in ``[index, end)``) is stored locally."""
        self._check_open()
        if end is None:
            return self.bitfield.get(index)
        return self.bitfield.first_missing(index, end) == -1

    def downloaded(self, start: int = 0, end: int | None = None) -> int:
        """Number of locally stored blocks in ``[start, end)`` (JS ``downloaded``)."""
        self._check_open()
        return self.bitfield.total(start, end)

    async def get(self, index: int, *, wait: bool = True, timeout: float | None = None) -> bytes:
        """Block ``index`` (verified against its leaf node).  Waits for replication unless ``wait=False``."""
        await self._ensure_open()
        if index < 0:
            raise IndexError("block index must be >= 0")
        if not self.bitfield.get(index):
            if not wait:
                raise BlockNotAvailable()
            w = Waiting(index)
            await self._wait(w, self.waiting, timeout)
        return self.read_block(index)

    async def head(self, *, wait: bool = True, timeout: float | None = None) -> bytes:
        """The last block."""
        await self._ensure_open()
        if self.length == 0:
            raise HypercoreError("feed is empty")
        return await self.get(self.length - 1, wait=wait, timeout=timeout)

    async def get_batch(self, start: int, end: int, *, wait: bool = True, timeout: float | None = None) -> list[bytes]:
        """Blocks ``[start, end)`` read with one data read (each verified against its leaf node)."""
        await self._ensure_open()
        if end <= start:
            return []
        if self.bitfield.first_missing(start, end) != -1:
            if not wait:
                raise BlockNotAvailable()
            await self.download(start, end, timeout=timeout)
        return self.read_batch(start, end)

    def _data_offset(self, index: int, verified: Sequence[Node] = ()) -> tuple[int, Node]:
        """``(byte offset, leaf node)`` of block ``index``: nodes come from ``verified`` (the nodes a put
        just verified, not stored yet), the node cache or the tree.  The block after the last one located
        takes its offset from the memo; a lookup table of ``verified`` is built only when the roots must
        be read."""
        memo_i, memo_off, memo_size = self._offset_memo
        if memo_i == index - 1 and index > 0:  # offsets never change once the nodes exist
            offset = memo_off + memo_size
        else:
            offset = self._prefix_bytes(index, {n.index: n for n in verified} if verified else None)
        leaf_index = 2 * index
        for leaf in verified:
            if leaf.index == leaf_index:
                return offset, leaf
        return offset, self._tree_file.get(leaf_index)

    def _prefix_bytes(self, i: int, cached: dict[int, Node] | None = None) -> int:
        """Bytes in blocks ``[0, i)``: the sizes of the full roots of ``[0, i)``, memoised per prefix.

        ``i`` is a sum of powers of two; the last root covers ``[i - low, i)`` with ``low`` the lowest set
        bit of ``i`` (flat-tree index ``2*(i - low) + low - 1``), so the offset of ``i`` is the offset of
        ``i - low`` plus that root's size.  Prefixes with many low zero bits are shared by many blocks, so
        a replica filling blocks in random order mostly hits the memo after a step or two instead of
        reading every root.  Offsets never change once the nodes exist (sizes are immutable), so the memo
        (:class:`~.offsets.OffsetMemo`, 8 bytes per block) keeps them until the storage is re-read.
        """
        memo = self._prefix_memo
        known = memo.get(i) if i else 0
        if known >= 0:
            return known
        get = self._tree_file.get
        chain = []
        while known < 0:
            low = i & -i
            a = i - low
            chain.append((i, 2 * a + low - 1))
            i = a
            known = memo.get(i) if i else 0
        offset = known
        put = memo.set
        for j, r in reversed(chain):
            node = cached.get(r) if cached else None
            offset += (node if node is not None else get(r)).size
            put(j, offset)
        return offset

    def read_block(self, index: int) -> bytes:
        """Synchronously read block ``index`` (must be stored) and check it against its leaf node."""
        self._check_open()
        if not self.bitfield.get(index):
            raise BlockNotAvailable()
        try:
            offset, leaf = self._data_offset(index)
        except NodeNotFoundError as err:
            raise BlockChecksumError(f"Block {index} has no stored tree node") from err
        size = leaf.size
        try:
            data = self._data.read(offset, size) if size else b""
        except OutOfRangeError as err:  # torn/truncated data file
            raise BlockChecksumError(f"Block {index} is missing from the data file") from err
        verified = self._verified
        if not verified.get(index):
            if _blake2b(b"\x00" + size.to_bytes(8, "big") + data, digest_size=32).digest() != leaf.hash:
                raise BlockChecksumError(f"Block {index} does not match its tree node")
            verified.set(index, True)
        self._offset_memo = (index, offset, size)
        return data

    def read_batch(self, start: int, end: int) -> list[bytes]:
        """Synchronously read blocks ``[start, end)`` with one data read (each verified)."""
        self._check_open()
        if self.bitfield.first_missing(start, end) != -1:
            raise BlockNotAvailable()
        offset, first = self._data_offset(start)
        n = end - start
        sizes = [first.size] + self._tree_file.sizes(2 * start + 2, n - 1)
        total = sum(sizes)
        try:
            buf = self._data.read(offset, total) if total else b""
        except OutOfRangeError as err:
            raise BlockChecksumError(f"Blocks {start}..{end - 1} are missing from the data file") from err
        out = []
        pos = 0
        get = self._tree_file.get
        blake = _blake2b
        verified = self._verified
        for k, size in enumerate(sizes):
            data = buf[pos : pos + size]
            if not verified.get(start + k):
                leaf_hash = get(2 * (start + k)).hash
                if blake(b"\x00" + size.to_bytes(8, "big") + data, digest_size=32).digest() != leaf_hash:
                    raise BlockChecksumError(f"Block {start + k} does not match its tree node")
                verified.set(start + k, True)
            out.append(data)
            pos += size
        self._offset_memo = (end - 1, offset + total - sizes[-1], sizes[-1])
        return out

    def get_node(self, index: int) -> Node:
        """Tree node ``index`` from storage (raises ``NodeNotFoundError``)."""
        self._check_open()
        return self._tree_file.get(index)

    def root_nodes(self, length: int | None = None) -> list[Node]:
        """The merkle roots of the feed at ``length`` (default: the current length)."""
        self._check_open()
        if length is None or length == self.length:
            return list(self._roots)
        return [self._tree_file.get(r) for r in _full_roots(2 * length)]

    def root_hash(self, length: int | None = None) -> bytes:
        """``tree_hash`` of the roots at ``length`` (what the signature of that length signs)."""
        return crypto.tree_hash(self.root_nodes(length))

    def signature(self, index: int | None = None) -> tuple[int, bytes]:
        """``(slot, signature)`` of the first stored signature at slot ``>= index`` (JS ``signature``)."""
        self._check_open()
        if index is None:
            index = self.length - 1
        if index < 0 or index >= self.length:
            raise HypercoreError("No signature available for this index")
        slot = index
        count = self._signatures.slot_count()
        while slot < count:
            sig = self._signatures.get_raw(slot)
            if sig is not None:
                return slot, sig
            slot += 1
        raise HypercoreError("No signature found")

    def verify(self, index: int, signature: bytes) -> bool:
        """True when ``signature`` signs the roots of the feed at length ``index + 1`` (JS ``verify``)."""
        self._check_open()
        return crypto.verify(self.root_hash(index + 1), signature, self.key)

    def seek(self, byte_offset: int) -> tuple[int, int]:
        """``(block index, offset inside it)`` of a byte offset, from local nodes (JS ``_seek``)."""
        self._check_open()
        if byte_offset == self.byte_length:
            return self.length, 0
        if byte_offset == 0:
            return 0, 0
        offset = byte_offset
        get = self._tree_file.get
        for r in _full_roots(2 * self.length):
            node = get(r)
            if node.size > offset:
                top = r
                while top & 1:
                    left = flat_tree.left_child(top)
                    if not self.tree.get(left):
                        raise HypercoreError("Unable to seek to this offset")
                    lnode = get(left)
                    if lnode.size > offset:
                        top = left
                    else:
                        offset -= lnode.size
                        top = flat_tree.sibling(left)
                        if not self.tree.get(top):
                            raise HypercoreError("Unable to seek to this offset")
                return top // 2, offset
            offset -= node.size
        raise HypercoreError("Out of bounds")
