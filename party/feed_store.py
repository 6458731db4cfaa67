"""``FeedStore``: the hypercores a peer keeps for a party, laid out on disk as multifeed 4 does.

Layout (multifeed 4.3.0, see shared/spec/multifeed-4.md §1): feed number ``n`` lives in the
sub-namespace ``str(n)`` of the storage (``<dir>/<n>/key``, ``tree``, ...).  A locally created writer also
has a ``localname`` file holding its UTF-8 name; feeds learned from remotes have none and are named
``str(n)``.  On open, namespaces ``0, 1, 2, ...`` are loaded until the first one without a ``key`` file.
Because the layout is multifeed's, a JS multifeed can open a directory a Python FeedStore wrote and the
reverse.
"""

from __future__ import annotations

import asyncio
from typing import Iterator

from ..feeds.hypercore import Hypercore
from ..storage import Storage, open_storage
from ..events import EventEmitter


def _is_index_name(name: str) -> bool:
    return name.isdigit() and (name == "0" or not name.startswith("0")) and int(name) < 2**32 - 1


class FeedStore(EventEmitter):
    """A growing set of hypercores under one storage.  Events: ``"feed"`` (core) when one is added."""

    def __init__(self, storage: Storage | str, *, sparse: bool = False) -> None:
        super().__init__()
        self.storage = open_storage(storage) if isinstance(storage, str) else storage
        self.sparse = sparse
        self._cores: list[Hypercore] = []
        self._names: dict[str, Hypercore] = {}
        self._by_key: dict[bytes, Hypercore] = {}
        self._by_dkey: dict[bytes, Hypercore] = {}
        self._lock = asyncio.Lock()
        self._ready = False

    async def ready(self) -> None:
        """Load every feed already stored (namespaces 0, 1, 2, ... until one has no key)."""
        if self._ready:
            return
        async with self._lock:
            if self._ready:
                return
            n = 0
            while True:
                sub = self.storage.sub(str(n))
                if not sub.exists("key") or sub.open("key").size() < 32:
                    break
                name = str(n)
                if sub.exists("localname"):
                    stored = sub.open("localname").read_all().decode("utf-8", "replace")
                    name = stored or name
                core = Hypercore(sub, sparse=self.sparse)
                await core.ready()
                self._register(core, name)
                n += 1
            self._ready = True

    def _register(self, core: Hypercore, name: str) -> None:
        self._cores.append(core)
        self._names[name] = core
        self._by_key[core.key] = core
        self._by_dkey[core.discovery_key] = core

    async def writer(self, name: str = "local") -> Hypercore:
        """The local writable feed called ``name``, created (with a fresh key pair) if missing."""
        await self.ready()
        async with self._lock:
            core = self._names.get(name)
            if core is not None:
                return core
            n = len(self._cores)
            sub = self.storage.sub(str(n))
            sub.open("localname").write(0, (name or str(n)).encode("utf-8"))
            core = Hypercore(sub, sparse=self.sparse)
            await core.ready()
            self._register(core, name or str(n))
        self.emit("feed", core)
        return core

    async def add(self, key: bytes) -> Hypercore:
        """The feed with public ``key``: the stored one, or a new read-only replica."""
        key = bytes(key)
        if len(key) != 32:
            raise ValueError("a feed key is 32 bytes")
        await self.ready()
        async with self._lock:
            core = self._by_key.get(key)
            if core is not None:
                return core
            n = len(self._cores)
            core = Hypercore(self.storage.sub(str(n)), key=key, sparse=self.sparse)
            await core.ready()
            self._register(core, str(n))
        self.emit("feed", core)
        return core

    def get(self, key: bytes) -> Hypercore | None:
        return self._by_key.get(bytes(key))

    def by_discovery_key(self, discovery_key: bytes) -> Hypercore | None:
        return self._by_dkey.get(bytes(discovery_key))

    def feeds(self) -> list[Hypercore]:
        """Feeds in multifeed's order: integer-named feeds by number, then the others by insertion."""
        numeric = sorted((int(n), c) for n, c in self._names.items() if _is_index_name(n))
        others = [c for n, c in self._names.items() if not _is_index_name(n)]
        return [c for _, c in numeric] + others

    def __iter__(self) -> Iterator[Hypercore]:
        return iter(self.feeds())

    def __len__(self) -> int:
        return len(self._cores)

    def name_of(self, core: Hypercore) -> str:
        for name, c in self._names.items():
            if c is core:
                return name
        raise KeyError("core not in this store")

    async def close(self) -> None:
        for core in self._cores:
            await core.close()
        self.storage.close()


