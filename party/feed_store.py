"""``FeedStore``: the feeds a peer keeps for a party — of every kind — laid out on disk as multifeed 4 does.

Layout (multifeed 4.3.0, see shared/spec/multifeed-4.md §1): feed number ``n`` lives in the
sub-namespace ``str(n)`` of the storage.  Its first core (the one named by the feed's key) always lives
at ``<n>/`` itself (``<n>/key``, ``tree``, ...), so for plain hypercores the directory is exactly
multifeed's and a JS multifeed keeps opening it (it sees a structure's first core as a hypercore too).
A structure's other cores live in sub-namespaces of ``<n>/`` (a drive's content core in
``<n>/content/``, a db's writers in ``<n>/peers/...``), and its kind is recorded in ``<n>/kind`` (UTF-8;
absent for plain hypercores, so multifeed's directories are unchanged).  A locally created writer also
has a ``localname`` file holding its UTF-8 name; feeds learned from remotes have none and are named
``str(n)``.

On open, namespaces ``0, 1, 2, ...`` are loaded until the first one with neither a ``key`` nor a ``kind``
file.  Every core's discovery key is indexed (learned cores included), so a channel the remote opens for
a drive's content core finds the drive.

A replica opened for an introduced key starts as a plain hypercore.  When its block 0 arrives (or is
already stored), the registry (:mod:`hyperparty.feeds.registry`) tells its kind; if that is a structure,
the store builds it around the replica (``cls.from_core``), hands it the replica's streams (so its
learned cores replicate where the replica does), records the kind and emits ``"kind"``.

Bounds (:mod:`hyperparty.protocol.limits`): a store holds at most ``max_feeds`` feeds (default
:data:`~hyperparty.protocol.limits.MAX_STORE_FEEDS` = 200, below the 256 channels of one connection, so a
peer can always replicate every feed of a party on one stream, with any peer, JS included);
:meth:`FeedStore.add` of one more raises :class:`StoreFull`.  The limit is also what a party lets remotes
make us store (a multifeed peer may name that many new feeds), so it is a budget, not just a size.

A bigger party (say 1 000 feeds) needs ``FeedStore(storage, max_feeds=N)`` with ``N`` above the party's
feed count **on every peer** (a peer with a smaller store keeps its first ``max_feeds`` feeds and logs the
refused ones).  Between Python peers whose streams list the ``hyperparty/many-feeds`` extension (a
:class:`~hyperparty.party.Party` asks for it by default) one connection then carries all of them (up to
16 384 channels).  A peer held to 256 channels (a JS multifeed, or a stream made with ``many_feeds=False``)
gets 255 feeds per connection — the party key takes one channel — and the others are reported, never
silently dropped (the party's ``overflow`` event and a warning on ``hyperparty.net``).  A read-only feed the rules gave up on (introduced, never a verified block) is removed
with :meth:`FeedStore.discard`: its files are emptied and its namespace is marked with the kind
``discarded`` (so the feeds after it still load) until a later feed reuses the number.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Iterator

from ..events import EventEmitter
from ..feeds import registry
from ..feeds.hypercore import Hypercore
from ..protocol import limits
from ..storage import Storage, open_storage
from .errors import PartyError

if TYPE_CHECKING:  # pragma: no cover
    from ..feeds import Feed

__all__ = ["FeedStore", "StoreFull"]

log = logging.getLogger(__name__)

KIND_FILE = "kind"
NAME_FILE = "localname"
DISCARDED = "discarded"  # kind of a namespace whose feed was discarded (free for the next feed)
CORE_FILES = ("key", "secret_key", "tree", "data", "bitfield", "signatures")


class StoreFull(PartyError):
    """The store already holds as many feeds as it may (``max_feeds``)."""


def _is_index_name(name: str) -> bool:
    return name.isdigit() and (name == "0" or not name.startswith("0")) and int(name) < 2**32 - 1


def _read_text(storage: Storage, name: str) -> str | None:
    if not storage.exists(name):
        return None
    data = storage.open(name).read_all()
    return data.decode("utf-8", "replace") if data else None


class FeedStore(EventEmitter):
    """A growing set of feeds under one storage.

    Events: ``"feed"`` (feed) when one is added; ``"kind"`` (feed) when a replica turned out to be a
    structure (the new feed object replaces the plain core under the same key).
    """

    def __init__(self, storage: Storage | str, *, sparse: bool = False, max_feeds: int | None = None) -> None:
        super().__init__()
        self.storage = open_storage(storage) if isinstance(storage, str) else storage
        self.sparse = sparse
        #: Feeds this store may hold (:meth:`add` raises :class:`StoreFull` past it).  Raise it (on every
        #: peer) for a party of more than 200 feeds; see the module docstring.
        self.max_feeds = limits.MAX_STORE_FEEDS if max_feeds is None else max_feeds
        self._feeds: list["Feed | None"] = []  # by namespace number; None: a discarded namespace
        self._names: dict[str, "Feed"] = {}
        self._by_key: dict[bytes, "Feed"] = {}
        self._by_dkey: dict[bytes, "Feed"] = {}
        self._lock = asyncio.Lock()
        self._ready = False
        self._upgrading: set[bytes] = set()

    # -- loading -----------------------------------------------------------------------------------------

    async def ready(self) -> None:
        """Load every feed already stored (namespaces 0, 1, 2, ... until one is empty)."""
        if self._ready:
            return
        async with self._lock:
            if self._ready:
                return
            n = 0
            while True:
                sub = self.storage.sub(str(n))
                has_key = sub.exists("key") and sub.open("key").size() >= 32
                kind = _read_text(sub, KIND_FILE)
                if not has_key and kind is None:
                    break
                if kind == DISCARDED:
                    self._feeds.append(None)
                    n += 1
                    continue
                name = _read_text(sub, NAME_FILE) or str(n)
                feed = await self._open(n, kind or registry.HYPERCORE, key=None)
                self._register(feed, name)
                n += 1
            self._ready = True
        for loaded in list(self._feeds):
            if isinstance(loaded, Hypercore):
                self._watch_block0(loaded)

    def _free_slot(self) -> int:
        """The namespace number for a new feed: the first discarded one, else the next."""
        for n, feed in enumerate(self._feeds):
            if feed is None:
                return n
        return len(self._feeds)

    async def _open(self, n: int, kind: str, *, key: bytes | None, create: bool = False) -> "Feed":
        """Open (or create) the feed of ``kind`` in namespace ``n``."""
        sub = self.storage.sub(str(n))
        if create and _read_text(sub, KIND_FILE) == DISCARDED:
            sub.open(KIND_FILE).truncate(0)  # a discarded namespace reused
        if kind == registry.HYPERCORE:
            feed: "Feed" = Hypercore(sub, key=key, sparse=self.sparse)
        else:
            cls: Any = registry.feed_class(kind)
            feed = cls(sub, key=key, first_core_storage=sub, sparse=self.sparse)
            if create or not sub.exists(KIND_FILE):
                sub.open(KIND_FILE).write(0, kind.encode("utf-8"))
        await feed.ready()
        return feed

    def _register(self, feed: "Feed", name: str, n: int | None = None) -> None:
        if feed not in self._feeds:
            if n is not None and n < len(self._feeds):
                self._feeds[n] = feed
            else:
                self._feeds.append(feed)
        self._names[name] = feed
        self._by_key[feed.key] = feed
        for core in feed.cores():
            self._by_dkey[core.discovery_key] = feed
        feed.on_core(lambda core: self._index_core(feed, core))

    def _index_core(self, feed: "Feed", core: Hypercore) -> None:
        if self._by_key.get(feed.key) is feed:
            self._by_dkey[core.discovery_key] = feed

    # -- adding ------------------------------------------------------------------------------------------

    async def writer(self, name: str = "local", *, kind: str = registry.HYPERCORE) -> "Feed":
        """The local writable feed called ``name``, created (a fresh key pair) as a ``kind`` if missing."""
        await self.ready()
        async with self._lock:
            feed = self._names.get(name)
            if feed is not None:
                return feed
            n = self._free_slot()
            sub = self.storage.sub(str(n))
            sub.open(NAME_FILE).write(0, (name or str(n)).encode("utf-8"))
            feed = await self._open(n, kind, key=None, create=True)
            self._register(feed, name or str(n), n)
        self.emit("feed", feed)
        return feed

    async def add(self, key: bytes, *, kind: str | None = None) -> "Feed":
        """The feed with public ``key``: the stored one, or a new read-only replica.

        With ``kind`` None the replica starts as a plain hypercore and becomes the right structure once
        its block 0 tells what it is (see the module docstring).  Raises :class:`StoreFull` when the key is
        new and the store holds ``max_feeds`` feeds.
        """
        key = bytes(key)
        if len(key) != 32:
            raise ValueError("a feed key is 32 bytes")
        await self.ready()
        async with self._lock:
            feed = self._by_key.get(key)
            if feed is not None:
                return feed
            if self.full:
                raise StoreFull(f"the store already holds {len(self)} feeds (limit {self.max_feeds})")
            n = self._free_slot()
            feed = await self._open(n, kind or registry.HYPERCORE, key=key, create=True)
            self._register(feed, str(n), n)
        self.emit("feed", feed)
        if isinstance(feed, Hypercore):
            self._watch_block0(feed)
        return feed

    # -- recognising structures ----------------------------------------------------------------------------

    def _watch_block0(self, core: Hypercore) -> None:
        if core.writable:
            return  # our own plain feed stays what we made it
        if core.has(0):
            self._spawn_upgrade(core)
            return

        def on_download(index: int, _data: bytes) -> None:
            if index == 0:
                core.off("download", on_download)
                self._spawn_upgrade(core)

        core.on("download", on_download)

    def _spawn_upgrade(self, core: Hypercore) -> None:
        if core.key in self._upgrading:
            return
        self._upgrading.add(core.key)
        # as learning work of the plain core: a counted non-live stream it replicates on waits for the
        # upgrade (and the cores it learns) before it finalizes, however fast block 0 and the end came
        task = core._learn(self._upgrade(core))

        def done(t: asyncio.Future) -> None:
            self._upgrading.discard(core.key)
            if not t.cancelled() and t.exception() is not None:
                log.error("could not open feed %s as its kind: %r", core.key.hex(), t.exception())

        task.add_done_callback(done)

    async def _upgrade(self, core: Hypercore) -> None:
        """Build the structure block 0 of ``core`` names around it (no-op for plain hypercores)."""
        if core.closed:
            return
        kind = registry.detect_kind(await core.get(0))
        if kind == registry.HYPERCORE:
            return
        try:
            cls: Any = registry.feed_class(kind)
        except registry.UnknownKind as exc:
            log.warning("feed %s is a %s, kept as a plain hypercore: %s", core.key.hex(), kind, exc)
            return
        async with self._lock:
            if self._by_key.get(core.key) is not core:
                return
            n = self._feeds.index(core)
            sub = self.storage.sub(str(n))
            feed = cls.from_core(core, sub, sparse=self.sparse)
            feed.adopt_attachments(core)
            await feed.ready()
            sub.open(KIND_FILE).write(0, kind.encode("utf-8"))
            self._feeds[n] = feed
            name = next((nm for nm, f in self._names.items() if f is core), str(n))
            self._register(feed, name)
        self.emit("kind", feed)

    # -- lookups -------------------------------------------------------------------------------------------

    def get(self, key: bytes) -> "Feed | None":
        return self._by_key.get(bytes(key))

    def by_discovery_key(self, discovery_key: bytes) -> "Feed | None":
        """The feed one of whose cores has ``discovery_key`` (learned cores included)."""
        return self._by_dkey.get(bytes(discovery_key))

    def feeds(self) -> list["Feed"]:
        """Feeds in multifeed's order: integer-named feeds by number, then the others by insertion."""
        numeric = sorted((int(n), f) for n, f in self._names.items() if _is_index_name(n))
        others = [f for n, f in self._names.items() if not _is_index_name(n)]
        return [f for _, f in numeric] + others

    def __iter__(self) -> Iterator["Feed"]:
        return iter(self.feeds())

    def __len__(self) -> int:
        return sum(1 for feed in self._feeds if feed is not None)

    @property
    def full(self) -> bool:
        """True when :meth:`add` of a new key would raise :class:`StoreFull`."""
        return len(self) >= self.max_feeds

    async def discard(self, feed: "Feed") -> None:
        """Remove a read-only feed: close it (its channels first), empty its files and free its number.

        Used for feeds stored for an introduction that never proved itself; a writable feed is refused.
        """
        if any(core.writable for core in feed.cores()):
            raise ValueError("a writable feed is never discarded")
        async with self._lock:
            if self._by_key.get(feed.key) is not feed or feed not in self._feeds:
                return
            n = self._feeds.index(feed)
            cores = list(feed.cores())
            await feed.close()
            self._feeds[n] = None
            self._by_key.pop(feed.key, None)
            for core in cores:
                if self._by_dkey.get(core.discovery_key) is feed:
                    del self._by_dkey[core.discovery_key]
            for name in [nm for nm, f in self._names.items() if f is feed]:
                del self._names[name]
            sub = self.storage.sub(str(n))
            with sub.transaction():
                for name in CORE_FILES:
                    if sub.exists(name):
                        sub.open(name).truncate(0)
                sub.open(KIND_FILE).truncate(0)
                sub.open(KIND_FILE).write(0, DISCARDED.encode("utf-8"))

    def name_of(self, feed: "Feed") -> str:
        for name, f in self._names.items():
            if f is feed:
                return name
        raise KeyError("feed not in this store")

    def kind_of(self, feed: "Feed") -> str:
        return type(feed).KIND

    async def close(self) -> None:
        """Close every feed (each closes its channels first, so the streams it was on go on) and the
        storage."""
        for feed in self._feeds:
            if feed is not None:
                await feed.close()
        self.storage.close()
