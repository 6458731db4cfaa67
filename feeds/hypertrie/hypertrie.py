"""``Hypertrie``: a key/value store on one hypercore, writing exactly the blocks JS hypertrie 3.8.0 writes.

Block 0 is a ``Header{type: "hypertrie"}`` (written by ``ready()`` on a new writable feed); every later
block is one ``Node`` holding a key, its value and a complete trie snapshot of the db (see ``put.py``).
The trie key is the core's key.  Replication is :class:`~hyperparty.feeds.base.Feed`'s: one channel, the
trie's core, which opens the first channel of a stream of its own (``replicate(live=...)``).

Writes (``put``, ``delete``, ``batch``) are serialised by a lock, build their node(s) with the JS
algorithms and append them in one core append.  Everything they read is checked first (see
``errors.py``), so a write that meets a bad block raises and appends nothing.

Layout on storage: the core's files at the root of ``storage`` (as JS ``hypertrie(storage)``), or in
``first_core_storage`` when given (a feed store keeps first cores elsewhere).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from hyperparty import protobuf as pb
from hyperparty.events import EventEmitter

from ..base import Feed
from ..hypercore import Hypercore
from .codecs import ValueEncoding, get_encoding
from .delete import find_victim
from .entry import Entry
from .errors import NotAHypertrieError
from .fetch import BatchFetcher, Fetcher, NodeCache
from .messages import HEADER_TYPE, Header
from .node import HIDDEN, Node
from .put import build_put
from .reader import TrieReader
from .watch import Watcher

if TYPE_CHECKING:  # pragma: no cover
    from ...storage.base import Storage

__all__ = ["Hypertrie"]

Condition = Callable[..., Any]


async def _ask(condition: Condition, *args: Any) -> bool:
    result = condition(*args)
    if inspect.isawaitable(result):
        result = await result
    return bool(result)


class Hypertrie(EventEmitter, TrieReader, Feed):
    """A hypertrie 3 db.  ``Hypertrie(storage, key=None, secret_key=None, *, value_encoding="binary",
    sparse=False, metadata=None, first_core_storage=None, **core_options)``; ``await ready()`` first.

    Events: ``append()`` (the core grew: local write or replication), ``ready()``.
    """

    KIND = "hypertrie"
    BLOCK0_TYPE = HEADER_TYPE

    def __init__(
        self,
        storage: "Storage | str | None",
        key: bytes | str | None = None,
        secret_key: bytes | str | None = None,
        *,
        first_core_storage: "Storage | str | None" = None,
        sparse: bool = False,
        value_encoding: "str | ValueEncoding | None" = "binary",
        metadata: bytes | None = None,
        core: Hypercore | None = None,
        cache_size: int = 1 << 16,
        **core_options: Any,
    ) -> None:
        EventEmitter.__init__(self)
        Feed.__init__(self)
        if core is None:
            where = first_core_storage if first_core_storage is not None else storage
            if where is None:
                raise ValueError("a Hypertrie needs a storage")
            core = Hypercore(where, key, secret_key, sparse=sparse, **core_options)
        TrieReader.__init__(self, core, NodeCache(cache_size), get_encoding(value_encoding))
        self.metadata = metadata
        self._lock = asyncio.Lock()
        self._watchers: list[Watcher] = []
        self._opened = False
        self._closed = False
        core.on("append", self._on_append)

    @classmethod
    def from_core(cls, core: Hypercore, storage: "Storage | str | None" = None, **options: Any) -> "Hypertrie":
        """A Hypertrie around an already opened (possibly replicating) core; ``storage`` is unused (a
        hypertrie has no other core) and so are ``sparse`` and the other core options (the core has them)."""
        for name in ("sparse", "first_core_storage"):
            options.pop(name, None)
        return cls(storage, core=core, **options)

    # -- Feed -------------------------------------------------------------------------------------

    @property
    def key(self) -> bytes:
        return self._core.key

    @property
    def discovery_key(self) -> bytes:
        return self._core.discovery_key

    @property
    def writable(self) -> bool:
        return self._core.writable

    @property
    def length(self) -> int:
        return self._core.length

    @property
    def opened(self) -> bool:
        return self._opened

    def cores(self) -> Sequence[Hypercore]:
        return [self._core]

    async def ready(self) -> None:
        """Open the core; a new writable feed gets its header block (JS writes it here too)."""
        if self._opened:
            return
        await self._core.ready()
        if self._core.length == 0 and self._core.writable:
            async with self._lock:
                if self._core.length == 0:
                    await self._core.append(Header(type=HEADER_TYPE, metadata=self.metadata).encode())
        self._opened = True
        self.emit("ready")

    async def _ensure_ready(self) -> None:
        if not self._opened:
            await self.ready()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for w in list(self._watchers):
            w.close()
        self._core.off("append", self._on_append)
        await self._core.close()

    async def update(self, min_length: int | None = None, *, timeout: float | None = None) -> None:
        """Wait until the core is at least ``min_length`` long (default: longer than now)."""
        await self._core.update(min_length, timeout=timeout)

    async def header(self, *, wait: bool = True, timeout: float | None = None) -> Header:
        """Block 0, the ``Header`` (raises :class:`NotAHypertrieError` when it is not one)."""
        await self._ensure_ready()
        try:
            header = Header.decode(await self._core.get(0, wait=wait, timeout=timeout))
        except pb.DecodeError as exc:
            raise NotAHypertrieError(f"block 0 is not a hypertrie header: {exc}") from None
        if header.type != HEADER_TYPE:
            raise NotAHypertrieError(f"block 0 names a {header.type!r} feed, not a hypertrie")
        return header

    async def get_metadata(self, *, wait: bool = True, timeout: float | None = None) -> bytes | None:
        """The header's ``metadata`` (block 0)."""
        return (await self.header(wait=wait, timeout=timeout)).metadata

    def __repr__(self) -> str:
        key = self._core._key.hex()[:16] if self._core._key else None
        return f"Hypertrie(key={key}, version={self.version}, writable={self._core.writable})"

    # -- writes -----------------------------------------------------------------------------------

    def _encode_value(self, value: Any) -> bytes | None:
        return None if value is None else self._encoding.encode(value)

    async def put(
        self, key: str, value: Any, *, hidden: bool = False, flags: int = 0, condition: Condition | None = None
    ) -> Entry | None:
        """Store ``value`` (encoded with the value encoding; None stores a node without a value) under
        ``key``; returns the new entry.  ``condition(old, new)`` (entries; ``old`` None when the key is
        new) may veto the write by returning false (then None is returned)."""
        await self._ensure_ready()
        node = Node(key, self._encode_value(value), _stored_flags(flags, hidden), {}, 0)
        async with self._lock:
            fetch = self._fetcher()
            ended = await build_put(fetch, await self._head(fetch), node, 0)
            if condition is not None:
                old = ended if ended is not None and ended.key == node.key else None
                if not await _ask(condition, self._entry(old), self._entry(node)):
                    return None
            return self._entry(self._append_one(node))

    async def delete(self, key: str, *, hidden: bool = False, condition: Condition | None = None) -> Entry | None:
        """Delete ``key``.  Returns None when it is not stored; else the entry JS's tombstone-free delete
        wrote: the closest other key re-put without the deleted node, or the ``""`` "empty" marker
        (``condition(victim)`` may veto)."""
        await self._ensure_ready()
        async with self._lock:
            fetch = self._fetcher()
            head = await self._head(fetch)
            found = await find_victim(fetch, head, key, hidden)
            if found is None:
                return None
            victim, closest = found
            if condition is not None and not await _ask(condition, self._entry(victim)):
                return None
            node = await _replacement(fetch, victim, closest)
            await build_put(fetch, head, node, victim.seq)
            return self._entry(self._append_one(node))

    async def batch(self, ops: Iterable[Mapping[str, Any]]) -> list[Entry]:
        """Apply ``ops`` (``{"type": "put"|"del", "key", "value", "hidden", "flags"}``) in one append, as JS
        ``batch``: each op sees the previous ones; a ``del`` of an absent key writes nothing.  Returns the
        entries written."""
        ops = [_check_op(op) for op in ops]
        await self._ensure_ready()
        async with self._lock:
            base = self._fetcher()
            fetch = BatchFetcher(base, self._core.length)
            head = await self._head(base)
            for op in ops:
                hidden = bool(op.get("hidden"))
                if op["type"] == "del":
                    found = await find_victim(fetch, head, op["key"], hidden)
                    if found is None:
                        continue
                    victim, closest = found
                    node = await _replacement(fetch, victim, closest)
                    await build_put(fetch, head, node, victim.seq)
                else:
                    value = self._encode_value(op.get("value"))
                    node = Node(op["key"], value, _stored_flags(op.get("flags") or 0, hidden), {}, 0)
                    await build_put(fetch, head, node, 0)
                node.seq = fetch.start + len(fetch.batch)
                fetch.batch.append(node)
                head = node
            if fetch.batch:
                self._core.append_sync([n.encode() for n in fetch.batch])
                for n in fetch.batch:
                    self._remember(n)
            return [self._entry(n) for n in fetch.batch]  # type: ignore[misc]

    def _append_one(self, node: Node) -> Node:
        """Give ``node`` the next seq and append it (the core is open and writable: we hold the lock)."""
        node.seq = self._core.length
        self._core.append_sync([node.encode()])
        self._remember(node)
        return node

    def _remember(self, node: Node) -> None:
        """Cache a node we appended, when it is exactly what decoding its block gives (a key that still
        starts with ``/``, from ``put("//x")``, reads back normalised once more: let a read decode it)."""
        if node.key[:1] != "/":
            self._cache.add(node)

    # -- watch ------------------------------------------------------------------------------------

    def watch(self, prefix: str = "", on_change: Callable[[Entry], Any] | None = None) -> Watcher:
        """A :class:`~.watch.Watcher` reporting changes under ``prefix`` (local or replicated)."""
        w = Watcher(self, prefix, on_change)
        self._watchers.append(w)
        w.update()
        return w

    def _remove_watcher(self, w: Watcher) -> None:
        if w in self._watchers:
            self._watchers.remove(w)

    def _on_append(self) -> None:
        for w in list(self._watchers):
            w.update()
        self.emit("append")


def _stored_flags(flags: int, hidden: bool) -> int:
    if not isinstance(flags, int) or flags < 0:
        raise ValueError("flags must be a non-negative integer")
    return (flags << 8) | (HIDDEN if hidden else 0)


async def _replacement(fetch: Fetcher, victim: Node, closest: int) -> Node:
    """The node a delete appends: the closest other node re-put as is, or the ``""`` marker."""
    c = await fetch(closest) if closest else None
    if c is None:
        return Node("", None, victim.flags & HIDDEN, {}, 0)
    return Node(c.key, c.value_buffer, ((c.flags >> 8) << 8) | (c.flags & HIDDEN), {}, 0)


def _check_op(op: Mapping[str, Any]) -> Mapping[str, Any]:
    if not isinstance(op, Mapping) or op.get("type") not in ("put", "del") or not isinstance(op.get("key"), str):
        raise ValueError(f"a batch op is {{'type': 'put'|'del', 'key': str, ...}}, not {op!r}")
    return op
