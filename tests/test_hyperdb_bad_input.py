"""hyperdb and hostile or broken input.

* entries of a writer no authorized writer lists are never returned (even when their blocks are stored);
  a writer listed only by such a writer is not authorized either;
* a corrupt entry fails only the reads that need it, with a :class:`CorruptEntryError`: a value that does
  not decode fails its own key only; an entry nothing points to fails nothing but the history; a trie
  pointer to a block that never comes fails (with ``timeout``) only the keys whose walk follows it;
* any bytes given to the entry decoder give a result or a ``CorruptEntryError``, never another exception;
* a feeds list naming 100 000 writers registers them without opening 100 000 hypercores, and the db keeps
  working.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperparty.feeds.hypercore import Hypercore
from hyperparty.feeds.hypercore import crypto as core_crypto
from hyperparty.feeds.hyperdb import (
    CorruptEntryError,
    HyperDB,
    HyperDBError,
    MissingFeedMappingsError,
    ReadTimeoutError,
)
from hyperparty.feeds.hyperdb import keys, trie
from hyperparty.feeds.hyperdb.messages import Entry, FeedRef, InflatedEntry
from hyperparty.feeds.hyperdb.sync import copy_writer, sync
from hyperparty.feeds.hyperdb.writer import BlockMissing
from hyperparty.feeds.hyperdb.writers import MAX_OPEN_WRITERS
from test_hyperdb import seeded, values


async def pair(backend, *, value_encoding="utf-8", **options) -> tuple[HyperDB, HyperDB]:
    pk, sk = seeded(31)
    a = HyperDB(backend.open("a"), pk, sk, value_encoding=value_encoding, **options)
    b = HyperDB(backend.open("b"), pk, value_encoding=value_encoding, local_secret_key=seeded(32)[1], **options)
    await a.ready()
    await b.ready()
    return a, b


async def store_blocks(src: HyperDB, dst: HyperDB, key: bytes) -> None:
    """Put writer ``key``'s blocks where ``dst`` keeps that writer (``peers/<discovery key>/``) behind its
    back, verified with proofs: what a buggy or hostile peer could make land on disk."""
    sw = src._writers.by_key[key]
    core = Hypercore(dst._storage.sub("peers/" + core_crypto.discovery_key(key).hex()), key=key)
    await core.ready()
    for i in range(sw.core.length):
        core.put(i, sw.core.read_block(i), sw.core.proof(i, digest=core.digest(i)))
    await core.close()


async def test_unauthorized_writer_is_never_read(backend) -> None:
    a, b = await pair(backend)
    await a.put("x", "from a")
    await sync(a, b)
    c_key = seeded(33)[0]
    await b.put("x", "from b")
    await b.put("only-b", "b")
    await b.authorize(c_key)  # b lists c in its feeds list, but nobody authorized b
    await store_blocks(b, a, b.local_key)
    await a.close()
    a = HyperDB(a._storage, a.key, value_encoding="utf-8")  # reopened: the stored blocks are right there
    await sync(a, b)  # a replicates nothing of b: b is not authorized at a
    for db in (a, b.checkout(await a.version())):
        assert values(await db.get("x")) == ["from a"] and await db.get("only-b") == []
        assert [g[0].key for g in await db.list()] == ["x"]
    assert [h.feed_key for h in await a.heads()] == [a.key]
    assert not await a.authorized(b.local_key) and not await a.authorized(c_key)
    assert b.local_key not in [w.key for w in a.writers]
    await a.put("y", "after")
    assert [n.key async for n in a.history()] == ["x", "y"]
    assert await a.version() == a.key + bytes([2])
    await a.close()
    await b.close()


async def test_corrupt_value_fails_only_its_key(backend) -> None:
    pk, sk = seeded(34)
    storage = backend.open("db")
    raw = HyperDB(storage, pk, sk)  # binary: write bytes that are not JSON under one key
    await raw.put("bad", b"{not json")
    names = [f"key{i}" for i in range(40)]
    for name in names:
        await raw.put(name, b'{"ok": true}')
    await raw.close()
    db = HyperDB(storage, pk, value_encoding="json")
    with pytest.raises(CorruptEntryError) as info:
        await db.get("bad")
    assert info.value.seq == 1 and info.value.feed == pk and isinstance(info.value, HyperDBError)
    for name in names:
        assert values(await db.get(name)) == [{"ok": True}]
    with pytest.raises(CorruptEntryError):
        await db.list()
    await db.put("bad", {"fixed": 1})  # a new version replaces it
    assert values(await db.get("bad")) == [{"fixed": 1}] and len(await db.list()) == 41
    await db.close()


async def test_unreferenced_garbage_entry(backend) -> None:
    a, b = await pair(backend)
    await a.authorize(b.local_key)
    await a.put("k", "v")
    await sync(a, b)
    b.local.append_sync([b"\xff\xfe garbage"])  # b's seq 1: not an entry
    # b's next entry is written on a's heads only (as if b's own garbage were not there): nothing points at it
    clock = b._clock()
    heads = [h for h in await a.heads()]
    node = await b._put_walk(clock, [await b._node(0, heads[0].seq)], "b-key", "b-value", False, False)
    b.local.append_sync([b._encode_entry(node)])
    await sync(a, b)
    for db in (a, b):
        assert values(await db.get("k")) == ["v"] and values(await db.get("b-key")) == ["b-value"]
        with pytest.raises(CorruptEntryError):
            [n async for n in db.history()]
    await a.close()
    await b.close()


async def test_corrupt_head_is_a_clear_error(backend) -> None:
    a, b = await pair(backend)
    await a.authorize(b.local_key)
    await sync(a, b)
    b.local.append_sync([b"\x0a\x01"])  # truncated protobuf as b's latest entry
    assert copy_writer(b, a, b.local_key) == 1
    with pytest.raises(CorruptEntryError):  # JS fails the same way: every read starts at the heads
        await a.get("anything")
    await a.close()
    await b.close()


def _craft(db: HyperDB, key: str, trie_bytes: bytes, clock: list[int], feeds: list[bytes]) -> None:
    seq = db.local.length
    block = InflatedEntry(key=key, trie=trie_bytes, clock=clock, inflate=seq, feeds=[FeedRef(key=k) for k in feeds])
    db.local.append_sync([block.encode()])


async def test_pointer_to_a_block_that_never_comes(backend) -> None:
    a, b = await pair(backend, timeout=0.2)
    await a.authorize(b.local_key)
    zz = keys.path("zz")[0]
    target = next(k for k in (f"t{i}" for i in range(100)) if keys.path(k)[0] != zz)
    slot = keys.path(target)[0]
    kept, other = [k for k in (f"o{i}" for i in range(100)) if keys.path(k)[0] not in (slot, zz)][:2]
    await a.put(kept, "v")
    await sync(a, b)
    # b's crafted head: key "zz" (it has seen nothing of a); at position 0, the slot of target's first
    # digit points at b's block 99, which does not exist
    bucket = [None] * 5
    bucket[slot] = trie.pointer(1, 99)  # wire feed 1 = b in the feeds list below
    raw = trie.encode([tuple(bucket)], [0, 1])
    _craft(b, "zz", raw, [1, b.local.length + 1], [a.key, b.local_key])
    await sync(a, b)
    assert len(await a.heads()) == 2
    with pytest.raises(ReadTimeoutError):
        await a.get(target)
    assert await a.get(other) == [] and values(await a.get(kept)) == ["v"] and await a.get("zz") != []
    await a.close()
    await b.close()


async def test_missing_feed_mappings(backend) -> None:
    pk, sk = seeded(35)
    db = HyperDB(backend.open("db"), pk, sk)
    await db.ready()
    _craft(db, "k", b"", [2, 5, 7], [pk])  # a clock naming 3 writers, a feeds list of 1
    with pytest.raises(MissingFeedMappingsError):
        await db.get("k")
    await db.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_decoder_only_raises_corrupt_entry(blob: bytes) -> None:
    import asyncio

    async def run() -> None:
        db = HyperDB("memory")
        await db.ready()
        db.local.append_sync([blob])
        writer = db._writers.local
        try:
            node = writer.get(1)
            node.value  # noqa: B018
            trie.encode(node.trie, writer.encode_map + [None] * 64)
        except (CorruptEntryError, BlockMissing):
            pass
        except ValueError as err:  # re-encoding names a writer the local list does not have: fine
            assert "position in the author's feeds list" in str(err)
        await db.close()

    asyncio.run(run())


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["memory", "file"])
async def test_feeds_list_naming_100000_writers(kind, tmp_path) -> None:
    from util import Backend

    backend = Backend(kind, tmp_path)
    a, b = await pair(backend)
    many = [os.urandom(32) for _ in range(100_000)]
    await a.put("before", "1")
    for key in many:  # what authorize() does, 100 000 times over, in one feeds list
        a._writers.add(key)
    await a.put("", None)
    await a.put("after", "2")
    assert len(a.writers) == 100_001
    await sync(a, b)
    for db in (a, b):
        opened = sum(1 for w in db.writers if w.core is not None)
        assert opened <= MAX_OPEN_WRITERS + 2, opened
        assert len(db.writers) == 100_002 if db is b else 100_001
        assert await db.authorized(many[-1]) and await db.authorized(many[0])
        assert values(await db.get("before")) == ["1"] and values(await db.get("after")) == ["2"]
        assert [g[0].key for g in await db.list()] in (["before", "after"], ["after", "before"])
    await b.put("from-b", "3")  # b's first entry lists the 100 002 writers b knows
    assert values(await b.get("from-b")) == ["3"]
    assert sum(1 for w in b.writers if w.core is not None) <= MAX_OPEN_WRITERS + 2
    await a.close()
    await b.close()
    backend.close_all()
