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
  releases resources (further use raises :class:`StorageClosedError`).

All calls are synchronous.  Hypercore's writes are small page-cache writes (or one LMDB transaction) that
finish in microseconds, so they run inline on the event loop; only :meth:`RandomAccessFile.flush` on the
file backend may block for long, and callers that need it run it in an executor.

``Storage.transaction()`` groups writes that must land together (one append batch).  LMDB commits them in
one write transaction (all or nothing after a crash); the memory and file backends run them immediately.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from typing import Iterator


class StorageError(Exception):
    """Base class for storage failures."""


class OutOfRangeError(StorageError):
    """A read asked for bytes past the end of a file."""


class StorageClosedError(StorageError):
    """The file or storage was used after close()."""


class RandomAccessFile(ABC):
    """One named random-access file.  See the module docstring for the exact contract."""

    name: str

    @abstractmethod
    def read(self, offset: int, length: int) -> bytes: ...

    @abstractmethod
    def write(self, offset: int, data: bytes) -> None: ...

    @abstractmethod
    def delete(self, offset: int, length: int) -> None: ...

    @abstractmethod
    def truncate(self, length: int) -> None: ...

    @abstractmethod
    def size(self) -> int: ...

    def flush(self) -> None:
        """Make everything written so far durable.  Default: nothing to do."""

    @abstractmethod
    def close(self) -> None: ...

    def read_all(self) -> bytes:
        """The whole file."""
        return self.read(0, self.size())


class Storage(ABC):
    """A factory of named :class:`RandomAccessFile` objects for one feed (one namespace)."""

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
