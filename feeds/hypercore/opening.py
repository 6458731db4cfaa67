"""Opening and closing a hypercore: loading its six files, checking the stored signature, recovering a
torn tail, and releasing everything on close (see the integrity policy in ``core.py``)."""

from __future__ import annotations

import logging

from . import crypto, flat_tree, integrity
from .bitfield import DEFAULT_PAGE_SIZE, Bitfield
from .errors import (
    AnotherHypercoreError,
    CorruptStorageError,
    FeedClosedError,
    FeedNotWritableError,
    LocalSignatureError,
    NoHypercoreError,
    NotOpenError,
)
from .format import (
    HEADER_SIZE,
    SIGNATURES_HEADER,
    TREE_HEADER,
    SignatureFile,
    TreeFile,
    bitfield_header,
    bitfield_page_size,
)
from .state import CoreState, read_exact
from .tree_index import TreeIndex
from ...protocol.messages import Node

log = logging.getLogger("hyperparty.feeds.hypercore.core")

_full_roots = flat_tree.full_roots

FILE_NAMES = ("key", "secret_key", "tree", "data", "bitfield", "signatures")


class _Opening(CoreState):
    """The opening methods of :class:`~hyperparty.feeds.hypercore.core.Hypercore`."""

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
        stored_key = read_exact(files["key"], 32)
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
        head = read_exact(bf_file, HEADER_SIZE)
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
        stored_secret = read_exact(files["secret_key"], 64)
        stored_key = read_exact(files["key"], 32)

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
        secret_to_store = self._secret_key if self._store_secret_key else None
        with st.transaction():
            if generated or stored_key != self._key:
                files["key"].write(0, self._key)
            if secret_to_store is not None and (generated or stored_secret != secret_to_store):
                files["secret_key"].write(0, secret_to_store)
            if self._overwrite:
                bf_file.truncate(HEADER_SIZE)

        self._load_length(length)

    def _check_length(self, length: int) -> tuple[str, list[Node]]:
        return integrity.check_length(self._signatures, self._tree_file, self.key, length)

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
            length, roots = integrity.recover_length(self._signatures, self._tree_file, self.key, old_length)
            log.warning(
                "hypercore %s: torn tail, dropped back from length %d to %d", self.key.hex()[:16], old_length, length
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
