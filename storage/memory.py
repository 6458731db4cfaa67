"""In-memory storage: each file is a sparse :class:`~.paged.PagedBuffer` (random-access-memory's counterpart).

All namespaces of one :class:`MemoryStorage` tree share one ``dict`` mapping ``"prefix/name"`` to the
file's buffer; a file appears in the dict when it is first written (``write``/``truncate``), so
``exists`` follows the storage contract.  Passing an existing dict to :class:`MemoryStorage` reopens the
files it holds (tests use this to "reopen" a feed or to copy files around); its values may also be
``bytes``/``bytearray``, which become buffers when the file is first used.  Buffers compare equal to the
bytes they hold.  Like random-access-memory, a file is made of 1 MiB pages allocated on first write, so a
write far past the end (the last block of a long feed arriving first) costs one page.  ``readonly=True``
refuses every write (:class:`~.base.ReadOnlyError`).
"""

from __future__ import annotations

from typing import Any

from .base import (
    Buffer,
    NamespacedStorage,
    OpenFiles,
    OutOfRangeError,
    RandomAccessFile,
    ReadOnlyError,
    StorageClosedError,
    check_range,
    namespace_of,
    split_path,
)
from .paged import PagedBuffer

_EMPTY = PagedBuffer()


class MemoryFile(RandomAccessFile):
    """A random-access file held in a :class:`~.paged.PagedBuffer` of the shared ``files`` dict (created on
    first write)."""

    __slots__ = ("name", "namespace", "_files", "_closed", "_owner", "readonly")

    def __init__(
        self,
        name: str,
        files: dict[str, Any],  # PagedBuffer values (bytes/bytearray ones are converted on use)
        namespace: tuple[str, ...] = (),
        owner: OpenFiles | None = None,
        *,
        readonly: bool = False,
    ) -> None:
        self.name = name
        self.namespace = namespace
        self._files = files
        self._closed = False
        self._owner = owner
        self.readonly = readonly

    def _check(self) -> None:
        if self._closed:
            raise StorageClosedError(f"{self.name}: file is closed")

    def _check_writable(self) -> None:
        self._check()
        if self.readonly:
            raise ReadOnlyError(f"{self.name}: the storage was opened read-only")

    def _buffer(self) -> PagedBuffer:
        buf = self._files.get(self.name)
        if buf is None:
            buf = self._files[self.name] = PagedBuffer()
        elif not isinstance(buf, PagedBuffer):
            buf = self._files[self.name] = PagedBuffer(buf)
        return buf

    def read(self, offset: int, length: int) -> bytes:
        if self._closed:
            self._check()
        buf = self._files.get(self.name, _EMPTY)
        if buf.__class__ is not PagedBuffer:
            buf = self._buffer()
        if offset < 0 or length < 0:
            check_range(offset, length)
        if offset + length > buf.length:
            raise OutOfRangeError(f"{self.name}: could not read {length} bytes at {offset} (size {buf.length})")
        return buf.read(offset, length)

    def write(self, offset: int, data: Buffer) -> None:
        if self._closed or self.readonly:
            self._check_writable()
        if offset < 0:
            check_range(offset, 0)
        buf = self._files.get(self.name)
        if buf.__class__ is not PagedBuffer:
            buf = self._buffer()
        buf.write(offset, data)

    def delete(self, offset: int, length: int) -> None:
        self._check_writable()
        check_range(offset, length)
        buf = self._files.get(self.name)
        if buf is None or length == 0:
            return
        buf = self._buffer()
        if offset >= buf.length:
            return
        if offset + length >= buf.length:
            buf.truncate(offset)
        else:
            buf.zero(offset, length)

    def truncate(self, length: int) -> None:
        self._check_writable()
        check_range(0, length)
        self._buffer().truncate(length)

    def size(self) -> int:
        self._check()
        return len(self._files.get(self.name, _EMPTY))  # bytes/bytearray values too

    def flush(self) -> None:
        self._check()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._owner is not None:
                self._owner.discard(self)


class MemoryStorage(NamespacedStorage):
    """A namespace of in-memory files.  ``sub()`` namespaces share one dictionary.

    ``close()`` closes the files opened from this namespace (and its sub-namespaces); the bytes stay in
    the dictionary, so a new ``MemoryStorage(files)`` sees them again.
    """

    def __init__(
        self,
        files: dict[str, Any] | None = None,
        prefix: str = "",
        *,
        readonly: bool = False,
        _open_files: OpenFiles | None = None,
    ) -> None:
        self._files = {} if files is None else files
        self.readonly = readonly
        self._init_namespace(namespace_of(prefix), _open_files)

    def open(self, name: str) -> MemoryFile:
        self._check()
        path = self._prefix + "/".join(split_path(name))
        return self._track(MemoryFile(path, self._files, self._namespace, self._open_files, readonly=self.readonly))

    def exists(self, name: str) -> bool:
        self._check()
        return (self._prefix + "/".join(split_path(name))) in self._files

    def sub(self, prefix: str) -> "MemoryStorage":
        self._check()
        path = self._prefix + "/".join(split_path(prefix, "prefix"))
        return MemoryStorage(self._files, path, readonly=self.readonly, _open_files=self._open_files)

    @property
    def description(self) -> str:
        return "memory" + (":" + self._prefix if self._prefix else "")
