"""hyperdb (hyperparty.feeds.hyperdb): the building blocks and the db API on every storage backend.

Byte compatibility with JS is checked by test_hyperdb_vectors.py (and tests/interop/test_hyperdb_files.py);
these tests pin the pieces (hash paths, trie encoding, feeds-list maps) and the API's behaviour: reads,
writes, batches, conflict hooks, versions and checkouts, diff, history, watch, authorization, reopening,
and the Feed interface.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from hyperparty.crypto import key_pair, shorthash
from hyperparty.feeds import Feed
from hyperparty.feeds.hypercore import Hypercore
from hyperparty.feeds.hypercore import crypto as core_crypto
from hyperparty.feeds.hyperdb import (
    Checkout,
    HyperDB,
    HyperDBError,
    InvalidVersionError,
    NotReadyError,
    ReadOnlyCheckoutError,
)
from hyperparty.feeds.hyperdb import keys, trie
from hyperparty.feeds.hyperdb.messages import HEADER_BLOCK, Entry
from hyperparty.feeds.hyperdb.node import map_list
from hyperparty.feeds.hyperdb.sync import sync
from hyperparty.protocol.transport import pipe
from hyperparty.storage import MemoryStorage
from util import eventually


def seeded(n: int) -> tuple[bytes, bytes]:
    return key_pair(bytes([n]) * 32)


async def new_db(backend, name: str = "db", seed: int | None = 7, **options) -> HyperDB:
    storage = backend.open(name)
    if seed is None:
        db = HyperDB(storage, **options)
    else:
        pk, sk = seeded(seed)
        db = HyperDB(storage, pk, sk, **options)
    await db.ready()
    return db


def values(nodes) -> list:
    return [n.value for n in nodes]


def listing(groups) -> dict:
    return {g[0].key: values(g) for g in groups}


# ------------------------------------------------------------------------------------------------
# keys, trie encoding, maps


def test_key_normalisation_and_segments() -> None:
    assert keys.normalize("/a/b") == "a/b" and keys.normalize("//a") == "/a" and keys.normalize("") == ""
    assert keys.segments("a/b/") == ["a", "b"] and keys.segments("") == [] and keys.segments("/a") == ["a"]
    assert keys.segments("a//b") == ["a", "", "b"]


def test_hash_path_digits_low_bits_first() -> None:
    h = shorthash(b"hello", bytes(16))
    expected = []
    for b in h:
        expected += [b & 3, (b >> 2) & 3, (b >> 4) & 3, b >> 6]
    assert list(keys.path("hello", False)) == expected
    assert keys.path("hello") == bytes(expected) + b"\x04"
    assert keys.path("a/b") == keys.path("a", False) + keys.path("b", False) + b"\x04"
    assert keys.path("") == b"\x04" and keys.path("", False) == b""
    assert len(keys.path("x/y/z")) == 97


def test_trie_encoding_example_and_round_trip() -> None:
    t = [None] * 5 + [(None, None, trie.pointer(0, 1), None, None)]
    assert trie.encode(t, [0]).hex() == "05040001"
    # forks (several pointers: "more" bit), two writers mapped to wire positions, big seqs and positions
    bucket = (trie.pointer(1, 300), (trie.pointer(0, 2), trie.pointer(1, 70000)), None, None, trie.pointer(0, 5))
    t = [None] * 130 + [bucket]
    raw = trie.encode(t, [1, 0])  # local 0 -> wire 1, local 1 -> wire 0
    assert trie.decode(raw, [1, 0]) == trie.freeze(t)
    assert raw[:3] == bytes([0x82, 0x01, 0b10011])
    assert trie.slot_pointers(bucket[1]) == (trie.pointer(0, 2), trie.pointer(1, 70000))
    assert trie.unpack(trie.pointer(3, 9)) == (3, 9)


@pytest.mark.parametrize("raw", ["0520", "05", "050400", "0504008080", "0504000105040001"])
def test_trie_decode_rejects_bad_bytes(raw: str) -> None:
    with pytest.raises(trie.TrieDecodeError):
        trie.decode(bytes.fromhex(raw), [0])


def test_map_list_is_js_maplist() -> None:
    assert map_list([5, 7], [1, 0], 0) == [7, 5]  # values moved to their mapped positions
    assert map_list([5], [0, 1, 2], 0) == [5, 0, 0]  # past the values: default
    assert map_list([1, 2, 3], [0], 0) == [1, 2, 3]  # past the map: kept
    assert map_list([4, 0], [None, 0], 9) == [9]  # a hole in the map drops its value; falsy -> default
    assert map_list([1, 2], [2, 0], 0) == [2, 0, 1]


def test_header_block() -> None:
    assert HEADER_BLOCK.hex() == "0a0768797065726462"


# ------------------------------------------------------------------------------------------------
# reads and writes


async def test_put_get_delete_list(backend) -> None:
    db = await new_db(backend, value_encoding="utf-8")
    assert await db.get("missing") == [] and await db.list() == []
    await db.put("a", "1")
    await db.put("/b", "2")  # one leading slash is dropped
    await db.put("dir/x", "3")
    await db.put("dir/y", "4")
    await db.put("dir/sub/z", "5")
    assert values(await db.get("b")) == ["2"] and values(await db.get("/a")) == ["1"]
    node = (await db.get("a"))[0]
    assert (node.key, node.seq, node.feed, node.feed_key, node.deleted) == ("a", 1, 0, db.key, False)
    await db.put("a", "1b")
    assert values(await db.get("a")) == ["1b"]
    tomb = await db.delete("b")
    assert tomb.deleted and await db.get("b") == []
    assert values(await db.get("b", deletes=True)) == [None]
    assert listing(await db.list()) == {"a": ["1b"], "dir/x": ["3"], "dir/y": ["4"], "dir/sub/z": ["5"]}
    assert listing(await db.list("dir")) == {"dir/x": ["3"], "dir/y": ["4"], "dir/sub/z": ["5"]}
    # JS quirk kept: non-recursive stops walking one segment below the prefix, but a node reached there
    # with no bucket left is listed even when it is deeper (here dir/sub/z, as JS hyperdb 3.5.0 does)
    assert {"dir/x", "dir/y"} <= set(listing(await db.list("dir", recursive=False)))
    assert listing(await db.list("dir/sub")) == {"dir/sub/z": ["5"]}
    forward = [g[0].key for g in await db.list("dir")]
    assert [g[0].key for g in await db.list("dir", reverse=True)] == list(reversed(forward))
    assert "b" in listing(await db.list(deletes=True))
    assert [g[0].key async for g in db.iterator("dir")] == forward
    # a prefix get returns the nodes closest below the prefix
    assert {n.key for n in await db.get("dir", prefix=True)} <= {"dir/x", "dir/y", "dir/sub/z"}
    await db.close()


async def test_batch_if_not_exists_and_empty_values(backend) -> None:
    db = await new_db(backend)
    nodes = await db.batch([
        {"type": "put", "key": "a", "value": b"1"},
        {"type": "put", "key": "b", "value": b""},
        {"type": "del", "key": "a"},
        {"type": "put", "key": "c", "value": "text"},  # binary: a str is stored as UTF-8
    ])
    assert [n.seq for n in nodes] == [1, 2, 3, 4] and db.local.length == 5
    assert await db.get("a") == [] and values(await db.get("b")) == [b""] and values(await db.get("c")) == [b"text"]
    kept = await db.put("c", b"other", if_not_exists=True)
    assert kept.seq == 4 and db.local.length == 5
    made = await db.put("d", b"x", if_not_exists=True)
    assert made.seq == 5 and values(await db.get("d")) == [b"x"]
    assert await db.batch([]) == [] and db.local.length == 6
    await db.close()


async def test_value_encodings(backend) -> None:
    db = await new_db(backend, "j", value_encoding="json")
    doc = {"n": 1, "list": [1, None, "x"], "t": True}
    await db.put("doc", doc)
    assert values(await db.get("doc")) == [doc]
    raw = db.local.read_block(db.local.length - 1)
    assert Entry.decode(raw).value == json.dumps(doc, separators=(",", ":")).encode()

    class Upper:
        @staticmethod
        def encode(v: str) -> bytes:
            return v.upper().encode()

        @staticmethod
        def decode(b: bytes) -> str:
            return b.decode().lower()

    db2 = await new_db(backend, "c", seed=8, value_encoding=Upper())
    await db2.put("k", "MiXed")
    assert Entry.decode(db2.local.read_block(1)).value == b"MIXED" and values(await db2.get("k")) == ["mixed"]
    await db.close()
    await db2.close()


async def test_map_reduce_hooks(backend) -> None:
    db = await new_db(backend, value_encoding="utf-8", map=lambda n: n.value.upper())
    await db.put("k", "v")
    assert await db.get("k") == ["V"]
    assert await db.get("k", map=None) != ["V"]
    assert await db.get("k", reduce=lambda a, b: a + b) == "V"
    assert await db.get("missing", reduce=lambda a, b: a) is None
    assert await db.list() == [["V"]]
    first = await new_db(backend, "f", seed=9, value_encoding="utf-8", first_node=True)
    await first.put("k", "v")
    assert (await first.get("k")).value == "v" and await first.get("nope") is None
    await db.close()
    await first.close()


async def test_versions_checkouts_diff_history(backend) -> None:
    db = await new_db(backend, value_encoding="utf-8")
    assert await db.version() == b""
    await db.put("a", "1")
    await db.put("b", "2")
    v1 = await db.version()
    assert v1 == db.key + bytes([2])
    await db.put("a", "changed")
    await db.delete("b")
    await db.put("c", "3")
    old = db.checkout(v1)
    assert isinstance(old, Checkout)
    assert values(await old.get("a")) == ["1"] and values(await old.get("b")) == ["2"] and await old.get("c") == []
    assert listing(await old.list()) == {"a": ["1"], "b": ["2"]}
    assert values(await db.checkout(v1.hex()).get("a")) == ["1"]
    assert values(await db.checkout(1).get("a")) == ["1"] and await db.checkout(1).get("b") == []
    assert values(await db.checkout(list(await old.heads())).get("b")) == ["2"]
    assert (await db.snapshot().version()) == await db.version()
    with pytest.raises(ReadOnlyCheckoutError):
        await old.put("x", "y")
    with pytest.raises(InvalidVersionError):
        await db.checkout(bytes(32) + b"\x01").get("a")
    with pytest.raises(InvalidVersionError):
        await db.checkout(db.key + b"\x80").get("a")
    diff = [(d["left"] and values(d["left"]), d["right"] and values(d["right"])) async for d in db.diff(old)]
    assert sorted(diff, key=str) == sorted([(["changed"], ["1"]), (None, ["2"]), (["3"], None)], key=str)
    assert len([d async for d in db.diff()]) == 2  # against the empty db: a and c
    hist = [(n.key, n.seq) async for n in db.history()]
    assert hist == [("a", 1), ("b", 2), ("a", 3), ("b", 4), ("c", 5)]
    assert [(n.key, n.seq) async for n in db.history(reverse=True)] == list(reversed(hist))
    versions = [[n.value for n in g] async for g in db.key_history("a")]
    assert versions == [["changed"], ["1"]]
    await db.close()


async def test_watch(backend) -> None:
    db = await new_db(backend, value_encoding="utf-8")
    changes: list[int] = []
    watcher = db.watch("dir", lambda: changes.append(1))
    await eventually(lambda: watcher.nodes is not None, what="first watch run")
    await db.put("other", "x")
    await asyncio.sleep(0.05)
    assert changes == []
    await db.put("dir/a", "1")
    await eventually(lambda: len(changes) == 1, what="a change under dir")
    await db.put("dir/a", "2")
    await eventually(lambda: len(changes) == 2, what="a second change")
    closed: list[int] = []
    watcher.on("close", lambda: closed.append(1))
    watcher.destroy()
    await db.put("dir/b", "3")
    await asyncio.sleep(0.05)
    assert len(changes) == 2 and closed == [1]
    await db.close()


async def test_property_errors_before_ready() -> None:
    db = HyperDB("memory")
    with pytest.raises(NotReadyError):
        db.key  # noqa: B018
    with pytest.raises(NotReadyError):
        db.local  # noqa: B018
    assert issubclass(NotReadyError, HyperDBError)
    await db.ready()
    assert len(db.key) == 32 and db.local is db.source and db.source.read_block(0) == HEADER_BLOCK
    await db.close()


# ------------------------------------------------------------------------------------------------
# writers and authorization


async def test_authorization_and_two_writers(backend) -> None:
    a = await new_db(backend, "a", value_encoding="utf-8")
    _, skb = seeded(11)
    b = HyperDB(backend.open("b"), a.key, value_encoding="utf-8", local_secret_key=skb)
    await b.ready()
    assert b.local_key == skb[32:] and b.local is not b.source and b.local.writable and not b.source.writable
    await b.put("from-b", "unauthorized")
    assert values(await b.get("from-b")) == ["unauthorized"]  # visible locally at once
    assert not await a.authorized(b.local_key) and not await b.authorized(b.local_key)
    await sync(a, b)
    assert await a.get("from-b") == []  # not replicated: b is not authorized
    node = await a.authorize(b.local_key)
    assert node.key == "" and await a.authorized(b.local_key)
    await sync(a, b)
    assert await b.authorized(b.local_key)
    assert values(await a.get("from-b")) == ["unauthorized"]  # b's earlier write now counts
    assert [w.key for w in a.writers] == [a.key, b.local_key]
    assert a.authorized_keys() == [a.key, b.local_key] == b.authorized_keys()
    # concurrent writes to one key: both values on both sides until someone writes over them
    await a.put("k", "from a")
    await b.put("k", "from b")
    await sync(a, b)
    for db in (a, b):
        assert sorted(values(await db.get("k"))) == ["from a", "from b"]
        assert sorted(listing(await db.list())["k"]) == ["from a", "from b"]
    await b.put("k", "merged")
    await sync(a, b)
    assert values(await a.get("k")) == ["merged"]
    assert await a.version() == await b.version()
    # key "" authorization entries are not listed (listing starts below the root)
    assert "" not in listing(await a.list())
    await a.close()
    await b.close()


async def test_authorization_is_transitive(backend) -> None:
    a = await new_db(backend, "a", value_encoding="utf-8")
    b = HyperDB(backend.open("b"), a.key, value_encoding="utf-8", local_secret_key=seeded(12)[1])
    c = HyperDB(backend.open("c"), a.key, value_encoding="utf-8", local_secret_key=seeded(13)[1])
    await b.ready()
    await c.ready()
    await a.authorize(b.local_key)
    await sync(a, b)
    await b.authorize(c.local_key)
    await c.put("c-key", "c-value")
    await sync(b, c)
    await sync(a, b)
    assert await a.authorized(c.local_key)
    assert values(await a.get("c-key")) == ["c-value"]  # c's writer came through b
    assert await sync(a, c) == 0
    for db in (a, b, c):
        await db.close()


async def test_reopen_continues_byte_for_byte(backend) -> None:
    """Writes spread over close/reopen give the same blocks as the same writes in one session."""
    ops = [("put", "a", "1"), ("put", "b", "2"), ("del", "a", None), ("put", "c/d", "3"), ("put", "a", "4")]

    async def apply(db, op):
        if op[0] == "put":
            await db.put(op[1], op[2])
        else:
            await db.delete(op[1])

    one = await new_db(backend, "one", value_encoding="utf-8")
    for op in ops:
        await apply(one, op)
    storage = backend.open("two")
    pk, sk = seeded(7)
    for op in ops:
        db = HyperDB(storage, pk, sk, value_encoding="utf-8")
        await apply(db, op)
        await db.close()
    backend.close(storage)
    again = HyperDB(backend.open("two"), pk, value_encoding="utf-8")  # the key alone: secret key from storage
    await again.ready()
    assert [again.local.read_block(i) for i in range(again.local.length)] == [
        one.local.read_block(i) for i in range(one.local.length)]
    assert listing(await again.list()) == listing(await one.list())
    await one.close()
    await again.close()


async def test_clone_reopens_and_keeps_writers(backend) -> None:
    a = await new_db(backend, "a", value_encoding="utf-8")
    b = HyperDB(backend.open("b"), a.key, value_encoding="utf-8", local_secret_key=seeded(14)[1])
    await b.ready()
    await a.authorize(b.local_key)
    await a.put("x", "1")
    await sync(a, b)
    await b.put("y", "2")
    local_key = b.local_key
    await b.close()
    b2 = HyperDB(backend.open("b"), a.key, value_encoding="utf-8")
    await b2.ready()
    assert b2.local_key == local_key and await b2.authorized(local_key)
    assert listing(await b2.list()) == {"x": ["1"], "y": ["2"]}
    await b2.put("z", "3")
    await sync(a, b2)
    assert listing(await a.list()) == {"x": ["1"], "y": ["2"], "z": ["3"]}
    await a.close()
    await b2.close()


async def test_storage_names(tmp_path) -> None:
    pk, sk = seeded(21)
    a = HyperDB(f"file:{tmp_path}/a", pk, sk)
    b = HyperDB(f"file:{tmp_path}/b", pk, local_secret_key=seeded(22)[1])
    await a.ready()
    await b.ready()
    await a.authorize(b.local_key)
    await sync(a, b)
    await b.put("k", b"v")
    await sync(a, b)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["peers", "source"]
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["local", "source"]
    peer_dir = tmp_path / "a" / "peers" / core_crypto.discovery_key(b.local_key).hex()
    assert (peer_dir / "key").read_bytes() == b.local_key
    assert sorted(p.name for p in peer_dir.iterdir()) == ["bitfield", "data", "key", "signatures", "tree"]
    await a.close()
    await b.close()


# ------------------------------------------------------------------------------------------------
# Feed interface


async def test_feed_interface(backend) -> None:
    assert issubclass(HyperDB, Feed) and HyperDB.KIND == "hyperdb" and HyperDB.BLOCK0_TYPE == "hyperdb"
    a = await new_db(backend, "a")
    b = HyperDB(backend.open("b"), a.key, local_secret_key=seeded(15)[1])
    await b.ready()
    assert a.cores() == [a.source] and b.cores() == [b.source]
    await a.authorize(b.local_key)
    await sync(a, b)
    assert [c.key for c in a.cores()] == [a.key, b.local_key] and [c.key for c in b.cores()] == [a.key, b.local_key]
    assert a.discovery_key == core_crypto.discovery_key(a.key) and a.owns(core_crypto.discovery_key(b.local_key))
    await a.close()
    await b.close()


async def test_from_core_and_first_core_storage() -> None:
    pk, sk = seeded(16)
    first = MemoryStorage()
    rest = MemoryStorage()
    db = HyperDB(rest, pk, sk, first_core_storage=first)
    await db.put("k", b"v")
    assert first.exists("key") and not rest.exists("source/key")
    await db.close()
    core = Hypercore(first, key=pk)
    await core.ready()
    again = HyperDB.from_core(core, rest)
    assert again.key == pk and values(await again.get("k")) == [b"v"] and again.source is core
    await again.close()


async def test_replicate_source_on_a_stream() -> None:
    a = HyperDB("memory", value_encoding="utf-8")
    await a.ready()
    await a.put("k", "v")
    b = HyperDB("memory", a.key, value_encoding="utf-8", timeout=10)
    await b.ready()
    assert await b.get("k") == []  # not replicating: an empty clone answers at once
    link = pipe(a.replicate(live=False), b.replicate(live=False))
    # replicating and still empty: the get waits for the peer's first announcement, as in JS
    assert values(await asyncio.wait_for(b.get("k"), 10)) == ["v"]
    errors = await asyncio.wait_for(link.wait(), 10)
    assert errors == (None, None)
    assert values(await b.get("k")) == ["v"]
    await a.close()
    await b.close()
