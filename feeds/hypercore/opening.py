"""Opening and closing a hypercore: loading its six files, checking the stored signature, recovering a
torn tail, and releasing everything on close (see the integrity policy in ``core.py``)."""

from __future__ import annotations

import logging

from . import crypto, flat_tree, integrity
from .bitfield import DEFAULT_PAGE_SIZE, Bitfield
from .errors import (
    REPAIR_HINT,
    AnotherHypercoreError,
    CorruptStorageError,
    FeedClosedError,
    FeedNotWritableError,
    MissingKeyError,
    NoHypercoreError,
    NotOpenError,
    ReadOnlyFeedError,
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
from .integrity import Problem
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
            # a Ctrl-C or a cancellation is not the storage's fault: the next ready() tries again
            permanent = isinstance(err, Exception)
            if permanent:
                self._open_error = err
            self._close_files(close_storage=permanent)
            self.readable = False
            raise
        self.opened = True
        self.emit("ready")

    def _open(self) -> None:
        """Load the files, assess them (``integrity.assess``), and only then write what opening writes.

        Nothing is written when the feed is read-only or damaged; see the integrity policy in ``core.py``.
        """
        st = self._storage
        files = self._files = {name: st.open(name) for name in FILE_NAMES}
        readonly = self.read_only
        problems: list[Problem] = []

        key_size = files["key"].size()
        secret_size = files["secret_key"].size()
        stored_key = read_exact(files["key"], 32)
        stored_secret = read_exact(files["secret_key"], 64)
        holding = [n for n in ("tree", "signatures", "bitfield") if files[n].size() > HEADER_SIZE]
        if files["data"].size():
            holding.append("data")
        if self._overwrite:  # asked for explicitly: start over
            if readonly:
                raise ReadOnlyFeedError("cannot overwrite a feed opened read-only")
            stored_key = stored_secret = None
            key_size = secret_size = 0
            holding = []

        generated = False
        self._key_given = self._key
        if stored_key is not None:
            if self._key is not None and self._key != stored_key:
                raise AnotherHypercoreError()
            self._key = stored_key
        elif key_size or secret_size or holding:
            self._key = self._missing_key(key_size, stored_secret, holding, problems)
        elif self._key is None:
            if not self._create_if_missing or readonly:
                raise NoHypercoreError()
            self._key, self._secret_key = crypto.key_pair()
            generated = True
        key = self._key
        self._discovery_key = crypto.discovery_key(key)

        if stored_secret is not None:
            if stored_secret[32:] != key:
                key = self._key = self._mismatched_key(key, stored_secret, problems)
                self._discovery_key = crypto.discovery_key(key)
            if stored_secret[32:] == key:
                self._secret_key = stored_secret
        elif secret_size:
            problems.append(Problem("secret_key", f"the secret_key file is truncated ({secret_size} of 64 "
                                    "bytes): the writer's secret key is lost"))
        if self._secret_key is not None and not integrity.seed_matches(self._secret_key):
            problems.append(Problem("secret_key", "the secret key's seed does not give the public key (the "
                                    "secret key is damaged): its signatures would not verify, so appends are "
                                    "refused (the feed can still be read and served)"))
            self._secret_key = None
        self.writable = self._secret_key is not None
        if self._want_writable and not self.writable:
            raise FeedNotWritableError()

        # bitfield pages (page size from the header: hypercore 7 always writes 3584)
        bf_file = files["bitfield"]
        page_size = DEFAULT_PAGE_SIZE
        head = read_exact(bf_file, HEADER_SIZE)
        if head is not None and any(head[:8]):
            page_size = bitfield_page_size(head)
            index_size = page_size - 3072
            if index_size <= 0 or index_size & (index_size - 1):
                problems.append(Problem("bitfield", f"the bitfield header gives an impossible page size "
                                        f"({page_size}; hypercore 7 writes {DEFAULT_PAGE_SIZE})"))
                page_size = DEFAULT_PAGE_SIZE
        pages: list[bytes] = []
        size = bf_file.size()
        if size > HEADER_SIZE and not self._overwrite:
            raw = bf_file.read(HEADER_SIZE, size - HEADER_SIZE)
            pages = [raw[i : i + page_size] for i in range(0, len(raw), page_size)]

        self.bitfield = Bitfield(page_size, pages)
        self.tree = TreeIndex(self.bitfield.tree)
        self._tree_file = TreeFile(files["tree"], self._cache_size)
        self._signatures = SignatureFile(files["signatures"])
        self._data = files["data"]
        found = integrity.assess(self._signatures, self._tree_file, key, self.tree.blocks(),
                                 writer=self.writable, read_data=self._data.read)
        problems.extend(found.problems)
        self.damage = problems
        fatal = integrity.storage_damage(problems)
        if fatal:
            if not self._allow_damaged:
                raise integrity.damage_error(fatal, st)
            log.info("hypercore %s is damaged (nothing is written until repair): %s", key.hex()[:16],
                     "; ".join(map(str, fatal)))
        writes = not readonly and not fatal
        if writes:
            secret_to_store = self._secret_key if self._store_secret_key else None
            with st.transaction():
                if head != bitfield_header(page_size) or self._overwrite:
                    bf_file.write(0, bitfield_header(page_size))
                if read_exact(files["signatures"], HEADER_SIZE) != SIGNATURES_HEADER:
                    files["signatures"].write(0, SIGNATURES_HEADER)
                if read_exact(files["tree"], HEADER_SIZE) != TREE_HEADER:
                    files["tree"].write(0, TREE_HEADER)
                if generated or stored_key != key:
                    files["key"].write(0, key)
                if secret_to_store is not None and (generated or stored_secret != secret_to_store):
                    files["secret_key"].write(0, secret_to_store)
                if self._overwrite:
                    bf_file.truncate(HEADER_SIZE)
        self._load_length(found, persist=writes)

    def _missing_key(self, key_size: int, stored_secret: bytes | None, holding: list[str],
                     problems: list[Problem]) -> bytes:
        """The key of a feed whose ``key`` file is missing or cut short although the storage holds a feed:
        refused (:class:`MissingKeyError`), never replaced by a new key pair; with ``allow_damaged`` the
        public half of the secret key (or the key given) is used to read it."""
        what = "missing" if not key_size else f"truncated ({key_size} of 32 bytes)"
        if stored_secret is not None:
            message = (f"the key file is {what} but secret_key is there: refusing to make a new key pair over "
                       "it (the writer's identity would be lost); repair restores the key from secret_key")
            candidate: bytes | None = stored_secret[32:]
        else:
            held = ", ".join(holding) or "a key"
            message = (f"the key file is {what} but the storage holds a feed ({held}): refusing to start a new "
                       "one over it; repair --key KEY restores the key")
            candidate = self._key
        if self._key is not None and candidate is not None and candidate != self._key:
            raise AnotherHypercoreError()
        problem = Problem("key", message)
        if candidate is None or not self._allow_damaged:
            raise MissingKeyError(f"{message}; {REPAIR_HINT}", [problem])
        problems.append(problem)
        return candidate

    def _mismatched_key(self, key: bytes, secret: bytes, problems: list[Problem]) -> bytes:
        """``key`` (the key file) and the public half of ``secret`` differ: tell which file is damaged.
        A secret whose seed derives its public half is intact, so the key file is damaged (with
        ``allow_damaged`` the secret's key is used; repair restores the file); else the secret is damaged."""
        if integrity.seed_matches(secret):
            message = ("the key file does not match secret_key, whose seed is intact: the key file is damaged "
                       "(repair restores it from secret_key)")
            if not self._allow_damaged or (self._key_given is not None and self._key_given != secret[32:]):
                raise MissingKeyError(f"{message}; {REPAIR_HINT}", [Problem("key", message)])
            problems.append(Problem("key", message))
            return secret[32:]
        problems.append(Problem("secret_key", "the secret_key file does not belong to the key (it is damaged): "
                                "appends are refused (the feed can still be read and served)"))
        return key

    def _check_length(self, length: int) -> tuple[str, list[Node]]:
        return integrity.check_length(self._signatures, self._tree_file, self.key, length)

    def _load_length(self, found: integrity.Assessment, *, persist: bool) -> None:
        """Take the assessed length: drop a torn tail, complete an interrupted append, clear bits past the
        length; ``persist`` writes the changed bitfield pages (never for a read-only or damaged feed)."""
        length, roots = found.length, found.roots
        claimed = found.claimed
        if found.torn:
            log.warning("hypercore %s: torn tail, dropped back from length %d to %d (the last batch's "
                        "signature was never written)", self.key.hex()[:16], claimed, length)
            self.recovered = (claimed, length)
        elif found.forward:
            length, roots = found.forward, found.forward_roots
            log.warning("hypercore %s: completed an append interrupted before its bitfield write (length %d -> "
                        "%d; every block of it verifies)", self.key.hex()[:16], claimed, length)
            self.recovered = (claimed, length)
            for i in range(claimed, length):
                self.bitfield.set(i, True)
                self.tree.set(2 * i)
            for n in integrity.path_nodes(range(2 * claimed, 2 * length, 2), {r.index for r in roots}):
                self.tree.set(n)

        changed = integrity.clear_past(self.bitfield, length)
        if changed or self.recovered:
            for r in _full_roots(2 * length):
                self.tree.set(r)
            if self.tree.blocks() != length:
                raise CorruptStorageError(f"cannot rebuild the tree bits for length {length}")
            if self.writable and found.torn:
                self._repair_writer_bits(length)
            if persist:
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

    def _close_files(self, close_storage: bool = True) -> None:
        for f in self._files.values():
            try:
                f.close()
            except Exception:  # pragma: no cover - closing is best effort
                log.debug("closing %s failed", f, exc_info=True)
        self._files = {}
        if self._owns_storage and close_storage:
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
