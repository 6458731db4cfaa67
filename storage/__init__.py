"""Random-access storage for feeds: one contract (:mod:`.base`), three backends.

* ``memory`` — :class:`MemoryStorage`, sparse 1 MiB-paged buffers in a dict;
* ``file:DIR`` — :class:`FileStorage`, one directory per feed holding exactly the files JS hypercore 7
  writes (``key``, ``secret_key``, ``tree``, ``data``, ``bitfield``, ``signatures``);
* ``lmdb:DIR`` — :class:`LmdbStorage`, many feeds in one LMDB environment, crash-safe per transaction.

:func:`open_storage` picks one from a spec string.
"""

from __future__ import annotations

import os

from .base import (
    DiskFullError,
    OutOfRangeError,
    RandomAccessFile,
    ReadOnlyError,
    Storage,
    StorageClosedError,
    StorageError,
)
from .file import FileStorage
from .lmdb_storage import LmdbStorage
from .memory import MemoryStorage

__all__ = [
    "open_storage", "Storage", "RandomAccessFile", "MemoryStorage", "FileStorage", "LmdbStorage",
    "StorageError", "OutOfRangeError", "StorageClosedError", "ReadOnlyError", "DiskFullError",
]


def open_storage(spec: "str | Storage", *, readonly: bool = False) -> Storage:
    """``"memory"``, ``"file:DIR"`` or ``"lmdb:DIR"`` -> a new root :class:`Storage` for one feed.

    ``readonly``: open without creating or writing anything (see :mod:`.base`): commands that only read
    use it.  ``DIR`` may start with ``~``.  Every ``lmdb:DIR`` storage on the same directory in a process shares
    one LMDB environment (other feeds go in ``storage.sub(prefix)``).  A :class:`Storage` passes through
    unchanged; any other string raises :class:`ValueError`, any other type :class:`TypeError`.
    """
    if isinstance(spec, Storage):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"a storage spec is a string like 'file:DIR', not {type(spec).__name__}")
    kind, sep, where = spec.partition(":")
    if spec == "memory":
        return MemoryStorage(readonly=readonly)
    if sep and where and kind == "file":
        return FileStorage(os.path.expanduser(where), readonly=readonly)
    if sep and where and kind == "lmdb":
        return LmdbStorage(os.path.expanduser(where), readonly=readonly)
    raise ValueError(f"unknown storage {spec!r}: use memory, file:DIR or lmdb:DIR")
