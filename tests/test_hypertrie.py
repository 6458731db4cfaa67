"""hypertrie: the API on every backend (persistence, encodings, conditions, checkouts, history, iteration
order, the Feed surface) and the building blocks (key paths, trie buffers) against the notes' examples."""

from __future__ import annotations

import asyncio

import pytest

from hyperparty import crypto
from hyperparty.feeds import Feed
from hyperparty.feeds.hypercore import Hypercore
from hyperparty.feeds.hypertrie import Entry, Hypertrie, Node
from hyperparty.feeds.hypertrie import trie_encoding
from hyperparty.feeds.hypertrie.errors import CorruptNodeError
from hyperparty.feeds.hypertrie.path import key_path, normalize_key, split_key

# ------------------------------------------------------------------------------------------------
# building blocks


def test_normalise_and_split() -> None:
    assert [normalize_key(k) for k in ["", "/", "a", "/a/", "//a"]] == ["", "", "a", "a/", "/a"]
    assert split_key("a/b") == split_key("a/b/") == ["a", "b"]
    assert split_key("a//b") == ["a", "", "b"]
    assert split_key("") == [] and split_key("/a") == ["a"]


def test_path_digits() -> None:
    segments, digits = key_path("a/b", False)
    assert segments == ("a", "b") and len(digits) == 32 * 2 + 2
    assert digits[0] == 0 and digits[-1] == 4
    h = crypto.shorthash(b"a", bytes(16))
    assert [digits[1 + k] for k in range(4)] == [(h[0] >> (2 * k)) & 3 for k in range(4)]
    assert key_path("a/b", True)[1][0] == 1
    # the package's own collision pair: same digits, different segments
    assert key_path("idgcmnmna", False)[1] == key_path("mpomeiehc", False)[1]


def test_trie_buffer_examples() -> None:
    assert trie_encoding.encode({}) == b"\x00"
    assert trie_encoding.encode({1: [0, 0, 1]}) == bytes.fromhex("02010401")
    assert trie_encoding.decode(bytes.fromhex("22010102211001"), 3) == {1: [2], 33: [0, 0, 0, 0, 1]}
    big = {200: [0, 300, 0, 0, 0, 0, 7]}
    assert trie_encoding.decode(trie_encoding.encode(big), 1000) == big
    for bad in [b"", b"\x80", b"\x02\x01", b"\x02\x01\x04", b"\x02\x01\x03\x01\x01"]:  # ... a node named twice
        with pytest.raises(CorruptNodeError):
            trie_encoding.decode(bad, 10)


def test_push_chains_and_dedups() -> None:
    trie: dict = {}
    trie_encoding.push(trie, 3, 2, 5)
    trie_encoding.push(trie, 3, 7, 6)  # 7 -> slot 2, taken -> 7
    trie_encoding.push(trie, 3, 1, 5)  # already in the bucket
    assert trie == {3: [0, 0, 5, 0, 0, 0, 0, 6]}


def test_node_block_example_from_the_notes() -> None:
    n = Node("hello", b"world", 0, {}, 1)
    assert n.encode().hex() == "0a0568656c6c6f1205776f726c641a0100200128" + "00"


# ------------------------------------------------------------------------------------------------
# the API


async def new_trie(storage="memory", **options) -> Hypertrie:
    trie = Hypertrie(storage, **options)
    await trie.ready()
    return trie


async def test_feed_surface(backend) -> None:
    trie = await new_trie(backend.open("t"))
    assert isinstance(trie, Feed) and Hypertrie.KIND == Hypertrie.BLOCK0_TYPE == "hypertrie"
    assert trie.cores() == [trie.core] and trie.owns(trie.discovery_key)
    assert trie.key == trie.core.key and trie.discovery_key == crypto.discovery_key(trie.key)
    assert trie.writable and trie.version == 1 and await trie.head() is None
    assert (await trie.core.get(0)).hex() == "0a09687970657274726965"
    assert await trie.get_metadata() is None
    assert trie.replicate(live=True) is not None
    await trie.close()
    await trie.close()  # idempotent


async def test_metadata_and_from_core() -> None:
    pk, sk = crypto.key_pair(bytes([0x61]) * 32)
    core = Hypercore("memory", pk, sk)
    await core.ready()
    trie = Hypertrie.from_core(core, metadata=b"meta")
    await trie.ready()
    assert await trie.get_metadata() == b"meta" and trie.key == pk
    await trie.put("k", b"v")
    assert (await Hypertrie.from_core(core).get("k")).value == b"v"


async def test_persistence_on_every_backend(backend) -> None:
    trie = await new_trie(backend.open("t"))
    key = trie.key
    for i in range(50):
        await trie.put(f"k/{i}", str(i).encode())
    await trie.delete("k/7")
    await trie.close()
    backend.close_all()
    again = Hypertrie(backend.open("t"))
    await again.ready()
    assert again.key == key and again.writable and again.version == 52
    assert await again.get("k/7") is None and (await again.get("k/8")).value == b"8"
    assert len(await again.list("k")) == 49
    await again.put("more", b"x")
    assert again.version == 53
    await again.close()


async def test_get_put_delete_semantics() -> None:
    trie = await new_trie()
    e = await trie.put("/a/b/", "text")  # binary: str values are stored as UTF-8
    assert e == Entry("a/b/", b"text", 1, 0, False)
    assert (await trie.get("a/b")).value == b"text"  # trailing / does not matter to get
    assert await trie.delete("a/b") is None  # ... but delete compares whole keys (JS)
    assert (await trie.delete("a/b/")).key == ""  # the only key: the "" marker
    assert await trie.get("a/b") is None and await trie.list() == [] and await trie.head() is None
    assert (await trie.put("nothing", None)).value is None
    assert (await trie.get("nothing")).value is None
    with pytest.raises(TypeError):
        await trie.put("x", 12)
    with pytest.raises(ValueError):
        await trie.put("x", b"1", flags=-1)


async def test_value_encodings() -> None:
    t = await new_trie(value_encoding="utf-8")
    await t.put("a", "ü")
    assert (await t.get("a")).value == "ü"
    j = await new_trie(value_encoding="json")
    await j.put("a", {"x": [1, 2.0, "ü"], "y": None})
    assert await j.core.get(1) == Node("a", b'{"x":[1,2,"\xc3\xbc"],"y":null}', 0, {}, 1).encode()
    assert (await j.get("a")).value == {"x": [1, 2, "ü"], "y": None}
    with pytest.raises(ValueError):
        Hypertrie("memory", value_encoding="yaml")


async def test_flags_and_hidden() -> None:
    trie = await new_trie()
    await trie.put("k", b"v", flags=5, hidden=True)
    assert await trie.get("k") is None
    e = await trie.get("k", hidden=True)
    assert (e.flags, e.hidden) == (5, True)
    assert Node.decode(await trie.core.get(1), 1).flags == (5 << 8) | 1


async def test_conditions() -> None:
    trie = await new_trie()
    seen = []

    def only_new(old, new):
        seen.append((old, new.key))
        return old is None

    assert (await trie.put("a", b"1", condition=only_new)).seq == 1
    assert await trie.put("a", b"2", condition=only_new) is None
    assert seen[1][0].value == b"1" and trie.version == 2

    async def never(victim):
        return False

    assert await trie.delete("a", condition=never) is None
    assert (await trie.get("a")).value == b"1"


async def test_batch_validates_before_writing() -> None:
    trie = await new_trie()
    with pytest.raises(ValueError):
        await trie.batch([{"type": "put", "key": "a", "value": b"1"}, {"type": "upsert", "key": "b"}])
    assert trie.version == 1
    written = await trie.batch([{"type": "put", "key": "a", "value": b"1"}, {"type": "del", "key": "zz"}])
    assert [(e.key, e.seq) for e in written] == [("a", 1)]


async def test_checkout_and_snapshot() -> None:
    trie = await new_trie()
    for i in range(5):
        await trie.put("k", str(i).encode())
    old = trie.checkout(3)
    snap = trie.snapshot()
    await trie.put("k", b"new")
    assert (await old.get("k")).value == b"1" and old.version == 3
    assert (await snap.get("k")).value == b"4"
    assert await trie.checkout(0).get("k") is None and trie.checkout(None).version == 1
    assert [(d.key, d.left.value, d.right.value) async for d in trie.diff(old)] == [("k", b"new", b"1")]


async def test_history() -> None:
    trie = await new_trie()
    await trie.put("a", b"1")
    await trie.put("b", b"2")
    await trie.delete("a")
    await trie.delete("b")  # the "" marker
    await trie.put("c", b"3")
    assert [(e.key, e.seq) async for e in trie.history()] == [("a", 1), ("b", 2), ("b", 3), ("", 4), ("c", 5)]
    assert [e.seq async for e in trie.history(reverse=True, gt=2)] == [5, 4, 3]
    assert [e.seq async for e in trie.history(gte=2, lt=4)] == [2, 3]
    assert [e.seq async for e in trie.checkout(3).history()] == [1, 2]

    live = trie.history(gte=5, live=True)
    assert (await live.__anext__()).key == "c"
    nxt = asyncio.ensure_future(live.__anext__())
    await asyncio.sleep(0.01)
    assert not nxt.done()
    await trie.put("d", b"4")
    assert (await asyncio.wait_for(nxt, 2)).key == "d"


async def test_iterator_order_and_options() -> None:
    trie = await new_trie()
    keys = ["a", "a/b", "a/c", "a/b/d", "b", "c/d/e"]
    for k in keys:
        await trie.put(k, k.encode())
    listed = [e.key for e in await trie.list()]
    assert sorted(listed) == sorted(keys) and listed == [e.key async for e in trie.iterator()]
    # reverse walks the digits the other way round (4 last): same keys, the "a" directory key after its children
    backwards = [e.key for e in await trie.list(reverse=True)]
    assert sorted(backwards) == sorted(keys) and backwards.index("a") > backwards.index("a/b")
    under_a = [e.key for e in await trie.list("a")]
    assert under_a[0] == "a" and sorted(under_a) == ["a", "a/b", "a/b/d", "a/c"]  # the prefix key first
    assert "a" not in [e.key for e in await trie.list("a", gt=True)]
    children = {e.key for e in await trie.list("a", recursive=False)}
    assert "a" in children and len(children) == 3  # a itself, one node for a/b..., one for a/c
    assert await trie.list("nope") == []


async def test_watch_close_ends_iteration() -> None:
    trie = await new_trie()
    w = trie.watch("x")
    await asyncio.sleep(0.01)
    w.close()
    assert [e async for e in w] == []
    await trie.put("x/1", b"1")  # no error after close
    await trie.close()
