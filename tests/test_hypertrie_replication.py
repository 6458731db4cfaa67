"""hypertrie replication between Python peers: the trie is one hypercore, the trie key the first channel.

* a full non-live clone (in-memory pipe and loopback TCP) answers like the writer, on every backend;
* a sparse reader of a 2000-key trie downloads only the blocks its walks touch (a handful per get);
* ``watch`` sees replicated puts (live), and local ones.
"""

from __future__ import annotations

import asyncio

from hyperparty import crypto
from hyperparty.feeds.hypertrie import Hypertrie
from hyperparty.protocol.transport import connect_tcp, pipe, serve_tcp

BIG = 2000


def generated(i: int) -> tuple[str, bytes]:
    return f"key/{i % 10}/{i}", f"value {i}".encode()


async def writer(n: int, seed: int = 0x31, storage="memory") -> Hypertrie:
    pk, sk = crypto.key_pair(bytes([seed]) * 32)
    trie = Hypertrie(storage, pk, sk)
    await trie.ready()
    for start in range(0, n, 500):
        await trie.batch(
            [{"type": "put", "key": k, "value": v} for k, v in map(generated, range(start, min(n, start + 500)))]
        )
    return trie


async def dump(trie: Hypertrie) -> list[tuple[str, bytes, int]]:
    return sorted((e.key, e.value, e.seq) for e in await trie.list())


async def test_non_live_clone_on_a_pipe(backend) -> None:
    w = await writer(300, storage=backend.open("w"))
    await w.delete("key/3/3")
    await w.put("hidden", b"h", hidden=True)
    clone = Hypertrie(backend.open("c"), w.key)
    await clone.ready()
    assert await pipe(w.replicate(live=False), clone.replicate(live=False)).wait() == (None, None)
    assert clone.version == w.version and not clone.writable
    assert await dump(clone) == await dump(w)
    assert await clone.get("key/3/3") is None
    assert (await clone.get("hidden", hidden=True)).value == b"h"
    assert [e.key async for e in clone.diff(w.version - 1)] == []  # the hidden key space is apart
    assert [(d.key, d.right) async for d in clone.diff(w.version - 1, hidden=True)] == [("hidden", None)]
    await w.close()
    await clone.close()


async def test_non_live_clone_over_tcp() -> None:
    w = await writer(500)
    server = await serve_tcp("127.0.0.1", 0, lambda: w.replicate(live=False))
    port = server.sockets[0].getsockname()[1]
    try:
        clone = Hypertrie("memory", w.key)
        await clone.ready()
        task = await connect_tcp("127.0.0.1", port, clone.replicate(live=False))
        assert await asyncio.wait_for(task, 20) is None
        assert await dump(clone) == await dump(w)
    finally:
        server.close()
    await w.close()
    await clone.close()


async def test_sparse_get_downloads_a_handful_of_blocks() -> None:
    w = await writer(BIG)
    reader = Hypertrie("memory", w.key, sparse=True)
    await reader.ready()
    p = pipe(w.replicate(live=True), reader.replicate(live=True))
    await reader.update(timeout=5)
    assert reader.version == BIG + 1
    stats = reader.core.stats
    assert stats["downloaded_blocks"] == 0
    per_get = []
    for i in (0, 777, 1999):
        before = stats["downloaded_blocks"]
        e = await asyncio.wait_for(reader.get(generated(i)[0]), 5)
        assert (e.key, e.value) == generated(i)
        per_get.append(stats["downloaded_blocks"] - before)
    assert 0 < per_get[0] <= 12 and sum(per_get) <= 30, per_get
    assert await asyncio.wait_for(reader.get("absent"), 5) is None
    # a list of one small directory walks more, but still far from the whole feed
    before = stats["downloaded_blocks"]
    listed = await asyncio.wait_for(reader.list("key/7"), 10)
    assert len(listed) == BIG // 10
    assert stats["downloaded_blocks"] - before < BIG // 2
    # reading with wait=False never fetches
    assert reader.core.downloaded() == stats["downloaded_blocks"]
    p.a.destroy()
    await w.close()
    await reader.close()


async def test_sparse_get_without_wait_raises_when_missing() -> None:
    from hyperparty.feeds.hypercore import BlockNotAvailable

    w = await writer(50)
    reader = Hypertrie("memory", w.key, sparse=True)
    await reader.ready()
    p = pipe(w.replicate(live=True), reader.replicate(live=True))
    await reader.update(timeout=5)
    try:
        await reader.get("key/1/1", wait=False)
        raise AssertionError("expected BlockNotAvailable")
    except BlockNotAvailable:
        pass
    assert reader.core.stats["downloaded_blocks"] == 0
    p.a.destroy()
    await w.close()
    await reader.close()


async def test_live_watch_sees_replicated_puts() -> None:
    w = await writer(10)
    reader = Hypertrie("memory", w.key)
    await reader.ready()
    p = pipe(w.replicate(live=True), reader.replicate(live=True))
    seen = []
    async with reader.watch("room", seen.append) as changes:
        for i in range(3):
            await w.put(f"room/m{i}", f"hi {i}".encode())
            e = await changes.next(timeout=5)
            assert (e.key, e.value) == (f"room/m{i}", f"hi {i}".encode())
        await w.put("elsewhere", b"x")
        await reader.update(w.version, timeout=5)
        await asyncio.sleep(0.05)
        assert changes._queue.empty()
    assert [e.key for e in seen] == ["room/m0", "room/m1", "room/m2"]
    p.a.destroy()
    await w.close()
    await reader.close()


async def test_live_watch_on_a_sparse_reader() -> None:
    w = await writer(200)
    reader = Hypertrie("memory", w.key, sparse=True)
    await reader.ready()
    p = pipe(w.replicate(live=True), reader.replicate(live=True))
    await reader.update(timeout=5)
    async with reader.watch("room") as changes:
        await w.put("room/a", b"1")
        e = await changes.next(timeout=5)
        assert (e.key, e.value) == ("room/a", b"1")
    assert reader.core.stats["downloaded_blocks"] < 20
    p.a.destroy()
    await w.close()
    await reader.close()


async def test_local_watch_reports_existing_then_changes() -> None:
    w = await writer(0)
    await w.put("a/x", b"1")
    changes = w.watch("a")
    first = await changes.next(timeout=2)  # JS reports once at once when the prefix has entries
    assert first.key == "a/x"
    await w.put("b", b"no")
    await w.put("a/y", b"2")
    assert (await changes.next(timeout=2)).key == "a/y"
    await w.delete("a/y")
    await w.put("a/z", b"3")
    assert (await changes.next(timeout=2)).key == "a/z"
    changes.close()
    assert [e async for e in changes] == []
    await w.close()
