"""LMDB storage: many feeds' files in one LMDB environment, crash-safe per transaction.

Layout inside the environment (its one unnamed database):

* ``b"\\0hyperparty-lmdb"`` -> ``b"1 <page size>"``: the format version and the page size the
  environment was created with (written once, read on every open);
* ``b"s" + path`` -> the file's size as 8 bytes big-endian (its presence is ``exists``);
* ``b"p" + path + b"\\0" + page`` (``page`` 8 bytes big-endian) -> bytes ``[page * P, page * P + len)`` of
  the file, ``len <= P``.  A missing page, or the part past a short page, reads as zeros.  No stored byte
  ever lies at or past the file's size (truncate/delete trim), so growing a file exposes only zeros.

``path`` is the namespace and the file name joined with ``/`` (``0/tree``); it never holds a NUL, so the
``\\0`` ends the page prefix of exactly one file.  Every feed of a multifeed-style store lives under its
own key prefix and :meth:`LmdbStorage.sub` is free.

The page size ``P`` is the LMDB page size minus LMDB's 16-byte page header (4080 bytes with 4 KiB pages):
a full page is then exactly one LMDB overflow page, so data costs no more than its size on disk and a page
rewrite never needs a contiguous run of free pages (multi-page values fragment LMDB's free list).

Transactions: :meth:`LmdbStorage.transaction` runs the block in one LMDB write transaction shared by every
storage on the environment in the calling thread.  Nested (or overlapping) blocks join it; the last block
to leave commits it, or aborts it when that block is left by an exception (an exception an outer block
catches does not undo the inner block's writes).  Reads inside see the pending writes.  Hypercore wraps
each append batch in one, so after a crash a feed holds exactly the committed batches.  A write outside a
transaction commits by itself.  Other threads' writes wait (LMDB's writer lock) until the transaction is
over; their reads see the last committed state.

Durability: the environment is opened with ``sync=False`` and ``writemap=False`` (no fsync per commit,
which would cost milliseconds per append).  A committed transaction is atomic and survives the process
being killed (it is in the OS page cache).  A power loss or OS crash may lose the transactions committed
since the last :meth:`LmdbFile.flush` (``env.sync``), and LMDB keeps the environment consistent only on
file systems that preserve write order; callers that need a commit to survive power loss flush after it.

Read-only (``LmdbStorage(DIR, readonly=True)``): nothing is created or written — a missing directory or
environment reads as an empty store, an existing environment is opened read-only (without its lock file
when the lock cannot be taken, e.g. on a read-only mount), and every write raises
:class:`~.base.ReadOnlyError`.  An environment that holds data but no format record was made by another
program: it is refused (read-only or not) and never written to.  A write that fails on a full device is a
:class:`~.base.DiskFullError` ("disk full"; LMDB itself only says "Input/output error").

Environments are shared per directory inside a process and reference counted (LMDB forbids opening one
environment twice in a process); :meth:`LmdbStorage.close` of the last storage on a directory closes it,
after the transaction in progress (if any) has ended.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Iterator, Sequence

import lmdb

from .base import (
    Buffer,
    ReadOnlyError,
    NamespacedStorage,
    OpenFiles,
    OutOfRangeError,
    RandomAccessFile,
    StorageClosedError,
    StorageError,
    check_range,
    namespace_of,
    os_failure,
    split_path,
)
from .memory import MemoryFile

__all__ = ["LmdbStorage", "LmdbFile", "FORMAT_KEY", "FORMAT_VERSION", "LMDB_PAGE_HEADER", "MAP_SIZE"]

FORMAT_KEY = b"\0hyperparty-lmdb"
FORMAT_VERSION = 1
LMDB_PAGE_HEADER = 16  # PAGEHDRSZ on 64-bit platforms (12 on 32-bit: 16 is safe on both)
MAP_SIZE = 1 << 40 if sys.maxsize > 2**32 else 1 << 30  # address space only: the file grows as used
_U64 = 8
_get_ident = threading.get_ident


class _Env:
    """One open LMDB environment plus the write transaction currently running on it (if any).

    ``txn`` belongs to thread ``owner``; ``depth`` counts the transaction blocks inside it.
    """

    __slots__ = ("env", "path", "refs", "txn", "owner", "depth", "page_size", "pid", "closed", "readonly")

    def __init__(self, path: str, readonly: bool = False) -> None:
        self.readonly = readonly
        try:
            if readonly:
                self.env = _open_readonly(path)
            else:
                os.makedirs(path, exist_ok=True)
                self.env = lmdb.open(path, map_size=MAP_SIZE, subdir=True, sync=False, metasync=False,
                                     writemap=False, readahead=False, max_dbs=0, lock=True)
        except (OSError, lmdb.Error) as exc:
            raise os_failure(f"lmdb:{path}", "open the LMDB environment", exc, device=path) from exc
        self.path = path
        self.refs = 0
        self.txn: lmdb.Transaction | None = None
        self.owner = 0
        self.depth = 0
        self.pid = os.getpid()
        self.closed = False
        try:
            self.page_size = self._format()
        except BaseException:
            self.env.close()
            raise

    def _format(self) -> int:
        """Read (or, in a new empty environment opened for writing, write) the format record; returns the
        page size.  An environment with data but no record belongs to another program: refused."""
        with self.env.begin() as rtxn:
            raw = rtxn.get(FORMAT_KEY)
            entries = self.env.stat()["entries"]
        if raw is None:
            if entries:
                raise StorageError(f"lmdb:{self.path}: not a hyperparty LMDB store (the environment holds "
                                   f"{entries} entries of another program; it was left untouched)")
            page_size = self.env.stat()["psize"] - LMDB_PAGE_HEADER
            if self.readonly:
                return page_size
            try:
                with self.env.begin(write=True) as txn:
                    if txn.get(FORMAT_KEY) is None:
                        txn.put(FORMAT_KEY, b"%d %d" % (FORMAT_VERSION, page_size))
                        return page_size
                    raw = txn.get(FORMAT_KEY)  # another process wrote it meanwhile
            except lmdb.Error as exc:
                raise os_failure(f"lmdb:{self.path}", "write the format record", exc, device=self.path) from exc
        assert raw is not None
        try:
            version, page_size = (int(x) for x in raw.split(b" "))
        except ValueError:
            version = page_size = 0
        if version != FORMAT_VERSION or page_size <= 0:
            raise StorageError(f"{self.path}: not a hyperparty LMDB store (format record {bytes(raw)!r})")
        return page_size

    # -- transaction blocks ------------------------------------------------------------------------

    def enter(self) -> None:
        """Start (or join, on the owning thread) the write transaction."""
        ident = _get_ident()
        if self.txn is not None and self.owner == ident:
            self.depth += 1
            return
        if self.closed:
            raise StorageClosedError(f"lmdb:{self.path}: environment is closed")
        if self.readonly:
            raise ReadOnlyError(f"lmdb:{self.path}: the storage was opened read-only")
        try:
            txn = self.env.begin(write=True, buffers=True)  # waits while another thread holds one
        except lmdb.Error as exc:
            raise os_failure(f"lmdb:{self.path}", "begin a write transaction", exc, device=self.path) from exc
        self.txn = txn
        self.owner = ident
        self.depth = 1

    def exit(self, ok: bool) -> None:
        """Leave a block; the last one out commits (``ok``) or aborts the transaction."""
        self.depth -= 1
        if self.depth > 0:
            return
        txn = self.txn
        assert txn is not None, "exit() without enter()"
        self.txn = None
        self.owner = 0
        self.depth = 0
        try:
            if ok:
                try:
                    txn.commit()
                except lmdb.Error as exc:
                    raise os_failure(f"lmdb:{self.path}", "commit", exc, device=self.path) from exc
            else:
                txn.abort()
        finally:
            if self.refs <= 0:  # every storage closed while the transaction ran: close now
                with _ENVS_LOCK:
                    _close_if_unused(self)

    def current(self) -> "lmdb.Transaction | None":
        """The write transaction when the calling thread owns it."""
        txn = self.txn
        return txn if txn is not None and self.owner == _get_ident() else None

    def get(self, key: bytes) -> bytes | None:
        """``key``'s value as this thread sees it (its pending writes included)."""
        txn = self.current()
        if txn is not None:
            value = txn.get(key)
            return None if value is None else bytes(value)
        with self.env.begin() as rtxn:
            return rtxn.get(key)


def _open_readonly(path: str) -> "lmdb.Environment":
    """Open an existing environment read-only; without the lock file when it cannot be used (a read-only
    mount, no write permission: readers then do not register, which is safe while nobody writes)."""
    try:
        return lmdb.open(path, map_size=MAP_SIZE, subdir=True, readonly=True, readahead=False, max_dbs=0,
                         create=False, lock=True)
    except lmdb.Error:
        return lmdb.open(path, map_size=MAP_SIZE, subdir=True, readonly=True, readahead=False, max_dbs=0,
                         create=False, lock=False)


_ENVS: dict[str, _Env] = {}
_ENVS_LOCK = threading.Lock()


def _acquire(path: str, readonly: bool = False) -> _Env:
    path = os.path.realpath(path)
    with _ENVS_LOCK:
        env = _ENVS.get(path)
        if env is not None and env.pid != os.getpid():
            # LMDB environments must not be used across fork(), and py-lmdb refuses to open the files
            # again in the child while the inherited handle exists
            raise StorageError(f"lmdb:{path} was opened before this process forked; open it in the "
                               "child only, or start children with spawn")
        if env is not None and env.readonly and not readonly:
            raise StorageError(f"lmdb:{path} is open read-only in this process: close it before writing")
        if env is None:
            env = _ENVS[path] = _Env(path, readonly)
        env.refs += 1
        return env


def _release(env: _Env) -> None:
    with _ENVS_LOCK:
        env.refs -= 1
        _close_if_unused(env)


def _close_if_unused(env: _Env) -> None:
    """Close ``env`` once no storage uses it and no transaction runs on it (call with _ENVS_LOCK held)."""
    if env.refs > 0 or env.txn is not None or env.closed:
        return
    env.closed = True
    if _ENVS.get(env.path) is env:
        del _ENVS[env.path]
    env.env.close()


class LmdbFile(RandomAccessFile):
    """One file stored as pages in an LMDB environment (see the module docstring for the layout)."""

    __slots__ = ("name", "namespace", "_env", "_size_key", "_page_prefix", "_page_size", "_closed", "_owner")

    def __init__(self, env: _Env, path: str, namespace: tuple[str, ...], owner: OpenFiles) -> None:
        self.name = path
        self.namespace = namespace
        self._env = env
        raw = path.encode("utf-8")
        self._size_key = b"s" + raw
        self._page_prefix = b"p" + raw + b"\0"
        self._page_size = env.page_size
        self._closed = False
        self._owner = owner

    def __repr__(self) -> str:
        return f"<LmdbFile {self._env.path}:{self.name}{' closed' if self._closed else ''}>"

    def _closed_error(self) -> StorageClosedError:
        return StorageClosedError(f"{self.name}: file is closed")

    def _error(self, what: str, exc: Exception) -> StorageError:
        return os_failure(f"lmdb:{self._env.path}:{self.name}", what, exc, device=self._env.path)

    # -- the two ways to run an operation: in this thread's transaction, or in one of its own ---------

    def _reading(self, fn, *args):
        env = self._env
        txn = env.txn
        try:
            if txn is not None and env.owner == _get_ident():
                return fn(txn, *args)
            with env.env.begin(buffers=True) as rtxn:
                return fn(rtxn, *args)
        except lmdb.Error as exc:
            raise self._error(fn.__name__.strip("_"), exc) from exc

    def _writing(self, fn, *args) -> None:
        env = self._env
        txn = env.txn
        try:
            if txn is not None and env.owner == _get_ident():
                fn(txn, *args)
                return
            if env.readonly:
                raise ReadOnlyError(f"lmdb:{env.path}:{self.name}: the storage was opened read-only")
            env.enter()
            try:
                fn(env.txn, *args)
            except BaseException:
                env.exit(False)
                raise
            env.exit(True)
        except lmdb.Error as exc:
            raise self._error(fn.__name__.strip("_"), exc) from exc

    # -- RandomAccessFile ----------------------------------------------------------------------------

    def size(self) -> int:
        if self._closed:
            raise self._closed_error()
        return self._reading(self._size)

    def _size(self, txn) -> int:
        raw = txn.get(self._size_key)
        return 0 if raw is None else int.from_bytes(raw, "big")

    def read(self, offset: int, length: int) -> bytes:
        if self._closed:
            raise self._closed_error()
        if offset < 0 or length < 0:
            check_range(offset, length)
        env = self._env
        txn = env.txn
        try:
            if txn is not None and env.owner == _get_ident():
                return self._read(txn, offset, length)
            with env.env.begin(buffers=True) as rtxn:
                return self._read(rtxn, offset, length)
        except lmdb.Error as exc:
            raise self._error("read", exc) from exc

    def _read(self, txn, offset: int, length: int) -> bytes:
        raw = txn.get(self._size_key)
        size = 0 if raw is None else int.from_bytes(raw, "big")
        if offset + length > size:
            raise OutOfRangeError(f"{self.name}: could not read {length} bytes at {offset} (size {size})")
        if length == 0:
            return b""
        ps = self._page_size
        first, lo = divmod(offset, ps)
        prefix = self._page_prefix
        if lo + length <= ps:  # the common case: inside one page
            page = txn.get(prefix + first.to_bytes(_U64, "big"))
            if page is None:
                return bytes(length)
            chunk = bytes(page[lo : lo + length])
            return chunk if len(chunk) == length else chunk + bytes(length - len(chunk))
        # several pages: one cursor walk over the stored ones, zeros for the rest
        end = offset + length
        last = (end - 1) // ps
        plen = len(prefix)
        parts: list = []
        at = offset  # file position up to which ``parts`` reach
        cur = txn.cursor()
        if cur.set_range(prefix + first.to_bytes(_U64, "big")):
            for key, value in cur.iternext():
                if len(key) != plen + _U64 or key[:plen] != prefix:
                    break
                p = int.from_bytes(key[plen:], "big")
                if p > last:
                    break
                start = p * ps
                a = max(at, start)
                b = min(end, start + len(value))
                if b <= a:
                    continue
                if a > at:
                    parts.append(bytes(a - at))
                parts.append(value[a - start : b - start])
                at = b
        if at < end:
            parts.append(bytes(end - at))
        return b"".join(parts)

    def write(self, offset: int, data: Buffer) -> None:
        if self._closed:
            raise self._closed_error()
        if offset < 0:
            check_range(offset, 0)
        env = self._env
        txn = env.txn
        if txn is not None and env.owner == _get_ident():
            ps = self._page_size
            p, lo = divmod(offset, ps)
            end = lo + len(data)
            try:
                if lo < end <= ps:  # fast path (most writes): inside one page, in the open transaction
                    self._put_page(txn, p, lo, end, (data,))
                    end += p * ps
                    raw = txn.get(self._size_key)
                    if raw is None or int.from_bytes(raw, "big") < end:
                        txn.put(self._size_key, end.to_bytes(_U64, "big"))
                else:
                    self._write(txn, offset, (data,))
            except lmdb.Error as exc:
                raise self._error("write", exc) from exc
            return
        self._writing(self._write, offset, (data,))

    def write_many(self, offset: int, chunks: Sequence[Buffer]) -> None:
        """Write ``chunks`` back to back from ``offset``: pages are filled across chunk boundaries, each
        stored once, and no joined copy of the batch is made."""
        if len(chunks) == 1:
            self.write(offset, chunks[0])
            return
        if self._closed:
            raise self._closed_error()
        if offset < 0:
            check_range(offset, 0)
        self._writing(self._write, offset, chunks)

    def _write(self, txn, offset: int, chunks: Sequence[Buffer]) -> None:
        ps = self._page_size
        prefix = self._page_prefix
        put = txn.put
        p, lo = divmod(offset, ps)
        start_lo = lo  # where the pending pieces begin inside page p
        pending: list = []
        mv: bytes | memoryview
        for data in chunks:
            if type(data) is bytes and len(data) <= ps:
                mv = data  # small: slicing copies little, and mostly the whole object is stored
            else:
                mv = memoryview(data)  # large: slices are views, each page is copied once (by put)
                if mv.format != "B" or mv.ndim != 1:
                    mv = mv.cast("B")
            n = len(mv)
            i = 0
            while i < n:
                if lo == 0 and n - i >= ps:  # whole pages straight from the chunk
                    key_p = p
                    while n - i >= ps:
                        put(prefix + key_p.to_bytes(_U64, "big"), mv[i : i + ps])
                        key_p += 1
                        i += ps
                    p = key_p
                    continue
                take = ps - lo
                if take > n - i:
                    take = n - i
                pending.append(mv[i : i + take] if take != n else mv)
                i += take
                lo += take
                if lo == ps:
                    self._put_page(txn, p, start_lo, ps, pending)
                    pending = []
                    p += 1
                    lo = start_lo = 0
        if pending:
            self._put_page(txn, p, start_lo, lo, pending)
        end = p * ps + lo
        raw = txn.get(self._size_key)
        if raw is None or int.from_bytes(raw, "big") < end:
            put(self._size_key, end.to_bytes(_U64, "big"))

    def _put_page(self, txn, p: int, a: int, b: int, pieces: Sequence[Buffer]) -> None:
        """Store ``pieces`` (``b - a`` bytes) at ``[a, b)`` of page ``p``, keeping the rest of the page."""
        key = self._page_prefix + p.to_bytes(_U64, "big")
        if a == 0 and b == self._page_size:
            txn.put(key, pieces[0] if len(pieces) == 1 else b"".join(pieces))
            return
        old = txn.get(key)  # a view into the map: used before the put below, never after
        have = 0 if old is None else len(old)
        if a == 0 and have <= b:
            txn.put(key, pieces[0] if len(pieces) == 1 else b"".join(pieces))
            return
        parts: list = []
        if a:
            if have >= a:
                parts.append(old[:a])
            else:
                if have:
                    parts.append(old)
                parts.append(bytes(a - have))
        parts.extend(pieces)
        if have > b:
            parts.append(old[b:])
        txn.put(key, b"".join(parts))

    def truncate(self, length: int) -> None:
        if self._closed:
            raise self._closed_error()
        check_range(0, length)
        self._writing(self._truncate, length)

    def _truncate(self, txn, length: int) -> None:
        raw = txn.get(self._size_key)
        if raw is not None:
            size = int.from_bytes(raw, "big")
            if length == size:
                return
            if length < size:
                ps = self._page_size
                keep, tail = divmod(length, ps)
                if tail:
                    self._zero(txn, keep, tail, ps)
                    keep += 1
                self._drop_pages(txn, keep, None)
        txn.put(self._size_key, length.to_bytes(_U64, "big"))

    def delete(self, offset: int, length: int) -> None:
        if self._closed:
            raise self._closed_error()
        check_range(offset, length)
        self._writing(self._delete, offset, length)

    def _delete(self, txn, offset: int, length: int) -> None:
        size = self._size(txn)
        if offset >= size or length == 0:
            return
        end = offset + length
        if end >= size:
            self._truncate(txn, offset)
            return
        ps = self._page_size
        p, a = divmod(offset, ps)
        q, b = divmod(end, ps)
        if p == q:
            self._zero(txn, p, a, b)
            return
        if a:
            self._zero(txn, p, a, ps)
            p += 1
        self._drop_pages(txn, p, q)
        if b:
            self._zero(txn, q, 0, b)

    def _zero(self, txn, p: int, a: int, b: int) -> None:
        """Zero ``[a, b)`` of page ``p`` (a missing or short page already reads as zeros there)."""
        key = self._page_prefix + p.to_bytes(_U64, "big")
        old = txn.get(key)
        have = 0 if old is None else len(old)
        if have <= a:
            return
        if have <= b:
            if a:
                txn.put(key, bytes(old[:a]))
            else:
                txn.delete(key)
        else:
            txn.put(key, b"".join((old[:a], bytes(b - a), old[b:])))

    def _drop_pages(self, txn, first: int, stop: int | None) -> None:
        """Delete the stored pages ``first <= page < stop`` (``stop`` None: to the end of the file)."""
        prefix = self._page_prefix
        plen = len(prefix)
        cur = txn.cursor()
        if not cur.set_range(prefix + first.to_bytes(_U64, "big")):
            return
        while True:
            key = cur.key()
            if len(key) != plen + _U64 or key[:plen] != prefix:
                return
            if stop is not None and int.from_bytes(key[plen:], "big") >= stop:
                return
            if not cur.delete():
                return

    def flush(self) -> None:
        """Make every committed transaction durable (``fsync`` of the environment)."""
        if self._closed:
            raise self._closed_error()
        if self._env.readonly:
            return
        try:
            self._env.env.sync(True)
        except lmdb.Error as exc:
            raise self._error("sync", exc) from exc

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._owner.discard(self)


def lmdb_default_page_size() -> int:
    """The page size a new environment would use (the OS page size minus LMDB's page header)."""
    return (os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096) - LMDB_PAGE_HEADER


class LmdbStorage(NamespacedStorage):
    """A namespace of files in the LMDB environment at ``directory`` (shared by every sub-namespace and
    by every other :class:`LmdbStorage` on the same directory in this process)."""

    def __init__(self, directory: "str | os.PathLike[str]", prefix: str = "", *, readonly: bool = False,
                 _env: _Env | None = None, _open_files: OpenFiles | None = None) -> None:
        directory = os.fspath(directory)
        if not directory:
            raise ValueError("LmdbStorage needs a directory")
        self.directory = os.path.abspath(os.path.expanduser(directory))
        if os.path.exists(self.directory) and not os.path.isdir(self.directory):
            raise StorageError(f"{self.directory} exists and is not a directory")
        namespace = namespace_of(prefix)
        self.readonly = readonly
        self._env: _Env | None
        if _env is not None or _open_files is not None:  # a sub-namespace: the parent's environment
            self._env = _env
        elif readonly and not os.path.isfile(os.path.join(self.directory, "data.mdb")):
            self._env = None  # nothing stored here: an empty store, and nothing is created
        else:
            self._env = _acquire(self.directory, readonly)
        self._init_namespace(namespace, _open_files)

    @property
    def page_size(self) -> int:
        """Bytes per stored page (see the module docstring)."""
        env = self._env
        return env.page_size if env is not None else lmdb_default_page_size()

    def _path(self, name: str) -> str:
        return self._prefix + "/".join(split_path(name))

    def open(self, name: str) -> RandomAccessFile:
        self._check()
        if self._env is None:  # read-only and no environment: every file is empty
            return self._track(MemoryFile(self._path(name), {}, self._namespace, self._open_files, readonly=True))
        return self._track(LmdbFile(self._env, self._path(name), self._namespace, self._open_files))

    def exists(self, name: str) -> bool:
        self._check()
        if self._env is None:
            return False
        key = b"s" + self._path(name).encode("utf-8")
        try:
            return self._env.get(key) is not None
        except lmdb.Error as exc:
            raise StorageError(f"{self.description}: exists({name!r}) failed: {exc}") from exc

    def sub(self, prefix: str) -> "LmdbStorage":
        self._check()
        path = self._prefix + "/".join(split_path(prefix, "prefix"))
        return LmdbStorage(self.directory, path, readonly=self.readonly, _env=self._env,
                           _open_files=self._open_files)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One LMDB write transaction for the block (joined by nested blocks): all of it or none lands.
        A read-only storage has nothing to group (its writes are refused)."""
        self._check()
        env = self._env
        if env is None or env.readonly:
            yield
            return
        env.enter()
        ok = False
        try:
            yield
            ok = True
        finally:
            env.exit(ok)

    def _release(self) -> None:
        if self._env is not None:
            _release(self._env)

    @property
    def description(self) -> str:
        return f"lmdb:{self.directory}" + ("/" + self._prefix.rstrip("/") if self._prefix else "")
