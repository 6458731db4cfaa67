"""The random-access storage contract every backend implements.

A :class:`RandomAccessFile` is a named, growable byte array, the Python counterpart of the JS
``random-access-storage`` objects hypercore 7 writes to (``key``, ``secret_key``, ``tree``, ``data``,
``bitfield``, ``signatures``).  A :class:`Storage` is a factory of such files for one feed; its
:meth:`Storage.sub` gives a child namespace (a sub-directory for files, a key prefix for LMDB), which is how
structures made of several hypercores (multifeed's ``0/``, ``1/`` ..., hyperdrive's metadata/content) lay
out their feeds.

Semantics (checked by ``tests/test_storage_contract.py`` against a bytearray model on every backend):

* ``read(offset, length)`` returns exactly ``length`` bytes or raises :class:`OutOfRangeError` when
  ``offset + length > size()``.  Holes left by writes past the end read as zero bytes.
* ``write(offset, data)`` overwrites and grows the file as needed (a gap is zero-filled).
* ``delete(offset, length)`` zeroes the range; when the range reaches the end of the file the file is
  truncated to ``offset`` instead (random-access-storage's ``del``).
* ``truncate(length)`` shrinks, or grows with zeros.
* ``size()`` is the current length in bytes; ``flush()`` makes written data durable; ``close()``
  releases resources (further use raises :class:`StorageClosedError`; closing twice is harmless).
* Negative offsets or lengths raise :class:`ValueError`.
* Files are created lazily: ``write`` and ``truncate`` create the file, reading a never-written file sees
  an empty file, and ``Storage.exists`` is true only once the file has been created.

Names and prefixes are ``/``-separated paths of non-empty components (not ``.`` or ``..``, no NUL), so no
backend can be led outside its directory or key range (:func:`split_path`).

All calls are synchronous.  Hypercore's writes are small page-cache writes (or one LMDB transaction) that
finish in microseconds, so they run inline on the event loop; only :meth:`RandomAccessFile.flush` on the
file backend may block for long, and callers that need it run it in an executor.

Read-only storages (``open_storage(spec, readonly=True)``): every write raises :class:`ReadOnlyError`,
and opening one creates nothing (no directory, no LMDB environment, no file); a file that was never
written reads as empty.  Commands that only read open their storage this way, so they work on read-only
mounts and files without write permission and never mark what they look at.

Failures of the device are :class:`StorageError` subclasses with a message fit for a user:
:class:`DiskFullError` ("disk full") when the device has no space left, :class:`ReadOnlyError` when the
file system or the permissions refuse a write (:func:`os_failure`).

``Storage.transaction()`` groups writes that must land together (one append batch).  LMDB commits them in
one write transaction (all or nothing after a crash); the memory and file backends run them immediately.
Blocks nest (an inner block joins the outer one), reads inside a block see its writes, and a closed
storage refuses to start one (:class:`StorageClosedError`).  ``write_many(offset, chunks)`` is exactly
``write(offset, b"".join(chunks))``; backends override it to avoid the joined copy.
"""

from __future__ import annotations

import contextlib
import errno
import os
from abc import ABC, abstractmethod
from typing import Iterator, Sequence, TypeAlias, TypeVar

#: What ``write``/``write_many`` accept: any contiguous byte buffer (a ``bytes`` copy is never required).
Buffer: TypeAlias = bytes | bytearray | memoryview

_File = TypeVar("_File", bound="RandomAccessFile")


class StorageError(Exception):
    """Base class for storage failures."""


class OutOfRangeError(StorageError):
    """A read asked for bytes past the end of a file."""


class StorageClosedError(StorageError):
    """The file or storage was used after close()."""


class ReadOnlyError(StorageError):
    """A write to a storage opened read-only, or one the file system or the permissions refuse."""


class DiskFullError(StorageError):
    """A write failed because the device holding the storage has no space left."""


#: A device with less free space than this is called full when a write fails there for an unclear reason
#: (LMDB reports ENOSPC during a commit as "Input/output error").
LOW_SPACE = 1 << 20


def free_bytes(path: str) -> int | None:
    """Bytes available to us on the device holding ``path`` (its nearest existing ancestor); None when
    that cannot be known."""
    while path and not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    try:
        st = os.statvfs(path or ".")
    except (OSError, AttributeError):
        return None
    return st.f_bavail * st.f_frsize


def os_failure(where: str, what: str, err: BaseException, *, device: str | None = None) -> StorageError:
    """A :class:`StorageError` that says why ``what`` (e.g. ``"write"``) failed on ``where``.

    ``err`` is the OS (or LMDB) error; ``device`` a path on the device, used to tell a full disk behind an
    unclear error (LMDB's "Input/output error").
    """
    code = getattr(err, "errno", None)
    reason = getattr(err, "strerror", None) or str(err)
    if code is None:  # LMDB errors carry only the message: recognise the OS errors by their text
        for candidate in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES):
            if os.strerror(candidate) in reason:
                code = candidate
                break
    if code in (errno.ENOSPC, errno.EDQUOT):
        return DiskFullError(f"{where}: disk full: cannot {what} (no space left on the device)")
    if code == errno.EROFS:
        return ReadOnlyError(f"{where}: cannot {what}: the file system is read-only")
    if code in (errno.EACCES, errno.EPERM):
        return ReadOnlyError(f"{where}: cannot {what}: permission denied")
    if device is not None and code in (None, errno.EIO):
        free = free_bytes(device)
        if free is not None and free < LOW_SPACE:
            return DiskFullError(f"{where}: disk full: cannot {what} ({free} bytes free on the device; "
                                 f"the error was: {reason})")
    return StorageError(f"{where}: cannot {what}: {reason}")


class RandomAccessFile(ABC):
    """One named random-access file.  See the module docstring for the exact contract."""

    name: str

    @abstractmethod
    def read(self, offset: int, length: int) -> bytes: ...

    @abstractmethod
    def write(self, offset: int, data: Buffer) -> None: ...

    @abstractmethod
    def delete(self, offset: int, length: int) -> None: ...

    @abstractmethod
    def truncate(self, length: int) -> None: ...

    @abstractmethod
    def size(self) -> int: ...

    def write_many(self, offset: int, chunks: Sequence[Buffer]) -> None:
        """Write ``chunks`` back to back from ``offset`` (one append batch): exactly
        ``write(offset, b"".join(chunks))``, so an empty list still grows a shorter file to ``offset``.
        Default: one joined write."""
        self.write(offset, chunks[0] if len(chunks) == 1 else b"".join(chunks))

    def flush(self) -> None:
        """Make everything written so far durable.  Default: nothing to do."""

    @abstractmethod
    def close(self) -> None: ...

    def read_all(self) -> bytes:
        """The whole file."""
        return self.read(0, self.size())


class Storage(ABC):
    """A factory of named :class:`RandomAccessFile` objects for one feed (one namespace)."""

    #: True when the storage was opened read-only (every write raises :class:`ReadOnlyError`).
    readonly: bool = False

    @abstractmethod
    def open(self, name: str) -> RandomAccessFile:
        """Open (creating lazily, as an empty file) the file ``name`` of this namespace."""

    @abstractmethod
    def exists(self, name: str) -> bool:
        """True when ``name`` has been written in this namespace (even if now empty)."""

    @abstractmethod
    def sub(self, prefix: str) -> "Storage":
        """A child namespace ``prefix`` (a sub-directory / key prefix).  Shares the parent's resources."""

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group the writes made inside the block so they land together (see module docstring)."""
        yield

    def close(self) -> None:
        """Release the namespace's resources (files opened from it are closed too)."""

    @property
    def description(self) -> str:
        """A human-readable name of where the data lives (``memory``, ``file:DIR``, ``lmdb:DIR/prefix``)."""
        return type(self).__name__


class NamespacedStorage(Storage):
    """Plumbing every backend shares: a namespace (tuple of path parts) under a root storage, the files
    opened from the root and its subs (:class:`OpenFiles`), and closing them.

    A backend calls :meth:`_init_namespace` in its constructor, :meth:`_check` before each use and
    :meth:`_track` on each file it opens; :meth:`_release` runs once when the root storage closes.
    """

    def _init_namespace(self, namespace: tuple[str, ...], open_files: "OpenFiles | None") -> None:
        self._namespace = namespace
        self._prefix = "".join(part + "/" for part in namespace)
        self._is_root = open_files is None
        self._open_files = OpenFiles() if open_files is None else open_files
        self._closed = False

    def _check(self) -> None:
        if self._closed or self._open_files.closed:
            raise StorageClosedError(f"{self.description}: storage is closed")

    def _track(self, file: _File) -> _File:
        self._open_files.add(file)
        return file

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Nothing to group (writes land as they are made); a closed storage refuses to start one."""
        self._check()
        yield

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._open_files.close_under(self._namespace)
        if self._is_root:
            self._open_files.closed = True
            self._release()

    def _release(self) -> None:
        """Free the root's resources (called once, when the root storage closes)."""


def namespace_of(prefix: str) -> tuple[str, ...]:
    """The namespace parts of a ``/``-separated prefix (empty prefix: the root)."""
    return split_path(prefix, "prefix") if prefix.strip("/") else ()


def split_path(path: str, what: str = "name") -> tuple[str, ...]:
    """The components of a file name or namespace prefix (leading/trailing ``/`` ignored).

    Raises :class:`ValueError` for an empty path, empty components (``a//b``), ``.``/``..`` or NUL.
    """
    if not isinstance(path, str):
        raise TypeError(f"storage {what} must be a str, not {type(path).__name__}")
    parts = tuple(path.strip("/").split("/"))
    for part in parts:
        if part in ("", ".", "..") or "\0" in part:
            raise ValueError(f"invalid storage {what} {path!r}")
    return parts


def check_range(offset: int, length: int) -> None:
    """Reject negative offsets/lengths (:class:`ValueError`)."""
    if offset < 0 or length < 0:
        raise ValueError(f"negative offset or length (offset {offset}, length {length})")


class OpenFiles:
    """The files opened from a root storage and all its sub-namespaces, so that ``close()`` of a
    namespace closes the files under it (``Storage.close`` contract).

    Each tracked file has a ``namespace`` tuple; a file calls :meth:`discard` when it is closed, so a
    long-running process that opens and closes many feeds keeps no references to closed files.
    """

    __slots__ = ("files", "closed")

    def __init__(self) -> None:
        self.files: set[RandomAccessFile] = set()
        self.closed = False

    def add(self, file: RandomAccessFile) -> None:
        self.files.add(file)

    def discard(self, file: RandomAccessFile) -> None:
        self.files.discard(file)

    def close_under(self, namespace: tuple[str, ...]) -> None:
        """Close every tracked file whose namespace is ``namespace`` or below it."""
        n = len(namespace)
        for f in list(self.files):
            if f.namespace[:n] == namespace:  # type: ignore[attr-defined]
                f.close()
