"""LMDB storage: many feeds' files in one LMDB environment, crash-safe per transaction.

Layout inside the environment (one unnamed database):

* ``b"s" + path`` -> the file's size as 8 bytes big-endian (its presence is ``exists``);
* ``b"p" + path + b"\\0" + page`` (``page`` 8 bytes big-endian) -> page ``page`` of the file, at most
  :data:`PAGE_SIZE` bytes (a short or missing page reads as zeros).

``path`` is the namespace and file name joined with ``/`` (``0/tree``), so every feed of a multifeed-style
store lives under its own key prefix and ``sub()`` is free.

Crash safety: :meth:`LmdbStorage.transaction` runs the block in one LMDB write transaction shared by every
storage on the environment (nested calls join it); hypercore wraps each append batch in it, so after a
crash a feed holds exactly the committed batches.  A write outside a transaction commits by itself.
The environment is opened with ``sync=False``: a commit is atomic and survives the process being killed
(it is in the OS page cache), and :meth:`LmdbFile.flush` (``env.sync``) makes it survive power loss too.

Environments are shared per directory inside a process (reference counted), as LMDB requires.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Iterator

import lmdb

from .base import (
    NamespacedStorage,
    OpenFiles,
    OutOfRangeError,
    RandomAccessFile,
    StorageClosedError,
    StorageError,
    check_range,
    namespace_of,
    split_path,
)

__all__ = ["LmdbStorage", "LmdbFile", "PAGE_SIZE"]

PAGE_SIZE = 4096
MAP_SIZE = 1 << 40 if sys.maxsize > 2**32 else 1 << 30  # address space only: the file grows as used
_U64 = 8


class _Env:
    """One open LMDB environment plus the write transaction currently running on it (if any)."""

    def __init__(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)
        try:
            self.env = lmdb.open(path, map_size=MAP_SIZE, subdir=True, sync=False, metasync=False,
                                 readahead=False, max_dbs=0, lock=True)
        except lmdb.Error as exc:
            raise StorageError(f"cannot open LMDB environment {path}: {exc}") from exc
        self.path = path
        self.refs = 0
        self.txn: lmdb.Transaction | None = None
        self.depth = 0

    @contextlib.contextmanager
    def write(self) -> Iterator[lmdb.Transaction]:
        """The current write transaction, or a new one committed (aborted on error) at the end."""
        if self.txn is not None:
            self.depth += 1
            try:
                yield self.txn
            finally:
                self.depth -= 1
            return
        txn = self.env.begin(write=True)
        self.txn = txn
        self.depth = 1
        try:
            yield txn
        except BaseException:
            self.txn = None
            self.depth = 0
            txn.abort()
            raise
        self.txn = None
        self.depth = 0
        try:
            txn.commit()
        except lmdb.Error as exc:
            raise StorageError(f"LMDB commit failed: {exc}") from exc

    def get(self, key: bytes) -> bytes | None:
        txn = self.txn
        if txn is not None:
            return txn.get(key)
        with self.env.begin(buffers=False) as rtxn:
            return rtxn.get(key)


_ENVS: dict[str, _Env] = {}
_ENVS_LOCK = threading.Lock()


def _acquire(path: str) -> _Env:
    path = os.path.realpath(path)
    with _ENVS_LOCK:
        env = _ENVS.get(path)
        if env is None:
            env = _ENVS[path] = _Env(path)
        env.refs += 1
        return env


def _release(env: _Env) -> None:
    with _ENVS_LOCK:
        env.refs -= 1
        if env.refs <= 0:
            _ENVS.pop(env.path, None)
            env.env.close()


def _page_key(prefix: bytes, page: int) -> bytes:
    return prefix + page.to_bytes(_U64, "big")


class LmdbFile(RandomAccessFile):
    """One file stored as pages in an LMDB environment."""

    __slots__ = ("name", "namespace", "_env", "_size_key", "_page_prefix", "_closed", "_owner")

    def __init__(self, env: _Env, path: str, namespace: tuple[str, ...], owner: OpenFiles) -> None:
        self.name = path
        self.namespace = namespace
        self._env = env
        raw = path.encode("utf-8")
        self._size_key = b"s" + raw
        self._page_prefix = b"p" + raw + b"\0"
        self._closed = False
        self._owner = owner

    def __repr__(self) -> str:
        return f"<LmdbFile {self._env.path}:{self.name}{' closed' if self._closed else ''}>"

    def _check(self) -> None:
        if self._closed:
            raise StorageClosedError(f"{self.name}: file is closed")

    def _get_size(self, txn=None) -> int:
        raw = txn.get(self._size_key) if txn is not None else self._env.get(self._size_key)
        return int.from_bytes(raw, "big") if raw else 0

    def size(self) -> int:
        self._check()
        return self._get_size()

    def exists(self) -> bool:
        return self._env.get(self._size_key) is not None

    def read(self, offset: int, length: int) -> bytes:
        self._check()
        check_range(offset, length)
        env = self._env
        txn = env.txn
        if txn is not None:
            return self._read(txn, offset, length)
        with env.env.begin() as rtxn:
            return self._read(rtxn, offset, length)

    def _read(self, txn, offset: int, length: int) -> bytes:
        size = self._get_size(txn)
        if offset + length > size:
            raise OutOfRangeError(f"{self.name}: read of {length} bytes at {offset} past the end ({size})")
        if length == 0:
            return b""
        prefix = self._page_prefix
        first = offset // PAGE_SIZE
        last = (offset + length - 1) // PAGE_SIZE
        if first == last:  # the common case: inside one page
            page = txn.get(_page_key(prefix, first)) or b""
            start = offset - first * PAGE_SIZE
            chunk = page[start:start + length]
            return chunk if len(chunk) == length else chunk + bytes(length - len(chunk))
        out = bytearray()
        for p in range(first, last + 1):
            page = txn.get(_page_key(prefix, p)) or b""
            if len(page) < PAGE_SIZE:
                page = page + bytes(PAGE_SIZE - len(page))
            lo = offset - p * PAGE_SIZE if p == first else 0
            hi = offset + length - p * PAGE_SIZE if p == last else PAGE_SIZE
            out += page[lo:hi]
        return bytes(out)

    def write(self, offset: int, data: bytes) -> None:
        self._check()
        check_range(offset, len(data))
        with self._env.write() as txn:
            self._write(txn, offset, data)

    def _write(self, txn, offset: int, data) -> None:
        size = self._get_size(txn)
        n = len(data)
        prefix = self._page_prefix
        mv = memoryview(data)
        pos = 0
        while pos < n:
            at = offset + pos
            p = at // PAGE_SIZE
            lo = at - p * PAGE_SIZE
            take = min(PAGE_SIZE - lo, n - pos)
            key = _page_key(prefix, p)
            if lo == 0 and take == PAGE_SIZE:
                txn.put(key, mv[pos:pos + take])
            else:
                page = bytearray(txn.get(key) or b"")
                if len(page) < lo + take:
                    page.extend(bytes(lo + take - len(page)))
                page[lo:lo + take] = mv[pos:pos + take]
                txn.put(key, page)
            pos += take
        if offset + n > size or txn.get(self._size_key) is None:
            txn.put(self._size_key, max(size, offset + n).to_bytes(_U64, "big"))

    def truncate(self, length: int) -> None:
        self._check()
        check_range(0, length)
        with self._env.write() as txn:
            self._truncate(txn, length)

    def _truncate(self, txn, length: int) -> None:
        size = self._get_size(txn)
        if length < size:
            prefix = self._page_prefix
            keep = (length + PAGE_SIZE - 1) // PAGE_SIZE  # pages [0, keep) stay
            last = (size - 1) // PAGE_SIZE
            for p in range(keep, last + 1):
                txn.delete(_page_key(prefix, p))
            if length % PAGE_SIZE:
                key = _page_key(prefix, keep - 1)
                page = txn.get(key)
                if page is not None and len(page) > length % PAGE_SIZE:
                    txn.put(key, page[: length % PAGE_SIZE])
        txn.put(self._size_key, length.to_bytes(_U64, "big"))

    def delete(self, offset: int, length: int) -> None:
        self._check()
        check_range(offset, length)
        with self._env.write() as txn:
            size = self._get_size(txn)
            if offset >= size:
                return
            if offset + length >= size:
                self._truncate(txn, offset)
                return
            # zero the range: whole pages are dropped (they read as zeros), partial ones overwritten
            end = offset + length
            prefix = self._page_prefix
            p = offset // PAGE_SIZE
            while p * PAGE_SIZE < end:
                lo = max(offset, p * PAGE_SIZE)
                hi = min(end, (p + 1) * PAGE_SIZE)
                if hi - lo == PAGE_SIZE:
                    txn.delete(_page_key(prefix, p))
                else:
                    self._write(txn, lo, bytes(hi - lo))
                p += 1

    def flush(self) -> None:
        self._check()
        try:
            self._env.env.sync(True)
        except lmdb.Error as exc:
            raise StorageError(f"LMDB sync failed: {exc}") from exc

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._owner.discard(self)


class LmdbStorage(NamespacedStorage):
    """A namespace of files in the LMDB environment at ``directory`` (shared by every sub-namespace)."""

    def __init__(self, directory: "str | os.PathLike[str]", prefix: str = "", *, _env: _Env | None = None,
                 _open_files: OpenFiles | None = None) -> None:
        directory = os.fspath(directory)
        if not directory:
            raise ValueError("LmdbStorage needs a directory")
        self.directory = os.path.abspath(os.path.expanduser(directory))
        if os.path.exists(self.directory) and not os.path.isdir(self.directory):
            raise StorageError(f"{self.directory} exists and is not a directory")
        self._env = _env if _env is not None else _acquire(self.directory)
        self._init_namespace(namespace_of(prefix), _open_files)

    def _path(self, name: str) -> str:
        return self._prefix + "/".join(split_path(name))

    def open(self, name: str) -> LmdbFile:
        self._check()
        return self._track(LmdbFile(self._env, self._path(name), self._namespace, self._open_files))

    def exists(self, name: str) -> bool:
        self._check()
        return self._env.get(b"s" + self._path(name).encode("utf-8")) is not None

    def sub(self, prefix: str) -> "LmdbStorage":
        self._check()
        path = self._prefix + "/".join(split_path(prefix, "prefix"))
        return LmdbStorage(self.directory, path, _env=self._env, _open_files=self._open_files)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One LMDB write transaction for the block (joined by nested calls): all of it or none lands."""
        self._check()
        with self._env.write():
            yield

    def _release(self) -> None:
        _release(self._env)

    @property
    def description(self) -> str:
        return f"lmdb:{self.directory}" + ("/" + self._prefix.rstrip("/") if self._prefix else "")
