"""The Hypercore class: a signed append-only log stored exactly like hypercore 7.7.1 stores it.

Files (``key``, ``secret_key``, ``tree``, ``data``, ``bitfield``, ``signatures``) are byte-identical to
what JS hypercore writes for the same operations (see ``format.py``/``bitfield.py``).  Storage calls are
synchronous (see ``storage/base.py``), so every operation below runs to completion without yielding:
appends and verified writes are atomic with respect to the event loop.

Integrity policy (beyond JS):

* **Write order.**  An append writes data, tree nodes and the signature first, and the bitfield pages
  last, all inside one ``storage.transaction()`` (atomic on LMDB).  A kill can therefore only lose
  bitfield updates, never leave bits pointing at unwritten bytes.  Pages are written highest first: a
  parent node's bit can live in a lower page than its right leaves, so a kill between two page writes
  must leave the lower page stale (the length derived on open stays at the old batch end) rather than
  the higher one (a length whose leaves' bits were never written).  Verified writes from peers
  (:meth:`Hypercore.put`) use the same order.
* **Open** (``integrity.py``).  ``length`` comes from the tree bits (as in JS); the signature in slot
  ``length-1`` is then verified against the stored roots.  When that slot or a root is blank/missing
  (a torn tail), the feed drops back to the largest earlier length whose signature verifies and clears
  the bits past it; the ``recovered`` attribute and a ``"recovered"`` event report
  ``(old_length, new_length)``.  When the slot and roots are present but the signature does not verify
  (wrong key, flipped bytes), opening raises :class:`LocalSignatureError`.  Bits past the signed length
  are always cleared.
* **Reads.**  ``get``/``read_block`` re-hash the block and compare with its stored leaf node
  (:class:`BlockChecksumError` on mismatch, also for a truncated data file).  Parent nodes are not
  re-checked on every read; :meth:`Hypercore.audit` re-hashes every block and every stored parent,
  re-verifies the signature, and clears the data bits of bad blocks (as JS ``audit`` does) so they can
  be fetched again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Iterable, NamedTuple, Sequence

from .. import base as _feed_base
from . import crypto, flat_tree, integrity
from .bitfield import DEFAULT_PAGE_SIZE, Bitfield, SparseBitfield
from .errors import (
    AnotherHypercoreError,
    BlockChecksumError,
    BlockNotAvailable,
    CorruptStorageError,
    DataSizeError,
    FeedClosedError,
    FeedNotWritableError,
    GetTimeoutError,
    HypercoreError,
    LocalSignatureError,
    NodeNotFoundError,
    NoHypercoreError,
    NoProofError,
    NotOpenError,
    NotWritableError,
    RequestCancelledError,
    VerificationError,
)
from ...events import EventEmitter
from .format import (
    HEADER_SIZE,
    SIGNATURES_HEADER,
    TREE_HEADER,
    SignatureFile,
    TreeFile,
    bitfield_header,
    bitfield_page_size,
)
from ...protocol.messages import Node
from .selections import Selection, Waiting
from .tree_index import TreeIndex
from .verify import proof_parts, verify_put
from ...storage.base import OutOfRangeError

if TYPE_CHECKING:  # pragma: no cover
    from ...protocol.stream import ProtocolStream
    from ...storage.base import RandomAccessFile, Storage

__all__ = ["Hypercore", "Proof", "Node"]

log = logging.getLogger(__name__)

FILE_NAMES = ("key", "secret_key", "tree", "data", "bitfield", "signatures")

_blake2b = crypto._blake2b
_full_roots = flat_tree.full_roots


class Proof(NamedTuple):
    """A proof for one block: nodes (``Node(index, hash, size)``) and the signature (or None).

    ``verified_by`` is ``2 * length`` of the signed tree when the proof reaches the roots, else 0.
    """

    nodes: list[Node]
    signature: bytes | None
    verified_by: int = 0


def _to_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"hypercore blocks are bytes or str, not {type(value).__name__}")


def _read_exact(file: "RandomAccessFile", length: int) -> bytes | None:
    """The first ``length`` bytes of ``file``, or None when it is shorter."""
    if file.size() < length:
        return None
    return file.read(0, length)


_PREFIX_MEMO_SIZE = 1 << 18  # entries kept by Hypercore._prefix_bytes before it starts over


class Hypercore(EventEmitter, _feed_base.Feed):
    """A hypercore 7 feed.

    ``Hypercore(storage, key=None, secret_key=None, sparse=False)``: ``storage`` is a
    :class:`~hyperparty.storage.base.Storage` or a spec string for ``open_storage`` (``"memory"``,
    ``"file:DIR"``, ``"lmdb:DIR"``; the feed then owns and closes it).  ``key``/``secret_key`` are bytes or
    hex strings.  Without a key and without a stored one, a key pair is generated (a new writable feed).

    Events (``on(name, fn)``): ``ready()``, ``append()``, ``download(index, data)``,
    ``upload(index, data, peer)`` (emitted by the replicator), ``sync()``, ``recovered(old, new)``,
    ``close()``.
    """

    KIND = "hypercore"

    def __init__(
        self,
        storage: "Storage | str",
        key: bytes | str | None = None,
        secret_key: bytes | str | None = None,
        sparse: bool = False,
        *,
        create_if_missing: bool = True,
        overwrite: bool = False,
        writable: bool = False,
        store_secret_key: bool = True,
        storage_cache_size: int = 65536,
        extensions: Iterable[str] = (),
        id: bytes | None = None,
        max_requests: int | None = None,
        allow_push: bool = False,
    ) -> None:
        EventEmitter.__init__(self)
        _feed_base.Feed.__init__(self)
        if isinstance(storage, str):
            from ...storage import open_storage

            self._storage = open_storage(storage)
            self._owns_storage = True
        else:
            self._storage = storage
            self._owns_storage = False

        if isinstance(key, str):
            key = bytes.fromhex(key)
        if isinstance(secret_key, str):
            secret_key = bytes.fromhex(secret_key)
        if key is not None:
            key = bytes(key)
            if len(key) != 32:
                raise ValueError("key must be 32 bytes")
        if secret_key is not None:
            secret_key = bytes(secret_key)
            if len(secret_key) != 64:
                raise ValueError("secret_key must be 64 bytes (libsodium layout: seed || public key)")
            if key is None:
                key = secret_key[32:]
            elif secret_key[32:] != key:
                raise ValueError("secret_key does not belong to key")

        self._key: bytes | None = key
        self._secret_key: bytes | None = secret_key
        self._discovery_key: bytes | None = crypto.discovery_key(key) if key is not None else None
        self.id: bytes = id if id is not None else crypto.random_bytes(32)
        self.live = True
        self._sparse = bool(sparse)
        self.length = 0
        self.byte_length = 0
        self.max_requests = max_requests
        self.allow_push = allow_push
        self.extensions: list[str] = sorted(extensions)
        self.writable = False
        self.readable = True
        self.opened = False
        self.closed = False
        self.recovered: tuple[int, int] | None = None

        self._create_if_missing = create_if_missing
        self._overwrite = overwrite
        self._want_writable = writable
        self._store_secret_key = store_secret_key
        self._cache_size = storage_cache_size

        self.bitfield: Bitfield | None = None
        self.tree: TreeIndex | None = None
        self._files: dict[str, "RandomAccessFile"] = {}
        self._tree_file: TreeFile | None = None
        self._signatures: SignatureFile | None = None
        self._data: "RandomAccessFile | None" = None
        self._roots: list[Node] = []
        self._emit_sync = False
        self._offset_memo: tuple[int, int, int] = (-1, 0, 0)
        self._prefix_memo: dict[int, int] = {}  # block i -> bytes in blocks [0, i) (see _prefix_bytes)
        self._synced: Any = None
        self._open_error: BaseException | None = None

        # replication-facing state (read and written by replicate.py)
        self.peers: list[Any] = []
        self.selections: list[Selection] = []
        self.waiting: list[Waiting] = []
        self.reserved = SparseBitfield()
        self.stats = {"downloaded_blocks": 0, "downloaded_bytes": 0, "uploaded_blocks": 0, "uploaded_bytes": 0}
        if not self._sparse:
            self.selections.append(Selection(0, -1))

    # ------------------------------------------------------------------------------------------------
    # Feed interface / properties

    @property
    def key(self) -> bytes:
        if self._key is None:
            raise NotOpenError("The key is not known before ready()")
        return self._key

    @property
    def discovery_key(self) -> bytes:
        if self._discovery_key is None:
            raise NotOpenError("The discovery key is not known before ready()")
        return self._discovery_key

    @property
    def secret_key(self) -> bytes | None:
        return self._secret_key

    @property
    def sparse(self) -> bool:
        return self._sparse

    @property
    def storage(self) -> "Storage":
        return self._storage

    @property
    def remote_length(self) -> int:
        """The longest length any replication peer announced (peers expose ``remote_length``)."""
        return max((getattr(p, "remote_length", 0) for p in self.peers), default=0)

    def cores(self) -> Sequence["Hypercore"]:
        return [self]

    def __repr__(self) -> str:
        key = self._key.hex()[:16] if self._key else None
        return f"Hypercore(key={key}, length={self.length}, writable={self.writable}, sparse={self._sparse})"

    # ------------------------------------------------------------------------------------------------
    # open / close

    async def ready(self) -> None:
        """Open the storage and load the state (idempotent)."""
        self.open_sync()

    def open_sync(self) -> None:
        """Synchronous :meth:`ready` (storage is synchronous)."""
        if self.opened:
            return
        if self.closed:
            raise FeedClosedError()
        if self._open_error is not None:
            raise self._open_error
        try:
            self._open()
        except BaseException as err:
            self._open_error = err
            self._close_files()
            self.readable = False
            raise
        self.opened = True
        self.emit("ready")

    def _open(self) -> None:
        st = self._storage
        files = self._files = {name: st.open(name) for name in FILE_NAMES}
        stored_key = _read_exact(files["key"], 32)
        if stored_key is not None and not self._overwrite and self._key is None:
            self._key = stored_key
        generated = False
        if self._key is None:
            if not self._create_if_missing:
                raise NoHypercoreError()
            self._key, self._secret_key = crypto.key_pair()
            generated = True
        self._discovery_key = crypto.discovery_key(self._key)

        # bitfield page size from its header (default 3584), then (re)write all headers as JS does
        bf_file = files["bitfield"]
        page_size = DEFAULT_PAGE_SIZE
        head = _read_exact(bf_file, HEADER_SIZE)
        if head is not None and any(head[:8]):
            page_size = bitfield_page_size(head)
            index_size = page_size - 3072
            if index_size <= 0 or index_size & (index_size - 1):
                raise CorruptStorageError(f"bitfield header has an impossible page size ({page_size})")
        with st.transaction():
            bf_file.write(0, bitfield_header(page_size))
            files["signatures"].write(0, SIGNATURES_HEADER)
            files["tree"].write(0, TREE_HEADER)

        pages: list[bytes] = []
        size = bf_file.size()
        if size > HEADER_SIZE:
            raw = bf_file.read(HEADER_SIZE, size - HEADER_SIZE)
            pages = [raw[i : i + page_size] for i in range(0, len(raw), page_size)]
        stored_secret = _read_exact(files["secret_key"], 64)
        stored_key = _read_exact(files["key"], 32)

        if stored_key is None and pages:
            self._overwrite = True  # data without a key cannot be verified: start over (JS does the same)
        if self._overwrite:
            pages = []
            stored_key = stored_secret = None

        self.bitfield = Bitfield(page_size, pages)
        self.tree = TreeIndex(self.bitfield.tree)
        self._tree_file = TreeFile(files["tree"], self._cache_size)
        self._signatures = SignatureFile(files["signatures"])
        self._data = files["data"]
        length = self.tree.blocks()

        if stored_key is not None and self._key != stored_key:
            raise AnotherHypercoreError()
        if stored_secret is not None:
            if stored_secret[32:] != self._key:
                raise CorruptStorageError("the stored secret_key does not belong to the stored key")
            self._secret_key = stored_secret

        self.writable = self._secret_key is not None
        if self._want_writable and not self.writable:
            raise FeedNotWritableError()
        store_secret = self._store_secret_key and self._secret_key is not None
        with st.transaction():
            if generated or stored_key != self._key:
                files["key"].write(0, self._key)
            if store_secret and (generated or stored_secret != self._secret_key):
                files["secret_key"].write(0, self._secret_key)
            if self._overwrite:
                bf_file.truncate(HEADER_SIZE)

        self._load_length(length)

    def _check_length(self, length: int) -> tuple[str, list[Node]]:
        return integrity.check_length(self._signatures, self._tree_file, self._key, length)

    def _load_length(self, length: int) -> None:
        """Accept ``length`` when its signature verifies; drop back on a torn tail (see module docstring)."""
        status, roots = self._check_length(length)
        if status == "bad":
            raise LocalSignatureError(
                f"The stored signature for length {length} does not verify against the stored tree roots "
                "(wrong key, or corrupt tree/signatures file)"
            )
        old_length = length
        if status == "torn":
            length, roots = integrity.recover_length(self._signatures, self._tree_file, self._key, old_length)
            log.warning(
                "hypercore %s: torn tail, dropped back from length %d to %d", self._key.hex()[:16], old_length, length
            )
            self.recovered = (old_length, length)

        changed = integrity.clear_past(self.bitfield, length)
        if changed or self.recovered:
            for r in _full_roots(2 * length):
                self.tree.set(r)
            if self.tree.blocks() != length:
                raise CorruptStorageError(f"cannot rebuild the tree bits for length {length}")
            if self.writable:
                self._repair_writer_bits(length)
            with self._storage.transaction():
                self._write_bitfield()
        self._tree_file.clear_cache()
        self._prefix_memo.clear()
        self.length = length
        self.byte_length = sum(r.size for r in roots)
        self._roots = roots
        if self.recovered:
            self.emit("recovered", *self.recovered)

    def _repair_writer_bits(self, length: int) -> None:
        """After a recovery, mark every block below ``length`` whose leaf is stored (a writer has them all)."""
        i = 0
        while i < length:
            nxt = self.bitfield.first_missing(i, length)
            if nxt == -1:
                break
            if self._tree_file.get_or_none(2 * nxt) is not None:
                self.bitfield.set(nxt, True)
                self.tree.set(2 * nxt)
            i = nxt + 1

    async def close(self) -> None:
        """Reject pending waits, release files (and the storage when the feed opened it)."""
        if self.closed:
            return
        self._close_channels()
        self.closed = True
        self.readable = False
        self.writable = False
        while self.waiting:
            self.waiting.pop().resolve(FeedClosedError())
        while self.selections:
            self.selections.pop().resolve(FeedClosedError())
        self._close_files()
        self.emit("close")

    def _close_files(self) -> None:
        for f in self._files.values():
            try:
                f.close()
            except Exception:  # pragma: no cover - closing is best effort
                log.debug("closing %s failed", f, exc_info=True)
        self._files = {}
        if self._owns_storage:
            try:
                self._storage.close()
            except Exception:  # pragma: no cover
                log.debug("closing storage failed", exc_info=True)

    def _check_open(self) -> None:
        if not self.opened:
            if self.closed:
                raise FeedClosedError()
            raise NotOpenError()
        if self.closed:
            raise FeedClosedError()

    async def _ensure_open(self) -> None:
        if not self.opened:
            await self.ready()
        if self.closed:
            raise FeedClosedError()

    # ------------------------------------------------------------------------------------------------
    # append

    async def append(self, data: "bytes | str | Sequence[bytes | str]") -> int:
        """Append one block or a list of blocks (one batch, one signature); returns the first seq."""
        await self._ensure_open()
        if isinstance(data, (bytes, bytearray, memoryview, str)):
            blocks = [_to_bytes(data)]
        else:
            blocks = [_to_bytes(b) for b in data]
        return self.append_sync(blocks)

    def append_sync(self, blocks: Sequence[bytes]) -> int:
        """Synchronous batch append of ``bytes`` blocks (the feed must be open)."""
        self._check_open()
        if not self.writable:
            raise NotWritableError()
        start = self.length
        n = len(blocks)
        if n == 0:
            return start

        # -- build the node batch: slots for nodes [2*start, 2*start + 2n - 2], zero when incomplete
        roots: list = list(self._roots)
        lo = start << 1
        buf = bytearray(40 * (2 * n - 1))
        extra: list[tuple[int, bytes]] = []
        blake = _blake2b
        b = start
        total = 0
        for data in blocks:
            size = len(data)
            total += size
            sz = size.to_bytes(8, "big")
            h = blake(b"\x00" + sz + data, digest_size=32).digest()
            idx = b << 1
            o = (idx - lo) * 40
            buf[o : o + 40] = h + sz
            k = b
            while k & 1:
                left = roots.pop()
                size += left[2]
                sz = size.to_bytes(8, "big")
                h = blake(b"\x01" + sz + left[1] + h, digest_size=32).digest()
                idx = (left[0] + idx) >> 1
                if idx >= lo:
                    o = (idx - lo) * 40
                    buf[o : o + 40] = h + sz
                else:
                    extra.append((idx, h + sz))
                k >>= 1
            roots.append((idx, h, size))
            b += 1
        roots = [r if isinstance(r, Node) else Node(*r) for r in roots]
        signature = crypto.sign(crypto.tree_hash(roots), self._secret_key)

        data_file = self._data
        tree_file = self._tree_file.file
        with self._storage.transaction():
            data_file.write_many(self.byte_length, blocks)
            tree_file.write(HEADER_SIZE + 40 * lo, buf)
            for idx, raw in extra:
                tree_file.write(HEADER_SIZE + 40 * idx, raw)
            self._signatures.put(start + n - 1, signature)
            bf = self.bitfield
            if n == 1:
                bf.set(start, True)
                self.tree.set(lo)
            else:
                bf.set_range(start, start + n)
                self.tree.set_leaves(start, start + n)
            self._write_bitfield()

        self._roots = roots
        self.byte_length += total
        self.length = start + n
        self.emit("append")
        if self.peers:
            self._announce(start, n if n > 1 else None)
        if self.waiting or self.selections:
            self._poll_waiting()
        return start

    def _write_bitfield(self) -> None:
        """Write every dirty bitfield page whole, highest page first (see module docstring)."""
        dirty = self.bitfield.take_dirty_pages()
        if not dirty:
            return
        f = self._files["bitfield"]
        ps = self.bitfield.page_size
        for j, page in dirty:
            f.write(HEADER_SIZE + ps * j, page)

    def _announce(self, start: int, length: int | None, from_peer: Any = None) -> None:
        """Tell every peer but ``from_peer`` that we have new blocks (``length`` None = one block, as JS)."""
        for peer in list(self.peers):
            if peer is not from_peer:
                peer.have(start, length)

    def update_peers(self) -> None:
        """Ask every replication peer to (re)consider what to request (JS ``_updatePeers``)."""
        for peer in list(self.peers):
            peer.update()

    # ------------------------------------------------------------------------------------------------
    # reading

    def has(self, index: int, end: int | None = None) -> bool:
        """True when block ``index`` (or every block in ``[index, end)``) is stored locally."""
        self._check_open()
        if end is None:
            return self.bitfield.get(index)
        return self.bitfield.first_missing(index, end) == -1

    def has_all(self, start: int, end: int) -> bool:
        """True when every block in ``[start, end)`` is stored locally."""
        return self.has(start, end)

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

    def _data_offset(self, index: int, cached: dict[int, Node] | None = None) -> tuple[int, Node]:
        """``(byte offset, leaf node)`` of block ``index`` (from ``cached``, the node cache or the tree)."""
        get = self._tree_file.get
        memo_i, memo_off, memo_size = self._offset_memo
        if memo_i == index - 1 and index > 0:  # offsets never change once the nodes exist
            offset = memo_off + memo_size
        else:
            offset = self._prefix_bytes(index, cached)
        leaf = cached.get(2 * index) if cached else None
        if leaf is None:
            leaf = get(2 * index)
        return offset, leaf

    def _prefix_bytes(self, i: int, cached: dict[int, Node] | None = None) -> int:
        """Bytes in blocks ``[0, i)``: the sizes of the full roots of ``[0, i)``, memoised per prefix.

        ``i`` is a sum of powers of two; the last root covers ``[i - low, i)`` with ``low`` the lowest set
        bit of ``i`` (flat-tree index ``2*(i - low) + low - 1``), so the offset of ``i`` is the offset of
        ``i - low`` plus that root's size.  Prefixes with many low zero bits are shared by many blocks, so
        a replica filling blocks in random order mostly hits the memo after a step or two instead of
        reading every root.  Offsets never change once the nodes exist (sizes are immutable).
        """
        memo = self._prefix_memo
        get = self._tree_file.get
        chain = []
        while i and i not in memo:
            low = i & -i
            a = i - low
            chain.append((i, 2 * a + low - 1))
            i = a
        offset = memo[i] if i else 0
        if len(memo) > _PREFIX_MEMO_SIZE:
            memo.clear()
        for j, r in reversed(chain):
            node = cached.get(r) if cached else None
            offset += (node if node is not None else get(r)).size
            memo[j] = offset
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
        if _blake2b(b"\x00" + size.to_bytes(8, "big") + data, digest_size=32).digest() != leaf.hash:
            raise BlockChecksumError(f"Block {index} does not match its tree node")
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
        for k, size in enumerate(sizes):
            data = buf[pos : pos + size]
            leaf_hash = get(2 * (start + k)).hash
            if blake(b"\x00" + size.to_bytes(8, "big") + data, digest_size=32).digest() != leaf_hash:
                raise BlockChecksumError(f"Block {start + k} does not match its tree node")
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
        return crypto.verify(self.root_hash(index + 1), signature, self._key)

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

    # ------------------------------------------------------------------------------------------------
    # proofs and verified writes (replication)

    def digest(self, index: int) -> int:
        """The Request ``nodes`` digest for block ``index`` (``tree.digest(2*index)``)."""
        self._check_open()
        return self.tree.digest(2 * index)

    def proof(
        self,
        index: int,
        *,
        digest: int = 0,
        hash: bool = False,
        remote_tree: TreeIndex | None = None,
    ) -> Proof:
        """The nodes (and signature) a peer with ``digest``/``remote_tree`` needs to verify block ``index``."""
        self._check_open()
        result = self.tree.proof(2 * index, digest, hash, remote_tree)
        if result is None:
            raise NoProofError()
        get = self._tree_file.get
        nodes = [get(n) for n in result.nodes]
        signature = None
        if result.verified_by:
            signature = self._signatures.get(result.verified_by // 2 - 1)
        return Proof(nodes, signature, result.verified_by)

    def put(self, index: int, data: bytes | None, proof: Any, *, from_peer: Any = None) -> None:
        """Verify block ``index`` (``data``; None for a hash-only response) with ``proof`` and store it.

        ``proof`` has ``nodes`` (objects with ``index``, ``hash``, ``size``) and ``signature`` (bytes or
        None), e.g. a :class:`Proof` or a protocol ``Data`` message.  Every check happens before the first
        write; on error (a :class:`VerificationError` subclass with the JS message, or
        ``NodeNotFoundError``) storage is unchanged.
        """
        self._check_open()
        if index < 0:
            raise VerificationError("Negative block index")
        if data is not None:
            data = _to_bytes(data)
        nodes, signature = proof_parts(proof)
        result = verify_put(self.tree, self._tree_file.get, self._key, self.length, index, data, nodes, signature)
        to_write = result.nodes
        new_roots = result.roots
        sig_slot = result.signature_slot
        tree = self.tree

        # data placement (checked before writing anything)
        offset = 0
        if data:
            cached = {n.index: n for n in to_write}
            offset, leaf = self._data_offset(index, cached)
            if leaf.size != len(data):
                raise DataSizeError()
            memo = (index, offset, leaf.size)

        # 4. write: nodes, data, signature, then the bitfield
        new_length = result.verified_by // 2
        grew = new_roots is not None and new_length > self.length
        bf = self.bitfield
        downloaded = False
        with self._storage.transaction():
            put_node = self._tree_file.put
            for node in to_write:
                put_node(node.index, node.hash, node.size)
            if data:
                self._data.write(offset, data)
                self._offset_memo = memo
            if sig_slot >= 0:
                self._signatures.put(sig_slot, result.signature)
            if grew:
                self.length = new_length
                self.byte_length = sum(r.size for r in new_roots)
                self._roots = list(new_roots)
                if self._synced is not None:
                    self._synced.seek(0)
            for node in to_write:
                tree.set(node.index)
            tree.set(2 * index)
            if data is not None:
                downloaded = bf.set(index, True)
                if not self.writable:
                    if self._synced is None:
                        self._synced = bf.iterator(0, self.length)
                    if self._synced.next() == -1:
                        self._synced.range(0, self.length)
                        self._synced.seek(0)
                        if self._synced.next() == -1:
                            self._emit_sync = True
            self._write_bitfield()

        if grew:
            self.emit("append")
        if downloaded:
            self.stats["downloaded_blocks"] += 1
            self.stats["downloaded_bytes"] += len(data)
            self.emit("download", index, data)
        if data is not None and self.peers:
            self._announce(index, None, from_peer)
        if self._emit_sync:
            self._emit_sync = False
            self.emit("sync")
        self._poll_waiting()

    # ------------------------------------------------------------------------------------------------
    # selections / waiting

    def select(self, start: int = 0, end: int = -1, *, linear: bool = False, hash: bool = False) -> Selection:
        """Add a download selection (what ``download`` does without waiting) and return it."""
        sel = Selection(start, end, linear=linear, hash=hash)
        self.selections.append(sel)
        if self.opened and not self.closed and self._selection_done(sel):
            self.resolve_selection(sel)
            return sel
        self.update_peers()
        return sel

    async def download(
        self,
        start: int = 0,
        end: int = -1,
        *,
        linear: bool = False,
        hash: bool = False,
        timeout: float | None = None,
    ) -> None:
        """Fetch blocks ``[start, end)`` from peers; returns when all are local (``end=-1``: open range)."""
        await self._ensure_open()
        sel = self.select(start, end, linear=linear, hash=hash)
        if sel.finished:
            return
        await self._wait(sel, self.selections, timeout)

    def undownload(self, sel: Selection) -> None:
        """Cancel a selection (its waiter gets ``RequestCancelledError("Download was cancelled")``)."""
        if sel in self.selections:
            self.selections.remove(sel)
        sel.resolve(RequestCancelledError("Download was cancelled"))

    def resolve_selection(self, sel: Selection, error: BaseException | None = None) -> None:
        """Remove ``sel`` and finish it (idempotent; the replicator calls this when it completes one)."""
        try:
            self.selections.remove(sel)
        except ValueError:
            pass
        sel.resolve(error)

    def resolve_waiting(self, w: Waiting, error: BaseException | None = None) -> None:
        try:
            self.waiting.remove(w)
        except ValueError:
            pass
        w.resolve(error)

    async def update(self, min_length: int | None = None, *, timeout: float | None = None) -> None:
        """Wait until the feed is at least ``min_length`` long (default: one longer than now)."""
        await self._ensure_open()
        if min_length is None or min_length < 0:
            min_length = self.length + 1
        if self.length >= min_length:
            return
        w = Waiting(min_length - 1, hash=True, update=True, min_length=min_length)
        await self._wait(w, self.waiting, timeout)

    def cancel(self, start: int, end: int | None = None) -> None:
        """Cancel selections inside ``[start, end)`` and waiting reads of blocks in it; unreserve them."""
        if end is None:
            end = start + 1
        for sel in list(self.selections):
            if start <= sel.start and sel.end != -1 and sel.end <= end:
                self.undownload(sel)
        for i in range(start, end):
            self.reserved.set(i, False)
        for w in list(self.waiting):
            if (start <= w.start and w.end != -1 and w.end <= end) or (start <= w.index < end):
                self.resolve_waiting(w, RequestCancelledError())

    async def _wait(self, entry: Any, queue: list, timeout: float | None) -> None:
        if entry not in queue:
            queue.append(entry)
        fut = entry._ensure_future()
        self.update_peers()
        try:
            if timeout is None:
                await asyncio.shield(fut)
            else:
                await asyncio.wait_for(asyncio.shield(fut), timeout)
        except asyncio.TimeoutError:
            self._abandon(entry, queue, GetTimeoutError())
            raise GetTimeoutError() from None
        except asyncio.CancelledError:
            self._abandon(entry, queue, RequestCancelledError())
            raise

    @staticmethod
    def _abandon(entry: Any, queue: list, error: BaseException) -> None:
        """Drop a wait nobody awaits any more (its future's exception is marked as retrieved)."""
        if entry in queue:
            queue.remove(entry)
        entry.resolve(error)
        fut = entry.future
        if fut is not None and fut.done() and not fut.cancelled():
            fut.exception()

    def _selection_done(self, sel: Selection) -> bool:
        if sel.end == -1 or sel.bytes:
            return False
        if sel.hash:
            tree = self.tree
            c = max(sel.cursor, sel.start)
            while c < sel.end and tree.get(2 * c):
                c += 1
            sel.cursor = c
            return c >= sel.end
        if sel.cursor < sel.end and not self.bitfield.get(sel.cursor):
            return False
        nxt = self.bitfield.first_missing(max(sel.cursor, sel.start), sel.end)
        if nxt == -1:
            return True
        sel.cursor = nxt
        return False

    def _poll_waiting(self) -> None:
        """Finish waiting reads whose block arrived and selections that are complete (JS ``_pollWaiting``)."""
        if self.waiting:
            get = self.bitfield.get
            for w in list(self.waiting):
                if w.bytes:
                    continue
                if w.update:
                    if self.length >= w.min_length:
                        self.resolve_waiting(w)
                elif get(w.index):
                    self.resolve_waiting(w)
        for sel in list(self.selections):
            if sel.end != -1 and self._selection_done(sel):
                self.resolve_selection(sel)

    # ------------------------------------------------------------------------------------------------
    # maintenance

    async def audit(self) -> dict[str, Any]:
        """Re-hash every stored block against its leaf node and every stored parent against its children,
        re-verify the signature of the current length, and clear the data bits of bad blocks.

        Returns ``{"valid", "invalid", "invalid_blocks", "bad_nodes", "signature_ok"}``.
        """
        await self._ensure_open()
        report: dict[str, Any] = {"valid": 0, "invalid": 0, "invalid_blocks": [], "bad_nodes": [], "signature_ok": True}
        bf = self.bitfield
        self._tree_file.clear_cache()
        self._offset_memo = (-1, 0, 0)
        self._prefix_memo.clear()
        for i in range(self.length):
            if not bf.get(i):
                continue
            ok = False
            try:
                offset, leaf = self._data_offset(i)
                self._offset_memo = (i, offset, leaf.size)
                data = self._data.read(offset, leaf.size) if leaf.size else b""
                ok = crypto.leaf_hash(data) == leaf.hash
            except (NodeNotFoundError, OutOfRangeError):
                ok = False
            if ok:
                report["valid"] += 1
            else:
                report["invalid"] += 1
                report["invalid_blocks"].append(i)
                bf.set(i, False)
        report["bad_nodes"] = integrity.audit_parents(self.tree.bitfield, self._tree_file, self.length)
        if self.length:
            status, _ = self._check_length(self.length)
            report["signature_ok"] = status == "ok"
        with self._storage.transaction():
            self._write_bitfield()
        return report

    async def clear(self, start: int, end: int | None = None) -> None:
        """Forget blocks ``[start, end)``: clear their data bits and zero their bytes (tree nodes stay)."""
        await self._ensure_open()
        if end is None:
            end = start + 1
        changed = False
        for i in range(start, end):
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

    # ------------------------------------------------------------------------------------------------
    # replication (the channel logic is in replicate.py; attach/replicate come from Feed)

    def _stream_defaults(self) -> dict[str, Any]:
        return {"id": self.id, "extensions": self.extensions}

    def _close_channels(self) -> None:
        """Close this core's channel on every stream it replicates on (the other feeds there go on)."""
        for attachment in self.attachments():
            channel = attachment.stream.channel(self.discovery_key)
            if channel is not None and channel.opened and not channel.closed:
                handler = channel.handler
                delegate = getattr(handler, "delegate", None)
                if delegate is not None:  # a party channel we replicate on: only stop replicating
                    delegate.on_close(channel, None)
                    handler.delegate = None
                else:
                    channel.close()
