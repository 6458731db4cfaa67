"""hypercore 7 storage file formats (lib/storage.js): headers, tree node slots, signature slots.

* 32-byte header of ``tree``/``signatures``/``bitfield``: magic ``05 02 57``, file type (0 bitfield,
  1 signatures, 2 tree), version 0, entry size as uint16 big-endian, algorithm-name length, ASCII name,
  zero padding.
* ``tree``: node ``n`` at ``32 + 40*n`` = ``hash (32) || u64be(size)``; all-zero = no node.
* ``signatures``: slot ``k`` (signature of the feed at length ``k+1``) at ``32 + 64*k``; all-zero = blank.
* ``bitfield``: pages of ``page_size`` bytes at ``32 + page_size*j`` (see :mod:`.bitfield`).
* ``key`` (32 B) and ``secret_key`` (64 B) are raw, headerless.

:class:`TreeFile` and :class:`SignatureFile` wrap the random-access files with slot I/O; the tree keeps a
bounded node cache (sizes are needed on every ``get``) and can stage a batch of node writes.
"""

from __future__ import annotations

from ...storage.base import OutOfRangeError, RandomAccessFile
from .errors import NodeNotFoundError, SignatureNotFoundError
from ...protocol.messages import Node
from .node_cache import NodeCache

__all__ = [
    "HEADER_SIZE",
    "NODE_SIZE",
    "SIGNATURE_SIZE",
    "BITFIELD_TYPE",
    "SIGNATURES_TYPE",
    "TREE_TYPE",
    "header",
    "TREE_HEADER",
    "SIGNATURES_HEADER",
    "bitfield_header",
    "bitfield_page_size",
    "encode_node",
    "TreeFile",
    "SignatureFile",
]

HEADER_SIZE = 32
NODE_SIZE = 40
SIGNATURE_SIZE = 64
MAGIC = b"\x05\x02\x57"

BITFIELD_TYPE = 0
SIGNATURES_TYPE = 1
TREE_TYPE = 2

_ZERO_NODE = bytes(NODE_SIZE)
_new_node = tuple.__new__  # Node's own constructor, without the NamedTuple keyword handling
_ZERO_SIGNATURE = bytes(SIGNATURE_SIZE)


def header(file_type: int, entry_size: int, name: str | None) -> bytes:
    """The 32-byte header hypercore writes at the start of ``tree``/``signatures``/``bitfield``."""
    buf = bytearray(HEADER_SIZE)
    buf[0:3] = MAGIC
    buf[3] = file_type
    buf[4] = 0
    buf[5:7] = entry_size.to_bytes(2, "big")
    if name:
        raw = name.encode("ascii")
        buf[7] = len(raw)
        buf[8 : 8 + len(raw)] = raw
    return bytes(buf)


TREE_HEADER = header(TREE_TYPE, NODE_SIZE, "BLAKE2b")
SIGNATURES_HEADER = header(SIGNATURES_TYPE, SIGNATURE_SIZE, "Ed25519")


def bitfield_header(page_size: int) -> bytes:
    return header(BITFIELD_TYPE, page_size, None)


def bitfield_page_size(head: bytes) -> int:
    """The page size recorded in a bitfield header (bytes 5..6, big-endian)."""
    return int.from_bytes(head[5:7], "big")


def encode_node(hash: bytes, size: int) -> bytes:
    return hash + size.to_bytes(8, "big")


class TreeFile:
    """Node slots of the ``tree`` file, with a bounded cache of nodes and staged (batched) writes.

    ``get`` looks in the cache (:class:`~.node_cache.NodeCache`, at most ``cache_size`` nodes), the
    staged nodes, then the file.  ``stage(node)`` records a node to write and makes it readable at
    once; ``flush_staged()`` writes every staged node, consecutive slots as one write (a received chunk
    of blocks writes its tree nodes in a few runs instead of one write per node).
    """

    __slots__ = ("file", "cache", "staged")

    def __init__(self, file: RandomAccessFile, cache_size: int = 65536) -> None:
        self.file = file
        self.cache = NodeCache(max(1, cache_size))
        self.staged: dict[int, Node] = {}

    def get(self, index: int) -> Node:
        """Node ``index``; raises :class:`NodeNotFoundError` for a blank or missing slot."""
        cache = self.cache
        node = cache.young.get(index)  # NodeCache.get, its common hit inlined
        if node is None:
            node = cache.revive(index)
        if node is not None:
            return node
        if self.staged:
            node = self.staged.get(index)
            if node is not None:
                return node
        try:
            buf = self.file.read(HEADER_SIZE + NODE_SIZE * index, NODE_SIZE)
        except OutOfRangeError:
            raise NodeNotFoundError() from None
        if buf == _ZERO_NODE:
            raise NodeNotFoundError()
        node = _new_node(Node, (index, buf[:32], int.from_bytes(buf[32:40], "big")))
        if type(index) is int:  # every caller in the package; anything else goes through the checks
            cache.add_read(node)
        else:
            cache.put(node)
        return node

    def get_or_none(self, index: int) -> Node | None:
        try:
            return self.get(index)
        except NodeNotFoundError:
            return None

    def sizes(self, first: int, count: int) -> list[int]:
        """Sizes of leaves ``first, first+2, ...`` (``count`` of them) read in one go."""
        if count <= 0:
            return []
        span = NODE_SIZE * (2 * count - 1)
        try:
            buf = self.file.read(HEADER_SIZE + NODE_SIZE * first, span)
        except OutOfRangeError:
            raise NodeNotFoundError() from None
        return [int.from_bytes(buf[80 * k + 32 : 80 * k + 40], "big") for k in range(count)]

    def put(self, index: int, hash: bytes, size: int) -> None:
        self.file.write(HEADER_SIZE + NODE_SIZE * index, hash + size.to_bytes(8, "big"))

    def stage(self, node: Node) -> None:
        """Record ``node`` to be written by :meth:`flush_staged` (readable through :meth:`get` now)."""
        self.staged[node.index] = node
        self.cache.put(node)

    def flush_staged(self) -> None:
        """Write the staged nodes, each run of consecutive slots with one write."""
        staged = self.staged
        if not staged:
            return
        self.staged = {}
        write = self.file.write
        run: list[bytes] = []
        first = prev = -2
        for index in sorted(staged):
            if index != prev + 1 and run:
                write(HEADER_SIZE + NODE_SIZE * first, b"".join(run))
                run = []
            if not run:
                first = index
            node = staged[index]
            run.append(node.hash + node.size.to_bytes(8, "big"))
            prev = index
        write(HEADER_SIZE + NODE_SIZE * first, b"".join(run))

    def drop_staged(self) -> None:
        """Forget staged nodes that will not be written (a failed batch): they leave the cache too."""
        for index in self.staged:
            self.cache.pop(index)
        self.staged = {}

    def clear_cache(self) -> None:
        self.cache.clear()


class SignatureFile:
    """Signature slots of the ``signatures`` file."""

    __slots__ = ("file",)

    def __init__(self, file: RandomAccessFile) -> None:
        self.file = file

    def get_raw(self, slot: int) -> bytes | None:
        """The 64 stored bytes of ``slot``, or None when blank/missing."""
        try:
            buf = self.file.read(HEADER_SIZE + SIGNATURE_SIZE * slot, SIGNATURE_SIZE)
        except OutOfRangeError:
            return None
        if buf == _ZERO_SIGNATURE:
            return None
        return bytes(buf)

    def get(self, slot: int) -> bytes:
        sig = self.get_raw(slot)
        if sig is None:
            raise SignatureNotFoundError()
        return sig

    def put(self, slot: int, signature: bytes) -> None:
        self.file.write(HEADER_SIZE + SIGNATURE_SIZE * slot, signature)

    def slot_count(self) -> int:
        return max(0, (self.file.size() - HEADER_SIZE) // SIGNATURE_SIZE)

    def filled_slots_desc(self, below: int, chunk: int = 1024):
        """Yield ``(slot, signature)`` for non-blank slots ``< below``, highest first (read in chunks)."""
        top = min(below, self.slot_count())
        while top > 0:
            lo = max(0, top - chunk)
            buf = self.file.read(HEADER_SIZE + SIGNATURE_SIZE * lo, SIGNATURE_SIZE * (top - lo))
            for k in range(top - lo - 1, -1, -1):
                sig = buf[SIGNATURE_SIZE * k : SIGNATURE_SIZE * (k + 1)]
                if sig != _ZERO_SIGNATURE:
                    yield lo + k, bytes(sig)
            top = lo
