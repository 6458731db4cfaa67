"""The Hypercore class: a signed append-only log stored exactly like hypercore 7.7.1 stores it.

The class is composed of one mixin per seam (``opening``, ``appending``, ``reading``, ``proofs``,
``waits``, ``maintenance``; their shared attributes are declared in ``state.py``); this module holds the
constructor, the identity properties and the policy below.

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
* **Reads.**  ``get``/``read_block`` hash a block and compare it with its stored leaf node
  (:class:`BlockChecksumError` on mismatch, also for a truncated data file) the first time it is read
  after open, and trust it on later reads (an uploader serving many peers hashes each block once, not
  on every request).  Blocks this process wrote are hashed on their first read too: storage damaged
  under an open feed is still caught when the block is first served.  Parent nodes are not
  re-checked on every read; :meth:`Hypercore.audit` re-hashes every block and every stored parent,
  re-verifies the signature, and clears the data bits of bad blocks (as JS ``audit`` does) so they can
  be fetched again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ...events import EventEmitter
from ...protocol.messages import Node
from ..base import Feed
from . import crypto
from .appending import _Appending
from .bitfield import SparseBitfield
from .errors import NotOpenError
from .integrity import Problem
from .maintenance import _Maintenance
from .offsets import OffsetMemo
from .opening import _Opening
from .proofs import _Proofs
from .reading import _Reading
from .selections import Selection, Waiting
from .state import Proof
from .waits import _Waits

if TYPE_CHECKING:  # pragma: no cover
    from ...storage.base import RandomAccessFile, Storage

__all__ = ["Hypercore", "Proof", "Node"]


class Hypercore(_Opening, _Appending, _Reading, _Proofs, _Waits, _Maintenance, EventEmitter, Feed):
    """A hypercore 7 feed.

    ``Hypercore(storage, key=None, secret_key=None, sparse=False)``: ``storage`` is a
    :class:`~hyperparty.storage.base.Storage` or a spec string for ``open_storage`` (``"memory"``,
    ``"file:DIR"``, ``"lmdb:DIR"``; the feed then owns and closes it).  ``key``/``secret_key`` are bytes or
    hex strings.  Without a key and without a stored one, a key pair is generated (a new writable feed).

    ``read_only=True`` opens without writing anything (a spec string is then opened read-only: nothing
    is created); appends and verified writes raise :class:`ReadOnlyFeedError`.  A damaged feed (see the
    integrity policy) raises :class:`DamagedFeedError` on open, unless ``allow_damaged=True``: it is then
    opened at the longest length that verifies, ``damage`` lists the problems, and nothing is written
    until :meth:`repair`.

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
        read_only: bool = False,
        allow_damaged: bool = False,
    ) -> None:
        EventEmitter.__init__(self)
        Feed.__init__(self)
        if isinstance(storage, str):
            from ...storage import open_storage

            self._storage = open_storage(storage, readonly=read_only)
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
        self.read_only = bool(read_only) or self._storage.readonly
        self._allow_damaged = bool(allow_damaged)
        self.damage: list[Problem] = []
        self._signing_checked = False  # the first signature after opening is verified (appending.py)

        self._create_if_missing = create_if_missing
        self._overwrite = overwrite
        self._want_writable = writable
        self._store_secret_key = store_secret_key
        self._cache_size = storage_cache_size

        self._files: dict[str, "RandomAccessFile"] = {}
        self._roots: list[Node] = []
        self._emit_sync = False
        self._offset_memo: tuple[int, int, int] = (-1, 0, 0)
        self._prefix_memo = OffsetMemo()  # block i -> bytes in blocks [0, i) (see _prefix_bytes)
        self._synced: Any = None
        self._open_error: BaseException | None = None

        # replication-facing state (read and written by replicate.py)
        self.peers: list[Any] = []
        self.selections: list[Selection] = []
        self.waiting: list[Waiting] = []
        self.reserved = SparseBitfield()
        # blocks whose bytes were hashed against their leaf node by a read since open: later reads skip the
        # hash (see "Reads" above)
        self._verified = SparseBitfield()
        self.stats = {"downloaded_blocks": 0, "downloaded_bytes": 0, "uploaded_blocks": 0, "uploaded_bytes": 0}
        if not self._sparse:
            self.selections.append(Selection(0, -1))

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

    def _stream_defaults(self) -> dict[str, Any]:
        return {"id": self.id, "extensions": self.extensions}
