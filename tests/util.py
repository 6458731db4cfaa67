"""Helpers shared by the test modules (tests/ is on sys.path through tests/conftest.py)."""

from __future__ import annotations

import asyncio
from typing import Callable

from hyperparty.storage import MemoryStorage, open_storage


async def eventually(predicate: Callable[[], object], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class Backend:
    """Opens (and reopens) named storages of one kind (memory, file or lmdb); closes what it opened.

    Memory storages reopen on the same dict, so "reopen" means the same thing on every backend.
    """

    def __init__(self, kind: str, tmp_path) -> None:
        self.kind = kind
        self.tmp_path = tmp_path
        self._memory: dict[str, dict] = {}
        self._opened: list = []

    def open(self, name: str = "feed"):
        if self.kind == "memory":
            storage = MemoryStorage(self._memory.setdefault(name, {}))
        else:
            storage = open_storage(f"{self.kind}:{self.tmp_path / name}")
        self._opened.append(storage)
        return storage

    def close(self, storage) -> None:
        if storage in self._opened:
            self._opened.remove(storage)
        storage.close()

    def close_all(self) -> None:
        while self._opened:
            self._opened.pop().close()

    def patch(self, file: str, edit, name: str = "feed") -> None:
        """Apply ``edit(RandomAccessFile)`` to one file of the (closed) feed ``name``."""
        storage = self.open(name)
        try:
            with storage.transaction():
                edit(storage.open(file))
        finally:
            self.close(storage)
