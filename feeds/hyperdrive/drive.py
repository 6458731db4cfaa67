"""``Hyperdrive``: hyperdrive 9.16.0 — a file system on two hypercores, as a replicable :class:`Feed`.

* **metadata** (the drive's key): block 0 is the ``Index`` naming the content feed; every later block
  is an append-tree node whose value is a file's or directory's ``Stat`` (:mod:`.tree`).
* **content**: file bytes, 64 KiB per block; its key pair is derived from the metadata secret key
  (:mod:`.keys`), so only the metadata secret is stored: the content feed is opened with
  ``store_secret_key=False``, as JS does (its ``secret_key`` file is never written).

Storage layout (JS's): the metadata feed in ``storage.sub("metadata")`` (or ``first_core_storage``), the
content feed in ``storage.sub("content")``.

Opening (``ready``): a new writable drive creates the content feed and appends the Index before anything
else.  A drive with block 0 opens the content feed from it.  A replica without block 0 yet learns the
content key when block 0 arrives (the metadata core's ``download`` event; nothing waits for it), opens
the content feed and hands it to :meth:`Feed._learned_core`, which replicates it on every stream the
drive is attached to.  Replication is the Feed base's: the metadata core opens the first channel (JS
``archive.replicate``), and a non-live stream ends once both feeds are done.

Writes are serialised by one lock.  ``write_file``/``open(path, "wb")``: the tree position is read first
(any metadata error happens before anything is written), then the content is appended, then the node.
Beyond JS, writes check their target: ``mkdir`` of an existing path, a file below a file, ``unlink``
of a directory or of nothing, ``rmdir`` of a file or a non-empty directory raise (JS writes the node
anyway, or a useless tombstone).

Events: ``ready``, ``content`` (the content feed is open), ``update`` (the metadata feed grew, locally
or by replication), ``append(name)`` (a local write finished).  :meth:`Hyperdrive.watch` is the same as
an async iterator of :class:`~.reader.Change`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, AsyncIterator, Sequence

from hyperparty import protobuf as pb
from hyperparty.events import EventEmitter

from ...storage import Storage, open_storage
from ..base import Feed
from ..hypercore import Hypercore
from .errors import (
    CorruptMetadataError,
    DirectoryNotEmptyError,
    FileExistsDriveError,
    InvalidPathError,
    NotADirectoryDriveError,
    NotAFileError,
    NotFoundError,
    ReadOnlyError,
    VersionError,
)
from .files import FileWriter
from .keys import content_key_pair
from .messages import INDEX_TYPE, Index
from .paths import join, parse
from .reader import Change, Checkout, DriveReader, _Opener, change_of
from .stat import DriveStat, decode_stat, dir_stat
from .tree import AppendTree

__all__ = ["Hyperdrive"]

log = logging.getLogger(__name__)

_STAT_OPTIONS = ("mode", "uid", "gid", "mtime", "ctime")


class Hyperdrive(DriveReader, EventEmitter, Feed):
    """A hyperdrive 9 archive (see the module docstring).

    ``Hyperdrive(storage, key=None, secret_key=None, *, first_core_storage=None, sparse=False,
    sparse_metadata=False, timeout=None)``: ``storage`` is a Storage or a spec (``"memory"``,
    ``"file:DIR"``, ``"lmdb:DIR"``).  Without a key (and none stored) a new writable drive is made.
    ``sparse``: the content feed only fetches what is read or downloaded.  ``timeout``: seconds a read
    waits for a block a replica does not have yet (None: wait).
    """

    KIND = "hyperdrive"
    BLOCK0_TYPE = INDEX_TYPE

    def __init__(
        self,
        storage: "Storage | str",
        key: bytes | str | None = None,
        secret_key: bytes | str | None = None,
        *,
        first_core_storage: "Storage | None" = None,
        sparse: bool = False,
        sparse_metadata: bool = False,
        timeout: float | None = None,
        metadata: Hypercore | None = None,
    ) -> None:
        EventEmitter.__init__(self)
        Feed.__init__(self)
        self._owns_storage = isinstance(storage, str)
        self._storage = open_storage(storage)
        self.sparse = bool(sparse)
        self.timeout = timeout
        if metadata is None:
            where = first_core_storage if first_core_storage is not None else self._storage.sub("metadata")
            metadata = Hypercore(where, key, secret_key, sparse=sparse_metadata)
        self.metadata: Hypercore = metadata
        self.content: Hypercore | None = None
        self._tree = AppendTree(metadata, offset=1, timeout=timeout)
        self._lock = asyncio.Lock()
        self._opening: asyncio.Future | None = None
        self._content_known = asyncio.Event()
        self._content_error: BaseException | None = None
        self.opened = False
        self._closed = False
        self._update_listener = metadata.on("append", lambda: self.emit("update"))

    @classmethod
    def from_core(cls, core: Hypercore, storage: "Storage | str", **options: Any) -> "Hyperdrive":
        """A drive around an already opened (possibly replicating) metadata core; the content feed goes
        in ``storage.sub("content")``."""
        return cls(storage, metadata=core, **options)

    # ------------------------------------------------------------------------------------------------
    # Feed interface

    @property
    def key(self) -> bytes:
        return self.metadata.key

    @property
    def discovery_key(self) -> bytes:
        return self.metadata.discovery_key

    @property
    def writable(self) -> bool:
        return self.metadata.writable

    @property
    def version(self) -> int:
        """The metadata feed's length - 1 (0 when empty), as JS."""
        return max(self.metadata.length - 1, 0)

    def cores(self) -> Sequence[Hypercore]:
        return [self.metadata] if self.content is None else [self.metadata, self.content]

    def __repr__(self) -> str:
        key = self.metadata._key.hex()[:16] if self.metadata._key else None
        return f"Hyperdrive(key={key}, version={self.version}, writable={self.writable})"

    # ------------------------------------------------------------------------------------------------
    # opening

    async def ready(self) -> None:
        """Open the metadata feed, and the content feed when it is known (idempotent)."""
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._open())
        await asyncio.shield(self._opening)

    _ready_for_reading = ready

    async def _open(self) -> None:
        md = self.metadata
        await md.ready()
        if md.writable and md.length == 0 and md.secret_key is not None:
            public, secret = content_key_pair(md.secret_key)
            content = self._content_core(public, secret)
            await content.ready()
            await md.append(pb.encode(Index(type=INDEX_TYPE, content=public)))
            await self._use_content(content)
        elif md.length > 0 and md.has(0):
            await self._load_content(md.read_block(0))
        else:  # a replica: learn the content feed when metadata block 0 arrives (without waiting for it)
            md.on("download", self._on_metadata_block)
            if md.sparse:
                md.select(0, 1)
        self.opened = True
        self.emit("ready")

    def _on_metadata_block(self, index: int, data: bytes) -> None:
        if index == 0 and self.content is None and self._content_error is None:
            self.metadata.off("download", self._on_metadata_block)
            self._learn(self._load_content(data))

    def _content_core(self, public: bytes, secret: bytes | None) -> Hypercore:
        return Hypercore(self._storage.sub("content"), public, secret, sparse=self.sparse, store_secret_key=False)

    async def _use_content(self, content: Hypercore) -> None:
        """Make ``content`` the drive's content feed and replicate it wherever the drive replicates."""
        self.content = content
        self._content_known.set()
        self.emit("content")
        await self._learned_core(content)

    async def _load_content(self, block0: bytes) -> None:
        """Open the content feed named by metadata block 0; a bad Index is kept as the content error."""
        try:
            index = pb.decode(Index, block0)
            if index.content is None or len(index.content) != 32:
                raise CorruptMetadataError("metadata block 0 does not name a 32-byte content key")
        except (pb.DecodeError, CorruptMetadataError) as err:
            self._content_error = err if isinstance(err, CorruptMetadataError) else CorruptMetadataError(
                f"metadata block 0 is not a hyperdrive Index: {err}")
            self._content_known.set()
            return
        secret = None
        if self.metadata.writable and self.metadata.secret_key is not None:
            public, derived = content_key_pair(self.metadata.secret_key)
            if public == index.content:
                secret = derived
            else:
                log.warning("content key of %r is not derived from its metadata key: content is read-only", self)
        content = self._content_core(index.content, secret)
        try:
            await content.ready()
        except Exception as err:
            self._content_error = err
            self._content_known.set()
            raise
        await self._use_content(content)

    async def _get_content(self) -> Hypercore:
        """The content feed, waiting (up to ``timeout``) for a replica to learn it."""
        await self.ready()
        if self.content is None and self._content_error is None:
            await asyncio.wait_for(self._content_known.wait(), self.timeout)
        if self.content is None:
            raise self._content_error or CorruptMetadataError("the content feed is not known")
        return self.content

    async def close(self) -> None:
        """Close both feeds (and the storage when the drive opened it)."""
        if self._closed:
            return
        self._closed = True
        self.metadata.off("append", self._update_listener)
        self.metadata.off("download", self._on_metadata_block)
        if self.content is not None:
            await self.content.close()
        await self.metadata.close()
        if self._owns_storage:
            self._storage.close()
        self.emit("close")

    # ------------------------------------------------------------------------------------------------
    # checkouts, history, notifications

    def checkout(self, version: int) -> Checkout:
        """A read-only view of the drive at ``version`` (a metadata block number)."""
        if not isinstance(version, int) or version < 0:
            raise VersionError(f"a version is a block number >= 0, not {version!r}")
        if self.metadata.opened and version >= max(self.metadata.length, 1):
            raise VersionError(f"version {version} does not exist yet (the drive is at {self.version})")
        return Checkout(self, version)

    async def watch(self, start: int | None = None) -> AsyncIterator[Change]:
        """Every change from version ``start`` (default: the next one) as it is appended, locally or by
        replication.  Runs until the drive is closed or the caller stops iterating."""
        await self.ready()
        wake = asyncio.Event()

        def on_append() -> None:
            wake.set()

        self.metadata.on("append", on_append)
        self.once("close", on_append)
        try:
            nxt = max(self.metadata.length if start is None else start, 1)
            while not self._closed:
                while nxt < self.metadata.length:
                    yield change_of(await self._tree.node(nxt))
                    nxt += 1
                wake.clear()
                if nxt >= self.metadata.length and not self._closed:
                    await wake.wait()
        finally:
            self.metadata.off("append", on_append)
            self.off("close", on_append)

    # ------------------------------------------------------------------------------------------------
    # writing

    async def _writable_content(self) -> Hypercore:
        await self.ready()
        if not self.writable:
            raise ReadOnlyError("the drive is not writable (no metadata secret key)")
        content = await self._get_content()
        if not content.writable:
            raise ReadOnlyError("the content feed is not writable")
        return content

    async def _node_stat(self, names: tuple[str, ...]) -> DriveStat | None:
        node = await self._tree.get(names)
        return None if node is None else decode_stat(node.value, node.name)

    async def _check_parents(self, names: tuple[str, ...]) -> None:
        for j in range(1, len(names)):
            st = await self._node_stat(names[:j])
            if st is not None and not st.is_directory():
                raise NotADirectoryDriveError(f"{join(names[:j])} is a file")

    def open(self, path: str, mode: str = "rb", /, **options: Any) -> _Opener:
        """``"rb"``: a :class:`~.files.FileReader` (options ``start``, ``end``).  ``"wb"``: a
        :class:`~.files.FileWriter` (options ``mode``, ``uid``, ``gid``, ``mtime``, ``ctime``; ``raw=True``
        keeps every ``write()`` as one content block, as JS ``createWriteStream``)."""
        if mode == "wb":
            return _Opener(self._writer(path, **options))
        return DriveReader.open(self, path, mode, **options)

    async def _writer(self, path: str, *, raw: bool = False, **options: Any) -> FileWriter:
        unknown = set(options) - set(_STAT_OPTIONS)
        if unknown:
            raise TypeError(f"unknown option(s) {sorted(unknown)}")
        names = parse(path)
        content = await self._writable_content()
        await self._lock.acquire()
        try:
            if not names:
                raise NotAFileError("/ is a directory")
            await self._check_parents(names)
            st = await self._node_stat(names)
            if (st is not None and st.is_directory()) or (st is None and await self._tree.entries(names)):
                raise NotAFileError(f"{join(names)} is a directory")
            pending = await self._tree.prepare_put(names)
        except BaseException:
            self._lock.release()
            raise
        name = join(names)

        def commit(msg: Any) -> DriveStat:
            self._tree.commit(pending, pb.encode(msg))
            self.emit("append", name)
            return DriveStat.from_message(msg)

        return FileWriter(content, commit, self._lock.release, name=name, raw=raw, stat_options=options)

    async def write_file(self, path: str, data: Any, **options: Any) -> DriveStat:
        """Write a whole file from bytes, str, a binary file object or an iterable of bytes (streamed in
        64 KiB blocks, never held whole).  Options as for ``open(path, "wb")``; returns the Stat."""
        async with self.open(path, "wb", **options) as f:
            await f.write_from(data)
        return f.stat

    async def mkdir(self, path: str, **options: Any) -> DriveStat:
        """Make a directory (options ``mode``, ``uid``, ``gid``, ``mtime``, ``ctime``).  Missing parents
        are fine (they exist implicitly); an existing path raises :class:`FileExistsDriveError`."""
        unknown = set(options) - set(_STAT_OPTIONS)
        if unknown:
            raise TypeError(f"unknown option(s) {sorted(unknown)}")
        names = parse(path)
        content = await self._writable_content()
        async with self._lock:
            if not names or await self._node_stat(names) is not None or await self._tree.entries(names):
                raise FileExistsDriveError(f"{join(names)} already exists")
            await self._check_parents(names)
            pending = await self._tree.prepare_put(names)
            msg = dir_stat(offset=content.length, byte_offset=content.byte_length, **options)
            self._tree.commit(pending, pb.encode(msg))
        return DriveStat.from_message(msg)

    async def unlink(self, path: str) -> None:
        """Delete a file (a tombstone node)."""
        names = parse(path)
        await self._writable_content()
        async with self._lock:
            st = await self._node_stat(names)
            if st is None:
                raise NotFoundError(f"{join(names)} could not be found")
            if st.is_directory():
                raise NotAFileError(f"{join(names)} is a directory")
            await self._delete(names)

    async def rmdir(self, path: str) -> None:
        """Delete an empty directory made by ``mkdir``."""
        names = parse(path)
        await self._writable_content()
        if not names:
            raise InvalidPathError("cannot remove /")
        async with self._lock:
            st = await self._node_stat(names)
            if st is not None and not st.is_directory():
                raise NotADirectoryDriveError(f"{join(names)} is not a directory")
            entries = [e for e in (await self._tree.entries(names) or []) if e not in (".", "..")]
            if entries:
                raise DirectoryNotEmptyError(f"{join(names)}: Directory is not empty")
            if st is None:
                raise NotFoundError(f"{join(names)} could not be found")
            await self._delete(names)

    async def _delete(self, names: tuple[str, ...]) -> None:
        pending = await self._tree.prepare_delete(names)
        if pending is not None:
            self._tree.commit(pending, None)
