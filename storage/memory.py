"""In-memory storage: each file is a ``bytearray`` (random-access-memory's counterpart)."""

from __future__ import annotations

from .base import OutOfRangeError, RandomAccessFile, Storage, StorageClosedError


class MemoryFile(RandomAccessFile):
    """A random-access file held in a bytearray."""

    __slots__ = ("name", "_buf", "_closed")

    def __init__(self, name: str, buf: bytearray) -> None:
        self.name = name
        self._buf = buf
        self._closed = False

    def _check(self) -> None:
        if self._closed:
            raise StorageClosedError(f"{self.name}: file is closed")

    def read(self, offset: int, length: int) -> bytes:
        if self._closed:
            self._check()
        end = offset + length
        if offset < 0 or length < 0 or end > len(self._buf):
            raise OutOfRangeError(
                f"{self.name}: could not read {length} bytes at {offset} (size {len(self._buf)})"
            )
        return bytes(self._buf[offset:end])

    def write(self, offset: int, data: bytes) -> None:
        if self._closed:
            self._check()
        buf = self._buf
        end = offset + len(data)
        if offset < 0:
            raise ValueError("negative offset")
        if offset > len(buf):
            buf.extend(bytes(offset - len(buf)))
        buf[offset:end] = data

    def delete(self, offset: int, length: int) -> None:
        self._check()
        buf = self._buf
        if offset >= len(buf) or length <= 0:
            return
        if offset + length >= len(buf):
            del buf[offset:]
        else:
            buf[offset : offset + length] = bytes(length)

    def truncate(self, length: int) -> None:
        self._check()
        buf = self._buf
        if length < len(buf):
            del buf[length:]
        else:
            buf.extend(bytes(length - len(buf)))

    def size(self) -> int:
        self._check()
        return len(self._buf)

    def close(self) -> None:
        self._closed = True


class MemoryStorage(Storage):
    """A namespace of in-memory files.  ``sub()`` namespaces share one dictionary."""

    def __init__(self, files: dict[str, bytearray] | None = None, prefix: str = "") -> None:
        self._files = {} if files is None else files
        self._prefix = prefix

    def open(self, name: str) -> MemoryFile:
        path = self._prefix + name
        buf = self._files.get(path)
        if buf is None:
            buf = self._files[path] = bytearray()
        return MemoryFile(path, buf)

    def exists(self, name: str) -> bool:
        return (self._prefix + name) in self._files

    def sub(self, prefix: str) -> "MemoryStorage":
        return MemoryStorage(self._files, self._prefix + prefix.strip("/") + "/")

    @property
    def description(self) -> str:
        return "memory" + (":" + self._prefix if self._prefix else "")
