"""The Hypercore API on every storage backend: append/get/reopen, keys and writability, waiting reads,
selections, events, seek, audit."""

from __future__ import annotations

import asyncio
import os

import pytest

from hyperparty.feeds.hypercore import (
    AnotherHypercoreError,
    BlockNotAvailable,
    FeedClosedError,
    FeedNotWritableError,
    GetTimeoutError,
    Hypercore,
    NoHypercoreError,
    NotWritableError,
    RequestCancelledError,
    crypto,
)
from hyperparty.storage.memory import MemoryStorage

from util import Backend


async def reopen(backend: Backend, core: Hypercore, **kwargs) -> Hypercore:
    await core.close()
    backend.close(core.storage)
    new = Hypercore(backend.open(), **kwargs)
    await new.ready()
    return new


# ------------------------------------------------------------------------------------------------------


async def test_append_get_reopen(backend: Backend) -> None:
    core = Hypercore(backend.open())
    await core.ready()
    assert core.writable and core.length == 0 and core.byte_length == 0
    assert len(core.key) == 32 and core.discovery_key == crypto.discovery_key(core.key)
    assert await core.append(b"hello") == 0
    assert await core.append("wörld") == 1  # str -> UTF-8
    assert await core.append([b"a", b"", b"ccc"]) == 2  # one batch; empty blocks are allowed
    assert await core.append([]) == 5  # empty batch: nothing happens
    assert core.length == 5 and core.byte_length == 5 + 6 + 1 + 0 + 3
    assert await core.get(1) == "wörld".encode()
    assert await core.get(3) == b""
    assert await core.head() == b"ccc"
    assert await core.get_batch(0, 5) == [b"hello", "wörld".encode(), b"a", b"", b"ccc"]
    assert core.has(4) and not core.has(5) and core.has(0, 5) and not core.has(0, 6)
    assert core.downloaded() == 5
    key = core.key

    core = await reopen(backend, core)
    assert core.key == key and core.writable and core.recovered is None
    assert core.length == 5 and core.byte_length == 15
    assert [await core.get(i) for i in range(5)][0] == b"hello"
    assert await core.append(b"more") == 5
    core = await reopen(backend, core)
    assert await core.get(5) == b"more"
    await core.close()


async def test_many_blocks_across_bitfield_pages(backend: Backend) -> None:
    core = Hypercore(backend.open())
    await core.ready()
    expected = []
    n = 0
    for size in (1, 7000, 1, 1500, 9000, 3):
        blocks = [f"block {n + k}".encode() * (1 + (n + k) % 3) for k in range(size)]
        expected += blocks
        await core.append(blocks if size > 1 else blocks[0])
        n += size
    assert core.length == n
    core = await reopen(backend, core)
    assert core.length == n and core.byte_length == sum(map(len, expected))
    for i in (0, 1, 8191, 8192, 8193, 16383, 16384, n - 1):
        assert await core.get(i) == expected[i]
    assert await core.get_batch(8000, 8400) == expected[8000:8400]
    assert core.has(0, n)
    assert core.seek(0) == (0, 0)
    offset = sum(map(len, expected[:12345])) + 3
    assert core.seek(offset) == (12345, 3)
    assert core.seek(core.byte_length) == (n, 0)
    report = await core.audit()
    assert report["valid"] == n and report["invalid"] == 0 and report["bad_nodes"] == []
    assert report["signature_ok"]
    await core.close()


async def test_keys_and_writability(backend: Backend) -> None:
    pk, sk = crypto.key_pair(b"\x07" * 32)
    core = Hypercore(backend.open(), key=pk, secret_key=sk)
    await core.ready()
    await core.append(b"x")
    await core.close()
    backend.close(core.storage)

    # stored secret key makes it writable again even when only the key is given
    core = Hypercore(backend.open(), key=pk.hex())
    await core.ready()
    assert core.writable
    await core.close()
    backend.close(core.storage)

    # a different key on the same storage
    other, _ = crypto.key_pair(b"\x08" * 32)
    with pytest.raises(AnotherHypercoreError, match="Another hypercore is stored here"):
        await Hypercore(backend.open(), key=other).ready()
    backend.close_all()

    # a read-only replica
    replica = Hypercore(backend.open("replica"), key=pk)
    await replica.ready()
    assert not replica.writable and replica.length == 0
    with pytest.raises(NotWritableError, match="This feed is not writable. Did you create it\\?"):
        await replica.append(b"nope")
    await replica.close()
    backend.close(replica.storage)
    with pytest.raises(FeedNotWritableError):
        await Hypercore(backend.open("replica"), key=pk, writable=True).ready()
    with pytest.raises(NoHypercoreError):
        await Hypercore(backend.open("empty"), create_if_missing=False).ready()
    with pytest.raises(ValueError):
        Hypercore(MemoryStorage(), key=other, secret_key=sk)
    with pytest.raises(ValueError):
        Hypercore(MemoryStorage(), key=b"short")


async def test_secret_key_not_stored_when_asked() -> None:
    storage = MemoryStorage()
    pk, sk = crypto.key_pair(b"\x09" * 32)
    core = Hypercore(storage, key=pk, secret_key=sk, store_secret_key=False)
    await core.append(b"a")
    assert not storage.exists("secret_key") or storage.open("secret_key").size() == 0
    await core.close()
    again = Hypercore(storage)
    await again.ready()
    assert again.key == pk and not again.writable and again.length == 1


@pytest.mark.expect_errors  # logged on purpose: a failing factory / listener
async def test_events() -> None:
    core = Hypercore(MemoryStorage())
    seen: list = []
    core.on("ready", lambda: seen.append("ready"))
    fn = core.on("append", lambda: seen.append(("append", core.length)))
    core.once("append", lambda: seen.append("once"))
    await core.ready()
    await core.append([b"a", b"b"])
    await core.append(b"c")
    core.off("append", fn)
    await core.append(b"d")
    assert seen == ["ready", ("append", 2), "once", ("append", 3)]

    def broken() -> None:
        raise RuntimeError("listener bug")

    core.on("append", broken)
    assert await core.append(b"e") == 4  # a failing listener does not fail the append
    closed = []
    core.on("close", lambda: closed.append(True))
    await core.close()
    assert closed == [True]
    with pytest.raises(FeedClosedError):
        await core.append(b"f")
    assert core.cores() == [core] and core.owns(core.discovery_key)


class FakePeer:
    def __init__(self) -> None:
        self.haves: list = []
        self.updates = 0
        self.remote_length = 0

    def have(self, start, length) -> None:
        self.haves.append((start, length))

    def update(self) -> None:
        self.updates += 1


async def test_announces_to_peers() -> None:
    writer = Hypercore(MemoryStorage())
    peer = FakePeer()
    await writer.ready()
    writer.peers.append(peer)
    await writer.append(b"a")
    await writer.append([b"b", b"c"])
    assert peer.haves == [(0, None), (1, 2)]  # one block: no length field, as JS

    replica = Hypercore(MemoryStorage(), key=writer.key, sparse=True)
    await replica.ready()
    p1, p2 = FakePeer(), FakePeer()
    replica.peers += [p1, p2]
    downloads = []
    replica.on("download", lambda i, data: downloads.append((i, data)))
    replica.put(2, await writer.get(2), writer.proof(2), from_peer=p1)
    assert p1.haves == [] and p2.haves == [(2, None)]
    assert downloads == [(2, b"c")]
    assert replica.stats["downloaded_blocks"] == 1


async def test_get_waits_for_put_and_timeouts() -> None:
    writer = Hypercore(MemoryStorage())
    await writer.ready()
    await writer.append([b"zero", b"one", b"two"])
    replica = Hypercore(MemoryStorage(), key=writer.key, sparse=True)
    await replica.ready()
    peer = FakePeer()
    replica.peers.append(peer)

    with pytest.raises(BlockNotAvailable):
        await replica.get(1, wait=False)
    with pytest.raises(GetTimeoutError):
        await replica.get(1, timeout=0.01)
    assert replica.waiting == []

    task = asyncio.create_task(replica.get(1))
    await asyncio.sleep(0)
    assert [w.index for w in replica.waiting] == [1] and peer.updates > 0
    replica.put(1, await writer.get(1), writer.proof(1, digest=replica.digest(1)))
    assert await asyncio.wait_for(task, 1) == b"one"
    assert replica.waiting == []

    # writer: get of a future block resolves on append
    task = asyncio.create_task(writer.get(3))
    await asyncio.sleep(0)
    await writer.append(b"three")
    assert await asyncio.wait_for(task, 1) == b"three"

    # update() resolves when a proof makes the replica longer
    upd = asyncio.create_task(replica.update(4))
    await asyncio.sleep(0)
    assert not upd.done()
    replica.put(3, await writer.get(3), writer.proof(3, digest=replica.digest(3)))
    await asyncio.wait_for(upd, 1)
    assert replica.length == 4

    # close rejects pending reads
    pending = asyncio.create_task(replica.get(0))
    await asyncio.sleep(0)
    await replica.close()
    with pytest.raises(FeedClosedError):
        await asyncio.wait_for(pending, 1)


async def test_download_selections() -> None:
    writer = Hypercore(MemoryStorage())
    await writer.ready()
    await writer.append([bytes([i]) * 10 for i in range(20)])
    full = Hypercore(MemoryStorage(), key=writer.key)
    await full.ready()
    assert [(s.start, s.end) for s in full.selections] == [(0, -1)]  # non-sparse default selection
    replica = Hypercore(MemoryStorage(), key=writer.key, sparse=True)
    await replica.ready()
    assert replica.selections == []

    dl = asyncio.create_task(replica.download(5, 10))
    await asyncio.sleep(0)
    assert [(s.start, s.end) for s in replica.selections] == [(5, 10)]
    for i in (9, 5, 7, 6):
        replica.put(i, await writer.get(i), writer.proof(i, digest=replica.digest(i)))
        await asyncio.sleep(0)
        assert not dl.done()
    replica.put(8, await writer.get(8), writer.proof(8, digest=replica.digest(8)))
    await asyncio.wait_for(dl, 1)
    assert replica.selections == []
    await replica.download(6, 9)  # already local: returns at once
    assert await replica.get_batch(5, 10) == [bytes([i]) * 10 for i in range(5, 10)]

    cancelled = asyncio.create_task(replica.download(10, 12))
    await asyncio.sleep(0)
    replica.undownload(replica.selections[0])
    with pytest.raises(RequestCancelledError):
        await asyncio.wait_for(cancelled, 1)
    with pytest.raises(GetTimeoutError):
        await replica.download(12, 13, timeout=0.01)
    assert replica.selections == []

    # a hash-only selection completes with the tree nodes alone
    sel = replica.select(0, 2, hash=True)
    for i in (0, 1):
        replica.put(i, None, writer.proof(i, hash=True, digest=replica.digest(i)))
    assert sel.finished and not replica.has(0)
    await full.close()


async def test_hypercore_from_storage_spec(tmp_path) -> None:
    for kind in ("file", "lmdb"):
        spec = f"{kind}:{tmp_path / kind}"
        core = Hypercore(spec)
        await core.append([os.urandom(100) for _ in range(3)])
        key = core.key
        await core.close()  # owns and closes the storage
        again = Hypercore(spec)
        await again.ready()
        assert again.key == key and again.length == 3
        await again.close()
