"""In-memory storage: each file is a ``bytearray`` (random-access-memory's counterpart).

All namespaces of one :class:`MemoryStorage` tree share one ``dict`` mapping ``"prefix/name"`` to the
file's ``bytearray``; a file appears in the dict when it is first written (``write``/``truncate``), so
``exists`` follows the storage contract.  Passing an existing dict to :class:`MemoryStorage` reopens the
files it holds (tests use this to "reopen" a feed or to copy files around).  ``readonly=True`` refuses
every write (:class:`~.base.ReadOnlyError`).
"""

from __future__ import annotations

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

_EMPTY = bytearray()


class MemoryFile(RandomAccessFile):
    """A random-access file held in a bytearray of the shared ``files`` dict (created on first write)."""

    __slots__ = ("name", "namespace", "_files", "_closed", "_owner", "readonly")

    def __init__(
        self,
        name: str,
        files: dict[str, bytearray],
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

    def _buffer(self) -> bytearray:
        buf = self._files.get(self.name)
        if buf is None:
            buf = self._files[self.name] = bytearray()
        return buf

    def read(self, offset: int, length: int) -> bytes:
        if self._closed:
            self._check()
        buf = self._files.get(self.name, _EMPTY)
        end = offset + length
        if offset < 0 or length < 0:
            check_range(offset, length)
        if end > len(buf):
            raise OutOfRangeError(f"{self.name}: could not read {length} bytes at {offset} (size {len(buf)})")
        return bytes(buf[offset:end])

    def write(self, offset: int, data: Buffer) -> None:
        if self._closed or self.readonly:
            self._check_writable()
        if offset < 0:
            check_range(offset, 0)
        buf = self._buffer()
        if offset > len(buf):
            buf.extend(bytes(offset - len(buf)))
        buf[offset : offset + len(data)] = data

    def delete(self, offset: int, length: int) -> None:
        self._check_writable()
        check_range(offset, length)
        buf = self._files.get(self.name)
        if buf is None or offset >= len(buf) or length == 0:
            return
        if offset + length >= len(buf):
            del buf[offset:]
        else:
            buf[offset : offset + length] = bytes(length)

    def truncate(self, length: int) -> None:
        self._check_writable()
        check_range(0, length)
        buf = self._buffer()
        if length < len(buf):
            del buf[length:]
        else:
            buf.extend(bytes(length - len(buf)))

    def size(self) -> int:
        self._check()
        return len(self._files.get(self.name, _EMPTY))

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
        files: dict[str, bytearray] | None = None,
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
