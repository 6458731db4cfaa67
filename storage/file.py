"""File storage: one directory per feed holding exactly the files JS hypercore 7 writes.

``FileStorage(DIR).open("tree")`` is ``DIR/tree``; ``sub("0")`` is ``DIR/0/``.  This is the layout of
``random-access-file`` under hypercore 7 (``key``, ``secret_key``, ``tree``, ``data``, ``bitfield``,
``signatures``), so a directory written here opens in JS hypercore and the other way round.

Implementation notes:

* Each :class:`FileRandomAccessFile` keeps one ``O_RDWR`` file descriptor open and uses ``os.pread`` /
  ``os.pwrite`` (no seek, no Python-level buffering): hypercore does many small positioned writes, and
  each one is then a single syscall into the page cache.
* Files and directories are created on the first ``write``/``truncate`` (``os.makedirs``); until then a
  file reads as empty and ``exists`` is false.  (JS random-access-file creates the file when it is first
  opened, even for a read; hypercore treats a missing file and an empty file the same way.)
* ``delete`` at the end of the file is ``ftruncate``; a range inside the file is overwritten with zeros.
  (Punching a hole would need ``fallocate(FALLOC_FL_PUNCH_HOLE)``, which the standard library does not
  expose; hypercore only deletes block ranges on ``clear``, so zero-filling is simple and enough.)
* ``flush`` is ``fsync`` of the file, plus ``fsync`` of the directories this handle created, so a new
  file's directory entry is durable too.
* Read-only (``FileStorage(DIR, readonly=True)``): files are opened ``O_RDONLY`` (so read-only mounts
  and files without write permission can be read), nothing is ever created, every write raises
  :class:`~.base.ReadOnlyError`.  A writable storage whose file the OS will not open for writing says so
  (``ReadOnlyError``: "read-only file system" / "permission denied"); a full device is a
  :class:`~.base.DiskFullError`.
"""

from __future__ import annotations

import errno
import os
from typing import Sequence

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
    os_failure,
    split_path,
)

_ZERO_CHUNK = 1 << 20  # zero-fill in 1 MiB writes
_GROUP_BYTES = 1 << 20
_IOV_MAX = min(os.sysconf("SC_IOV_MAX") if hasattr(os, "sysconf") else 1024, 1024)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class FileRandomAccessFile(RandomAccessFile):
    """One file of a :class:`FileStorage`, opened lazily, accessed with pread/pwrite."""

    __slots__ = ("name", "namespace", "_fd", "_closed", "_owner", "_new_dirs", "readonly")

    def __init__(self, path: str, namespace: tuple[str, ...] = (), owner: OpenFiles | None = None, *,
                 readonly: bool = False) -> None:
        self.name = path
        self.namespace = namespace
        self.readonly = readonly
        self._fd = -1
        self._closed = False
        self._owner = owner
        self._new_dirs: list[str] = []  # directories this handle created (fsynced by flush)

    def __repr__(self) -> str:
        return f"<FileRandomAccessFile {self.name!r}{' closed' if self._closed else ''}>"

    # -- descriptor management -------------------------------------------------------------------

    def _reader_fd(self) -> int:
        """The fd, or -1 when the file does not exist yet (reads see an empty file)."""
        if self._closed:
            raise StorageClosedError(f"{self.name}: file is closed")
        if self._fd < 0:
            try:
                self._fd = os.open(self.name, (os.O_RDONLY if self.readonly else os.O_RDWR) | _O_CLOEXEC)
            except (FileNotFoundError, NotADirectoryError):
                return -1
            except OSError as err:
                raise os_failure(self.name, "open for writing" if not self.readonly else "open", err) from err
        return self._fd

    def _writer_fd(self) -> int:
        """The fd, creating the file (and its directories) when needed."""
        if self.readonly:
            raise ReadOnlyError(f"{self.name}: the storage was opened read-only")
        fd = self._reader_fd()
        if fd >= 0:
            return fd
        directory = os.path.dirname(self.name)
        self._make_dirs(directory)
        try:
            fd = os.open(self.name, os.O_RDWR | os.O_CREAT | _O_CLOEXEC, 0o644)
        except OSError as err:
            raise os_failure(self.name, "create the file", err) from err
        self._fd = fd
        self._new_dirs.append(directory)
        return fd

    def _make_dirs(self, directory: str) -> None:
        missing = []
        d = directory
        while d and not os.path.isdir(d):
            missing.append(d)
            parent = os.path.dirname(d)
            if parent == d:
                break
            d = parent
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as err:
            raise os_failure(directory, "create the directory", err) from err
        # the parents of created directories need an fsync for the new entries to be durable
        self._new_dirs.extend(os.path.dirname(m) for m in missing)

    # -- RandomAccessFile ------------------------------------------------------------------------

    def read(self, offset: int, length: int) -> bytes:
        fd = self._reader_fd()
        if offset < 0 or length < 0:
            check_range(offset, length)
        if fd < 0:
            if length == 0 and offset == 0:
                return b""
            raise OutOfRangeError(f"{self.name}: could not read {length} bytes at {offset} (file does not exist)")
        data = os.pread(fd, length, offset)
        if len(data) == length:
            if length == 0 and offset > os.fstat(fd).st_size:
                raise OutOfRangeError(f"{self.name}: could not read 0 bytes at {offset} (past the end)")
            return data
        parts = [data]
        got = len(data)
        while got < length:  # short reads happen only at EOF (or for reads over 2 GiB)
            more = os.pread(fd, length - got, offset + got)
            if not more:
                size = os.fstat(fd).st_size
                raise OutOfRangeError(f"{self.name}: could not read {length} bytes at {offset} (size {size})")
            parts.append(more)
            got += len(more)
        return b"".join(parts)

    def write(self, offset: int, data: Buffer) -> None:
        try:
            self._write(offset, data)
        except OSError as err:
            raise os_failure(self.name, "write", err, device=self.name) from err

    def _write(self, offset: int, data: Buffer) -> None:
        if offset < 0:
            check_range(offset, 0)
        fd = self._writer_fd()
        n = len(data)
        if n == 0:
            if offset > os.fstat(fd).st_size:
                os.ftruncate(fd, offset)
            return
        written = os.pwrite(fd, data, offset)
        if written != n:
            view = memoryview(data).cast("B")
            while written < n:
                written += os.pwrite(fd, view[written:], offset + written)

    def write_many(self, offset: int, chunks: Sequence[Buffer]) -> None:
        """``pwritev`` the chunks without joining them (no copy of a large batch in user space)."""
        if len(chunks) <= 1 or not hasattr(os, "pwritev"):
            return RandomAccessFile.write_many(self, offset, chunks)
        try:
            self._write_many(offset, chunks)
        except OSError as err:
            raise os_failure(self.name, "write", err, device=self.name) from err

    def _write_many(self, offset: int, chunks: Sequence[Buffer]) -> None:
        if offset < 0:
            check_range(offset, 0)
        fd = self._writer_fd()
        # groups of about 1 MiB: the kernel copies each group while it is still in the CPU caches
        # (one 64 MB pwritev is measurably slower than 64 writes of 1 MB)
        part: list = []
        size = 0
        for chunk in chunks:
            part.append(chunk)
            size += len(chunk)
            if size >= _GROUP_BYTES or len(part) >= _IOV_MAX:
                offset = self._pwritev(fd, part, size, offset)
                part = []
                size = 0
        if part:
            self._pwritev(fd, part, size, offset)

    def _pwritev(self, fd: int, part: list, size: int, offset: int) -> int:
        if not size:  # only empty chunks: still grows a shorter file to ``offset`` (as write does)
            self._write(offset, b"")
            return offset
        written = os.pwritev(fd, part, offset)
        if written != size:  # short write: finish the rest the plain way
            self._write(offset + written, b"".join(part)[written:])
        return offset + size

    def delete(self, offset: int, length: int) -> None:
        if self.readonly:
            raise ReadOnlyError(f"{self.name}: the storage was opened read-only")
        try:
            self._delete(offset, length)
        except OSError as err:
            raise os_failure(self.name, "delete", err, device=self.name) from err

    def _delete(self, offset: int, length: int) -> None:
        fd = self._reader_fd()
        check_range(offset, length)
        if fd < 0 or length == 0:
            return
        size = os.fstat(fd).st_size
        if offset >= size:
            return
        if offset + length >= size:
            os.ftruncate(fd, offset)
            return
        end = offset + length
        zeros = bytes(min(length, _ZERO_CHUNK))
        while offset < end:
            n = min(len(zeros), end - offset)
            offset += os.pwrite(fd, zeros[:n] if n < len(zeros) else zeros, offset)

    def truncate(self, length: int) -> None:
        check_range(0, length)
        fd = self._writer_fd()
        try:
            os.ftruncate(fd, length)
        except OSError as err:
            raise os_failure(self.name, "truncate", err, device=self.name) from err

    def size(self) -> int:
        fd = self._reader_fd()
        return 0 if fd < 0 else os.fstat(fd).st_size

    def flush(self) -> None:
        fd = self._reader_fd()
        try:
            if fd >= 0 and not self.readonly:
                os.fsync(fd)
            while self._new_dirs:
                _fsync_directory(self._new_dirs[-1])
                self._new_dirs.pop()
        except OSError as err:
            raise os_failure(self.name, "flush", err, device=self.name) from err

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._owner is not None:
            self._owner.discard(self)
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)


def _fsync_directory(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | _O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    except OSError as err:  # some filesystems do not support fsync on directories
        if err.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)


class FileStorage(NamespacedStorage):
    """A directory of random-access files; ``sub(prefix)`` is the sub-directory ``prefix``.

    The directory is created on the first write.  ``close()`` closes the files opened from this
    namespace and its sub-namespaces; closing the root storage also makes its subs unusable.
    """

    def __init__(
        self,
        directory: "str | os.PathLike[str]",
        *,
        readonly: bool = False,
        _open_files: OpenFiles | None = None,
        _namespace: tuple[str, ...] = (),
    ) -> None:
        directory = os.fspath(directory)
        if not directory:
            raise ValueError("FileStorage needs a directory")
        self.directory = os.path.abspath(os.path.expanduser(directory))
        self.readonly = readonly
        self._init_namespace(_namespace, _open_files)
        if os.path.exists(self.directory) and not os.path.isdir(self.directory):
            raise StorageError(f"{self.directory} exists and is not a directory")

    def _path(self, name: str) -> str:
        return os.path.join(self.directory, *split_path(name))

    def open(self, name: str) -> FileRandomAccessFile:
        self._check()
        return self._track(FileRandomAccessFile(self._path(name), self._namespace, self._open_files,
                                                readonly=self.readonly))

    def exists(self, name: str) -> bool:
        self._check()
        return os.path.isfile(self._path(name))

    def sub(self, prefix: str) -> "FileStorage":
        self._check()
        parts = split_path(prefix, "prefix")
        return FileStorage(
            os.path.join(self.directory, *parts),
            readonly=self.readonly,
            _open_files=self._open_files,
            _namespace=self._namespace + parts,
        )

    @property
    def description(self) -> str:
        return f"file:{self.directory}"
