"""The read side shared by a db and its checkouts: get, list/iterators, history, diff, watch, version.

A view has ``heads()`` (a db: the writers' latest entries, filtered; a checkout: fixed nodes) and reads
nodes through the db's :class:`~.writers.Writers`.  ``map``/``reduce`` (JS's conflict hooks) apply to get,
list and diff results: ``map(node)`` per node, then ``reduce(a, b)`` folds a key's nodes into one value
(an empty get then gives ``None``).  Pass ``map=None``/``reduce=None`` to switch the db's default off.
"""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any, Callable

from hyperparty.varint import VarintError
from hyperparty.varint import decode as varint_decode
from hyperparty.varint import encode as varint_encode

from . import keys
from .diff import Differ
from ..hypercore import GetTimeoutError
from .errors import InvalidVersionError, ReadOnlyCheckoutError, ReadTimeoutError
from .get import GetWalk
from .history import History, KeyHistory
from .iterator import Iterator
from .node import Node, filter_heads
from .walk import ReadQueue
from .watch import Watcher
from .writer import BlockMissing

if TYPE_CHECKING:  # pragma: no cover
    from .writers import Writers

__all__ = ["ReadView", "Checkout", "DEFAULT", "filter_heads", "reduce_first"]


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Any = _Default()


def reduce_first(a: Any, b: Any) -> Any:
    """The ``first_node=True`` reduce: keep the first node."""
    return a


class ReadView:
    """Read operations over ``heads()``; subclasses set ``_writers``, ``_map``, ``_reduce``, ``_watching``."""

    _writers: "Writers"
    _watching: builtins.list[Watcher]
    _map: Callable[[Node], Any] | None = None
    _reduce: Callable[[Any, Any], Any] | None = None
    _timeout: float | None = None

    async def heads(self, update: bool = True) -> list[Node]:  # pragma: no cover - abstract
        raise NotImplementedError

    async def ready(self) -> None:  # pragma: no cover - overridden
        return None

    # -- reading nodes ------------------------------------------------------------------------------------

    def _fetch(self, ptr: int) -> Node:
        """The node a packed trie pointer names, if stored (else :class:`BlockMissing`)."""
        return self._writers.list[ptr & 0xFFFFFFFF].get(ptr >> 32)

    async def _node_at(self, ptr: int) -> Node:
        return await self._node(ptr & 0xFFFFFFFF, ptr >> 32)

    async def _node(self, feed: int, seq: int) -> Node:
        """Node ``seq`` of writer ``feed``, waiting for replication when its blocks are not stored yet."""
        writer = self._writers.list[feed]
        while True:
            try:
                return writer.get(seq)
            except BlockMissing as missing:
                core = missing.writer.core
                assert core is not None  # BlockMissing comes from an open core
                try:
                    await core.get(missing.seq, timeout=self._timeout)
                except GetTimeoutError:
                    raise ReadTimeoutError(
                        f"block {missing.seq} of writer {core.key.hex()[:16]} was not replicated in time"
                    ) from None

    def _reads(self) -> ReadQueue:
        return ReadQueue(self._fetch, self._node_at)

    def _hooks(self, map: Any, reduce: Any) -> tuple[Any, Any]:
        return (self._map if map is DEFAULT else map), (self._reduce if reduce is DEFAULT else reduce)

    # -- get ----------------------------------------------------------------------------------------------

    async def _get_with_heads(
        self, heads: list[Node], key: str, *, deletes: bool = False, prefixed: bool = False, path: bytes | None = None
    ) -> list[Node]:
        reads = self._reads()
        walk = GetWalk(reads, key, keys.path(key, not prefixed) if path is None else path, prefixed=prefixed, deletes=deletes)
        walk.start(heads)
        await reads.drain()
        return walk.finish()

    async def _get_raw(self, key: str, *, prefixed: bool = False, deletes: bool = False, update: bool = True) -> list[Node]:
        heads = await self.heads(update)
        return await self._get_with_heads(heads, keys.normalize(key), deletes=deletes, prefixed=prefixed)

    async def _get_path(self, path: bytes) -> list[Node]:
        """Prefix get of an explicit digit path (the iterator's fork resolution)."""
        heads = await self.heads(True)
        return await self._get_with_heads(heads, "", prefixed=True, path=path)

    async def get(
        self,
        key: str,
        *,
        deletes: bool = False,
        prefix: bool = False,
        update: bool = True,
        map: Any = DEFAULT,
        reduce: Any = DEFAULT,
    ) -> Any:
        """The nodes of ``key``: a list (several = conflicting versions; ``[]`` = not found or deleted).

        ``deletes=True`` keeps tombstones, ``prefix=True`` returns the nodes closest below the prefix path.
        With ``reduce`` the result is one value (``None`` when there is none).
        """
        await self.ready()
        nodes = await self._get_raw(key, prefixed=prefix, deletes=deletes, update=update)
        for n in nodes:
            n.value  # noqa: B018 - a value that does not decode fails this get, not a later access
        map_fn, reduce_fn = self._hooks(map, reduce)
        if map_fn:
            nodes = [map_fn(n) for n in nodes]
        if reduce_fn:
            if not nodes:
                return None
            acc = nodes[0]
            for n in nodes[1:]:
                acc = reduce_fn(acc, n)
            return acc
        return nodes

    # -- iteration ----------------------------------------------------------------------------------------

    def iterator(
        self,
        prefix: str = "",
        *,
        recursive: bool = True,
        reverse: bool = False,
        gt: bool = False,
        deletes: bool = False,
        map: Any = DEFAULT,
        reduce: Any = DEFAULT,
    ) -> Iterator:
        """An async iterator of each key's nodes below ``prefix`` (hash order, see ``iterator.py``)."""
        map_fn, reduce_fn = self._hooks(map, reduce)
        return Iterator(
            self, keys.normalize(prefix or ""), recursive=recursive, reverse=reverse, gt=gt, deletes=deletes,
            map=map_fn or None, reduce=reduce_fn or None,
        )

    async def list(self, prefix: str = "", **options: Any) -> builtins.list[Any]:
        """Every step of :meth:`iterator` in a list."""
        await self.ready()
        return [nodes async for nodes in self.iterator(prefix, **options)]

    def history(self, *, reverse: bool = False) -> History:
        """Every entry of every writer in causal order (async iterator of nodes)."""
        return History(self, reverse=reverse)

    def key_history(self, key: str) -> KeyHistory:
        """The successive versions of ``key`` (async iterator of node lists), latest first."""
        return KeyHistory(self, keys.normalize(key))

    def diff(self, other: "ReadView | None" = None, prefix: str = "", **options: Any) -> Differ:
        """Keys that differ between this view and ``other`` (default: the empty db); async iterator of
        ``{"left", "right"}``."""
        map_fn, reduce_fn = self._hooks(options.pop("map", DEFAULT), options.pop("reduce", DEFAULT))
        if other is None:
            other = self.checkout(b"")
        return Differ(self, other, keys.normalize(prefix or ""), map=map_fn or None, reduce=reduce_fn or None, **options)

    # -- watch --------------------------------------------------------------------------------------------

    def watch(self, prefix: str = "", on_change: Callable[[], None] | None = None) -> Watcher:
        """A :class:`~.watch.Watcher` emitting ``"change"`` when the nodes under ``prefix`` change."""
        watcher = Watcher(self, keys.normalize(prefix), on_change)
        self._watching.append(watcher)
        watcher.start()
        return watcher

    def _unwatch(self, watcher: Watcher) -> None:
        try:
            self._watching.remove(watcher)
        except ValueError:
            pass

    def _kick_watchers(self) -> None:
        for watcher in list(self._watching):
            watcher._kick()

    # -- versions -----------------------------------------------------------------------------------------

    async def version(self) -> bytes:
        """``key (32 B) || varint(seq)`` for each current head, concatenated (empty for an empty db)."""
        heads = await self.heads()
        writers = self._writers.list
        return b"".join(bytes(writers[h.feed].key or b"") + varint_encode(h.seq) for h in heads)

    def checkout(
        self, version: "bytes | str | int | builtins.list[Node] | None" = None, *, map: Any = DEFAULT, reduce: Any = DEFAULT
    ) -> "Checkout":
        """A read-only view at ``version`` (bytes from :meth:`version`, its hex, a seq of the source feed,
        or a list of nodes); ``None`` = the current heads (a snapshot)."""
        return Checkout(self, version, map=map, reduce=reduce)

    def snapshot(self) -> "Checkout":
        return self.checkout(None)


class Checkout(ReadView):
    """A read-only view with fixed heads (JS ``db.checkout``).  Writes raise :class:`ReadOnlyCheckoutError`."""

    def __init__(self, parent: ReadView, version: Any, *, map: Any = DEFAULT, reduce: Any = DEFAULT) -> None:
        self._parent = parent
        self._writers = parent._writers
        self._watching = parent._watching
        self._timeout = parent._timeout
        self._map = parent._map if map is DEFAULT else map
        self._reduce = parent._reduce if reduce is DEFAULT else reduce
        if isinstance(version, str):
            version = bytes.fromhex(version)
        self._version = version
        self._heads: list[Node] | None = list(version) if isinstance(version, list) else None

    @property
    def key(self) -> bytes:
        return self._parent.key  # type: ignore[attr-defined]

    async def ready(self) -> None:
        await self.heads()

    async def heads(self, update: bool = True) -> list[Node]:
        if self._heads is None:
            self._heads = await self._resolve()
        return list(self._heads)

    async def _resolve(self) -> list[Node]:
        parent_heads = await self._parent.heads()
        version = self._version
        if version is None:
            return parent_heads
        if isinstance(version, int):
            return [await self._node(0, version)]
        version = bytes(version)
        nodes = []
        error = None
        offset = 0
        while offset < len(version):
            key = version[offset : offset + 32]
            try:
                seq, offset = varint_decode(version, offset + 32)
            except VarintError:
                raise InvalidVersionError("Invalid version: truncated") from None
            writer = self._writers.by_key.get(key)
            if writer is None:
                error = InvalidVersionError("Invalid version")
                continue
            nodes.append(await self._node(writer.id, seq))
        if error is not None:
            raise error
        return nodes

    async def put(self, *args: Any, **kwargs: Any) -> Any:
        raise ReadOnlyCheckoutError("Cannot put on a checkout")

    async def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ReadOnlyCheckoutError("Cannot put on a checkout")

    async def batch(self, *args: Any, **kwargs: Any) -> Any:
        raise ReadOnlyCheckoutError("Cannot put on a checkout")
