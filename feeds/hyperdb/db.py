"""``HyperDB``: hyperdb 3.5.0 in Python — a multi-writer key/value store on one hypercore per writer.

Bytes on disk and in every writer's blocks are those of JS hyperdb 3.5.0 (block 0 ``Header``, then
``Entry``/``InflatedEntry``; see ``messages.py``, ``trie.py``, ``keys.py``).  A db is named by its *source*
feed (the creator's writer).  Writes go to this instance's ``local`` writer: the source itself when it holds
the source's secret key, else a writer of its own (``local/``) that some authorized writer must
``authorize`` before others read it (its writes are visible locally at once).

Write algorithm (JS ``put``): under a lock, ``clock`` = every writer's known length (own slot: seq + 1),
``heads`` = every known writer's last entry minus those another head has seen; the put walk
(``put.py``) builds the new trie; the entry is appended, as an ``InflatedEntry`` listing every writer the
db knows when that number changed since the local writer's last list (or on its first entry).

Storage names: ``source/``, ``local/``, ``peers/<hex(discovery key of the writer)>/`` in ``storage``
(``first_core_storage``, when given, holds the source core instead of ``source/``).

As a :class:`~hyperparty.feeds.Feed`: ``cores()`` = the source, then every other authorized writer whose
core is open (in authorization order); writers authorized later join its streams (``replication.py``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from hyperparty.events import EventEmitter
from hyperparty.crypto import random_bytes

from ...storage import open_storage
from .. import base as _feed_base
from ..hypercore import Hypercore
from ..hypercore import crypto as core_crypto
from . import keys, trie
from .codecs import Codec, codec as make_codec
from .errors import NotReadyError
from .messages import HEADER_BLOCK, Entry, FeedRef, InflatedEntry
from .node import Node, filter_heads, map_list
from .put import PutWalk
from .replication import Replicating
from .view import DEFAULT, ReadView, reduce_first
from .walk import ReadQueue
from .writer import Writer
from .writers import CACHE_SIZE, MAX_OPEN_WRITERS, Writers

if TYPE_CHECKING:  # pragma: no cover
    from ...storage.base import Storage

__all__ = ["HyperDB"]


class HyperDB(EventEmitter, Replicating, ReadView, _feed_base.Feed):
    """``HyperDB(storage, key=None, secret_key=None, *, value_encoding="binary", ...)``.

    ``storage``: a Storage or a spec string (``"memory"``, ``"file:DIR"``, ``"lmdb:DIR"``; then the db owns
    it).  ``key``/``secret_key``: the source feed's keys (none: a new db, or the one stored).  Options:
    ``value_encoding`` (``codecs.py``), ``map``/``reduce``/``first_node`` (conflict hooks), ``sparse``,
    ``local_secret_key`` (this instance's writer key pair when ``local/`` is created; default random),
    ``store_secret_key``, ``first_core_storage``, ``max_writers`` (cores opened automatically, see
    ``writers.py``), ``cache_size`` (decoded nodes kept), ``timeout`` (seconds a read waits for a block to be replicated; default forever).

    Events: ``ready()``, ``append(core, writer_id)``, ``remote-update(core, writer_id)``.
    """

    KIND = "hyperdb"
    BLOCK0_TYPE = "hyperdb"

    def __init__(
        self,
        storage: "Storage | str",
        key: bytes | str | None = None,
        secret_key: bytes | str | None = None,
        *,
        first_core_storage: "Storage | None" = None,
        sparse: bool = False,
        value_encoding: "str | Codec | None" = "binary",
        map: Callable[[Node], Any] | None = None,
        reduce: Callable[[Any, Any], Any] | None = None,
        first_node: bool = False,
        local_secret_key: bytes | str | None = None,
        store_secret_key: bool = True,
        max_writers: int = MAX_OPEN_WRITERS,
        cache_size: int = CACHE_SIZE,
        timeout: float | None = None,
        _source_core: Hypercore | None = None,
    ) -> None:
        EventEmitter.__init__(self)
        _feed_base.Feed.__init__(self)
        self._init_replication()
        self._storage = open_storage(storage)
        self._owns_storage = isinstance(storage, str)
        key, secret_key, local_secret_key = (bytes.fromhex(k) if isinstance(k, str) else k for k in (key, secret_key, local_secret_key))
        if key is None and secret_key is not None:
            key = secret_key[32:]
        self._key_arg = key
        self._secret_key_arg = secret_key
        self._local_secret_key = local_secret_key
        self._store_secret_key = store_secret_key
        self._first_core_storage = first_core_storage
        self._source_core = _source_core
        self._codec = make_codec(value_encoding)
        self._map = map
        self._reduce = reduce_first if first_node else reduce
        self._timeout = timeout
        self.sparse = bool(sparse)
        self.id = random_bytes(32)
        self._writers = Writers(self._storage, self._codec, sparse=self.sparse, max_open=max_writers, cache_size=cache_size)
        self._writers.on_core_open = self._on_core_open
        self._watching: list = []
        self._lock = asyncio.Lock()
        self._batch_nodes: list[Node] | None = None
        self.opened = False
        self.closed = False

    @classmethod
    def from_core(cls, core: Hypercore, storage: "Storage | str", **options: Any) -> "HyperDB":
        """A db around an already opened (possibly replicating) source core; other writers in ``storage``."""
        return cls(storage, key=core.key, _source_core=core, **options)

    # -- identity -----------------------------------------------------------------------------------------

    @property
    def key(self) -> bytes:
        if self.opened:
            return self._writers.list[0].key  # type: ignore[return-value]
        if self._key_arg is None:
            raise NotReadyError("the key of a new db is known after ready()")
        return self._key_arg

    @property
    def discovery_key(self) -> bytes:
        return core_crypto.discovery_key(self.key)

    @property
    def source(self) -> Hypercore:
        self._check_ready()
        return self._writers.list[0].core  # type: ignore[return-value]

    @property
    def local(self) -> Hypercore:
        """This instance's writer core (the source when it is writable here)."""
        self._check_ready()
        core = self._writers.local.core
        assert core is not None  # the local writer's core opens with the db
        return core

    @property
    def local_key(self) -> bytes:
        return self.local.key

    @property
    def writers(self) -> list[Writer]:
        """Every writer known, by local id."""
        return list(self._writers.list)

    def _check_ready(self) -> None:
        if not self.opened:
            raise NotReadyError("call `await db.ready()` first")

    # -- open / close -------------------------------------------------------------------------------------

    async def ready(self) -> None:
        if self.opened:
            return
        if self.closed:
            from .errors import DBClosedError

            raise DBClosedError("the db was closed")
        self._open()

    def _open(self) -> None:
        ws = self._writers
        core = self._source_core
        if core is None:
            st = self._first_core_storage if self._first_core_storage is not None else self._storage.sub("source")
            core = Hypercore(
                st, key=self._key_arg, secret_key=self._secret_key_arg, sparse=self.sparse,
                store_secret_key=self._store_secret_key,
            )
        core.open_sync()
        source = ws.push(Writer(ws, "source", core.key, core))
        if core.writable:
            local = source
        else:
            sk = self._local_secret_key
            own = ws.make_core("local", sk[32:] if sk else None, secret_key=sk)
            own.open_sync()
            local = ws.push(Writer(ws, "local", own.key, own))
        ws.local = local
        source.authorize()
        seq = local.head_seq()
        if seq is not None:
            local.get(seq)
        local_core = local.core
        assert local_core is not None
        if local_core.length == 0:
            local_core.append_sync([HEADER_BLOCK])
        ws.take_learned()  # writers known at open are not "learned": they are in cores() from the start
        self.opened = True
        self.emit("ready")
        if self._source_core is not None and core.length > 1:
            # built around a replica that may have replicated already (its sync events came before us)
            self._schedule_reload()

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._stop_learning()
        for watcher in list(self._watching):
            watcher.destroy()
        for core in self._writers.close():
            if core is not self._source_core:
                await core.close()
        if self._owns_storage:
            self._storage.close()

    def _on_append(self, writer: Writer) -> None:
        self._kick_watchers()
        self.emit("append", writer.core, writer.id)

    # -- Feed interface -----------------------------------------------------------------------------------

    def cores(self) -> Sequence[Hypercore]:
        """The source core, then every other authorized writer's open core (authorization order)."""
        self._check_ready()
        ws = self._writers
        return [ws.list[i].core for i in ws.authorized_ids if ws.list[i].core is not None]  # type: ignore[misc]

    # -- heads and clock ----------------------------------------------------------------------------------

    async def heads(self, update: bool = True) -> list[Node]:
        """The current heads: each known writer's last entry, minus those another head has seen.

        Writers are only known when an authorized writer lists them (or ``authorize``, or this instance's
        own writer), and only authorized writers are replicated: an unauthorized writer is never read.
        """
        await self.ready()
        ws = self._writers
        if update and self._needs_first_update():
            await self._wait_for_update()
        while True:
            n = len(ws.list)
            nodes = []
            for writer in list(ws.open_writers):
                seq = writer.head_seq()
                if seq is not None:
                    nodes.append(await self._node(writer.id, seq))
            if n == len(ws.list):
                break
        heads = nodes if len(nodes) <= 1 else filter_heads(nodes)
        if ws.learned:
            await self._announce_learned()
        return heads

    def _clock(self) -> list[int]:
        local = self._writers.local
        return [w.next_seq if w is local else w.length() for w in self._writers.list]

    def _fetch_put(self, ptr: int) -> Node:
        feed = ptr & 0xFFFFFFFF
        seq = ptr >> 32
        batch = self._batch_nodes
        if batch is not None:
            local = self._writers.local
            if feed == local.id and seq >= local.core.length:  # type: ignore[union-attr]
                return batch[seq - local.core.length]  # type: ignore[union-attr]
        return self._writers.list[feed].get(seq)

    # -- writes -------------------------------------------------------------------------------------------

    async def put(self, key: str, value: Any, *, if_not_exists: bool = False) -> Node:
        """Write ``value`` under ``key``; returns the new node (with ``if_not_exists``: the existing one)."""
        return await self._write(keys.normalize(key), value, delete=False, if_not_exists=if_not_exists)

    async def delete(self, key: str) -> Node:
        """Write a tombstone for ``key`` (JS ``del``)."""
        return await self._write(keys.normalize(key), None, delete=True)

    async def _write(self, key: str, value: Any, *, delete: bool, if_not_exists: bool = False) -> Node:
        await self.ready()
        async with self._lock:
            clock = self._clock()
            heads = await self.heads(False)
            node = await self._put_walk(clock, heads, key, value, delete, if_not_exists)
            if node.seq < 0:
                try:
                    self._writers.local.core.append_sync([self._encode_entry(node)])  # type: ignore[union-attr]
                except BaseException:
                    self._rollback()
                    raise
        await self._announce_learned()
        return node

    async def batch(self, ops: Iterable[dict[str, Any]]) -> list[Node]:
        """Apply ``[{"type": "put"|"del", "key", "value"}]`` as one append (JS ``batch``)."""
        await self.ready()
        ops = list(ops)
        async with self._lock:
            clock = self._clock()
            heads = await self.heads(True)
            nodes: list[Node] = []
            blocks: list[bytes] = []
            self._batch_nodes = nodes
            try:
                for op in ops:
                    delete = op.get("type", "put") == "del"
                    node = await self._put_walk(clock, heads, keys.normalize(op["key"]), op.get("value"), delete, False)
                    blocks.append(self._encode_entry(node))
                    nodes.append(node)
                    heads = [node]
                if blocks:
                    self._writers.local.core.append_sync(blocks)  # type: ignore[union-attr]
            except BaseException:
                self._rollback()
                raise
            finally:
                self._batch_nodes = None
        await self._announce_learned()
        return nodes

    async def _put_walk(
        self, clock: list[int], heads: list[Node], key: str, value: Any, delete: bool, if_not_exists: bool
    ) -> Node:
        reads = ReadQueue(self._fetch_put, self._node_at)
        walk = PutWalk(reads, key)
        walk.start(heads)
        await reads.drain()
        if if_not_exists and walk.last_head is not None and walk.last_head.key == key:
            return walk.last_head
        return Node(key, value, delete, trie.freeze(walk.trie), clock, 0, -1, -1, None, walk.path)

    def _rollback(self) -> None:
        """Forget entries numbered but never appended (a failed write)."""
        local = self._writers.local
        length = local.core.length  # type: ignore[union-attr]
        local.next_seq = length
        cache = self._writers.cache
        for ptr in [p for p in cache if p & 0xFFFFFFFF == local.id and p >> 32 >= length]:
            del cache[ptr]

    def _encode_entry(self, node: Node) -> bytes:
        """JS ``Writer.append``: number the node, inflate the feeds list when needed, encode the block."""
        ws = self._writers
        local = ws.local
        if not local.next_seq:
            local.next_seq = local.core.length  # type: ignore[union-attr]
        seq = local.next_seq
        local.next_seq += 1
        clock = node.clock
        assert isinstance(clock, list)  # a new node's clock: the list _clock() made (shared by a batch)
        if len(clock) <= local.id:
            clock.extend([0] * (local.id + 1 - len(clock)))
        clock[local.id] = local.next_seq
        node.seq = seq
        node.feed = local.id
        node.feed_key = local.key
        listed = None
        if local.needs_inflate():
            listed = [k for k in map_list([w.key for w in ws.list], local.encode_map, None) if k is not None]
            local.adopt_own_feeds(seq, listed)
        wire_clock = map_list(clock, local.encode_map, 0)
        raw_value = None if node.value is None else self._codec.encode(node.value)
        deleted = True if node.deleted else None
        trie_bytes = trie.encode(node.trie, local.encode_map)
        if listed is not None:
            block = InflatedEntry(
                key=node.key, value=raw_value, deleted=deleted, trie=trie_bytes, clock=wire_clock, inflate=local.feeds,
                feeds=[FeedRef(key=k) for k in listed],
            ).encode()
        else:
            block = Entry(
                key=node.key, value=raw_value, deleted=deleted, trie=trie_bytes, clock=wire_clock, inflate=local.feeds
            ).encode()
        node.inflate = local.feeds
        ws.cache[seq << 32 | local.id] = Node(  # the node as a reader decodes it
            node.key,
            raw_value,
            node.deleted,
            node.trie,
            tuple(map_list(wire_clock, local.decode_map, 0)),
            node.inflate,
            seq,
            local.id,
            local.key,
            node.path,
            None if raw_value is None else self._codec,
        )
        return block

    # -- authorization ------------------------------------------------------------------------------------

    async def authorize(self, key: bytes | str) -> Node:
        """Make ``key``'s writer an authorized writer: an entry (key ``""``) whose feeds list names it."""
        if isinstance(key, str):
            key = bytes.fromhex(key)
        if len(key) != 32:
            raise ValueError("a writer key is 32 bytes")
        await self.heads()
        self._writers.add(bytes(key))
        return await self.put("", None)

    async def authorized(self, key: bytes | str) -> bool:
        """True when ``key`` is the source or listed, transitively, by the source's writers' feeds lists."""
        if isinstance(key, str):
            key = bytes.fromhex(key)
        await self.heads(False)
        return self._writers.list[0].authorizes(bytes(key))

    def authorized_keys(self) -> list[bytes]:
        """Keys of the writers this instance treats as authorized (authorization order)."""
        self._check_ready()
        return [w.key for w in self._writers.authorized_writers()]  # type: ignore[misc]

    def __repr__(self) -> str:
        key = self.key.hex()[:16] if (self.opened or self._key_arg) else None
        return f"HyperDB(key={key}, writers={len(self._writers.list)})"


__all__ += ["DEFAULT"]
