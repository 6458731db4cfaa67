"""Hyperdrive API: files (whole and streamed), directories, stats, checkouts, history, change
notifications, reopening, the Feed interface, and sparse readers — on every storage backend."""

from __future__ import annotations

import asyncio
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperparty.feeds import Feed
from hyperparty.feeds.hypercore import Hypercore
from hyperparty.feeds.hyperdrive import (
    BLOCK_SIZE,
    Checkout,
    DirectoryNotEmptyError,
    FileExistsDriveError,
    Hyperdrive,
    NotADirectoryDriveError,
    NotAFileError,
    NotFoundError,
    ReadOnlyError,
    VersionError,
)
from hyperparty.protocol import pipe
from hyperparty.storage import MemoryStorage

from hyperdrive_ops import pattern
from util import eventually


async def new_drive(backend, name: str = "drive", **options) -> Hyperdrive:
    drive = Hyperdrive(backend.open(name), **options)
    await drive.ready()
    return drive


def content_blocks(drive: Hyperdrive, stat) -> list[bytes]:
    return [drive.content.read_block(i) for i in range(stat.offset, stat.offset + stat.blocks)]


# ------------------------------------------------------------------------------------------------
# files


async def test_write_and_read_files(backend) -> None:
    drive = await new_drive(backend)
    big = pattern(3 * BLOCK_SIZE + 123, 7)
    st_big = await drive.write_file("/big.bin", big)
    assert [len(b) for b in content_blocks(drive, st_big)] == [BLOCK_SIZE] * 3 + [123]
    assert (st_big.size, st_big.blocks, st_big.offset, st_big.byte_offset) == (len(big), 4, 0, 0)
    st_txt = await drive.write_file("notes/a.txt", "héllo")
    assert (st_txt.offset, st_txt.byte_offset, st_txt.mode) == (4, len(big), 0o100644)
    empty = await drive.write_file("/empty", b"")
    assert (empty.size, empty.blocks) == (0, 0)
    assert await drive.read_file("/big.bin") == big
    assert await drive.read_file("/notes/a.txt") == "héllo".encode()
    assert await drive.read_file("/empty") == b""
    assert await drive.read_file("/big.bin", start=BLOCK_SIZE - 5, end=BLOCK_SIZE + 5) == big[BLOCK_SIZE - 5 : BLOCK_SIZE + 5]
    assert drive.version == 3
    await drive.close()


async def test_write_sources_and_options(backend) -> None:
    drive = await new_drive(backend)
    data = pattern(200_000, 3)

    async def agen():
        for i in range(0, len(data), 9999):
            yield data[i : i + 9999]

    st_file = await drive.write_file("/from-file", io.BytesIO(data), mode=0o600, uid=5, gid=6, mtime=1000, ctime=2000)
    st_iter = await drive.write_file("/from-iter", (data[i : i + 777] for i in range(0, len(data), 777)))
    st_agen = await drive.write_file("/from-agen", agen())
    for st_ in (st_file, st_iter, st_agen):
        assert st_.size == len(data) and st_.blocks == 4  # always cut into 64 KiB blocks
    assert (st_file.mode, st_file.uid, st_file.gid, st_file.mtime, st_file.ctime) == (0o100600, 5, 6, 1000, 2000)
    assert content_blocks(drive, st_file) == content_blocks(drive, st_iter) == content_blocks(drive, st_agen)
    for name in ("/from-file", "/from-iter", "/from-agen"):
        assert await drive.read_file(name) == data
    await drive.close()


async def test_streaming_writer_and_reader(backend) -> None:
    drive = await new_drive(backend)
    data = pattern(5 * BLOCK_SIZE + 17, 1)
    async with drive.open("/s.bin", "wb") as f:
        for i in range(0, len(data), 30000):
            await f.write(data[i : i + 30000])
    assert f.stat.size == len(data) and f.stat.blocks == 6
    async with drive.open("/raw", "wb", raw=True) as f:
        for chunk in (b"ab", b"cde", b"f"):
            await f.write(chunk)
    assert [b for b in content_blocks(drive, f.stat)] == [b"ab", b"cde", b"f"]

    async with drive.open("/s.bin") as r:
        assert await r.read(10) == data[:10]
        assert r.tell() == 10
        await r.seek(BLOCK_SIZE * 2 + 3)
        assert await r.read(BLOCK_SIZE) == data[BLOCK_SIZE * 2 + 3 : BLOCK_SIZE * 3 + 3]
        assert await r.read() == data[BLOCK_SIZE * 3 + 3 :]
        assert await r.read() == b""
    chunks = [c async for c in await drive.open("/s.bin", "rb", start=100)]
    assert b"".join(chunks) == data[100:] and max(len(c) for c in chunks) <= BLOCK_SIZE
    assert await drive.read_file("/raw", start=1, end=5) == b"bcde"
    await drive.close()


@settings(max_examples=40, deadline=None)
@given(start=st.integers(0, 200_000), length=st.integers(0, 200_000))
def test_read_ranges(start: int, length: int) -> None:
    async def main():
        drive = Hyperdrive(MemoryStorage())
        async with drive.open("/f", "wb", raw=True) as f:
            for size in (1, 70000, 0, 65536, 3, 50000):
                await f.write(pattern(size, size % 251))
        whole = await drive.read_file("/f")
        assert await drive.read_file("/f", start=start, end=start + length) == whole[start : start + length]
        async with drive.open("/f") as r:
            await r.seek(start)
            assert await r.read(length) == whole[start : start + length]
        await drive.close()

    asyncio.run(main())


async def test_an_aborted_writer_writes_no_node(backend) -> None:
    drive = await new_drive(backend)
    with pytest.raises(RuntimeError):
        async with drive.open("/f", "wb") as f:
            await f.write(b"x" * 100)
            raise RuntimeError("stop")
    assert not await drive.exists("/f") and drive.version == 0
    await drive.write_file("/f", b"ok")  # the lock was released
    assert await drive.read_file("/f") == b"ok"
    await drive.close()


async def test_writes_are_serialised(backend) -> None:
    drive = await new_drive(backend)
    datas = {f"/f{i}": pattern(40000 * (i + 1), i) for i in range(6)}
    await asyncio.gather(*(drive.write_file(k, v) for k, v in datas.items()))
    for k, v in datas.items():
        assert await drive.read_file(k) == v
    assert sorted(await drive.readdir("/")) == sorted(k[1:] for k in datas)
    await drive.close()


# ------------------------------------------------------------------------------------------------
# directories and stats


async def test_directories_and_errors(backend) -> None:
    drive = await new_drive(backend)
    await drive.mkdir("/d", mode=0o700, uid=1)
    st_d = await drive.stat("/d")
    assert st_d.is_directory() and st_d.mode == 0o40700 and st_d.uid == 1 and st_d.size == 0
    await drive.write_file("/d/x", b"1")
    await drive.write_file("/d/sub/y", b"2")
    await drive.write_file("/top", b"3")
    assert await drive.readdir("/") == ["d", "top"]
    assert await drive.readdir("/d") == ["x", "sub"]
    implicit = await drive.stat("/d/sub")
    assert implicit.is_directory() and implicit.mode == 0o40755 and implicit.mtime == 0
    root = await drive.stat("/")
    assert root.is_directory()
    assert await drive.exists("/d/sub/y") and not await drive.exists("/nope")
    length = drive.metadata.length
    for call, error in [
        (drive.stat("/nope"), NotFoundError),
        (drive.readdir("/nope"), NotFoundError),
        (drive.readdir("/top"), NotADirectoryDriveError),
        (drive.read_file("/d"), NotAFileError),
        (drive.read_file("/d/sub"), NotAFileError),
        (drive.write_file("/d", b""), NotAFileError),
        (drive.write_file("/d/sub", b""), NotAFileError),
        (drive.write_file("/top/below", b""), NotADirectoryDriveError),
        (drive.write_file("/", b""), NotAFileError),
        (drive.mkdir("/d"), FileExistsDriveError),
        (drive.mkdir("/d/sub"), FileExistsDriveError),
        (drive.mkdir("/top"), FileExistsDriveError),
        (drive.mkdir("/top/x"), NotADirectoryDriveError),
        (drive.unlink("/d"), NotAFileError),
        (drive.unlink("/nope"), NotFoundError),
        (drive.rmdir("/d"), DirectoryNotEmptyError),
        (drive.rmdir("/top"), NotADirectoryDriveError),
        (drive.rmdir("/nope"), NotFoundError),
    ]:
        with pytest.raises(error):
            await call
    assert isinstance(NotFoundError("x"), FileNotFoundError)
    assert drive.metadata.length == length
    await drive.unlink("/d/x")
    await drive.unlink("/d/sub/y")
    assert await drive.readdir("/d") == []
    await drive.rmdir("/d")
    assert await drive.readdir("/") == ["top"]
    await drive.close()


# ------------------------------------------------------------------------------------------------
# versions


async def test_checkout_and_history(backend) -> None:
    drive = await new_drive(backend)
    await drive.write_file("/a", b"one")
    await drive.write_file("/a", b"two")
    await drive.unlink("/a")
    await drive.mkdir("/d")
    v1 = drive.checkout(1)
    assert isinstance(v1, Checkout) and v1.version == 1
    assert await v1.read_file("/a") == b"one" and await drive.checkout(2).read_file("/a") == b"two"
    assert not await drive.checkout(3).exists("/a") and await drive.checkout(3).readdir("/") == []
    assert await drive.checkout(0).readdir("/") == []
    with pytest.raises(VersionError):
        drive.checkout(99)
    with pytest.raises(ReadOnlyError):
        await v1.open("/b", "wb")
    history = [c async for c in drive.history()]
    assert [(c.type, c.version, c.name) for c in history] == [("put", 1, "/a"), ("put", 2, "/a"), ("del", 3, "/a"), ("put", 4, "/d")]
    assert history[1].stat.size == 3 and history[2].stat is None
    assert [c.version async for c in drive.history(start=3)] == [3, 4]
    assert [c.version async for c in v1.history()] == [1]
    await drive.close()


async def test_reopen(backend) -> None:
    drive = await new_drive(backend)
    key = drive.key
    await drive.write_file("/a", pattern(100_000, 2))
    await drive.close()
    again = await new_drive(backend)
    assert again.key == key and again.writable and again.content.writable
    assert await again.read_file("/a") == pattern(100_000, 2)
    await again.write_file("/b", b"more")
    assert await again.readdir("/") == ["a", "b"]
    assert not again.content.storage.exists("secret_key")  # derived at every open, never stored
    await again.close()


async def test_watch_and_events(backend) -> None:
    drive = await new_drive(backend)
    updates, appended = [], []
    drive.on("update", lambda: updates.append(drive.version))
    drive.on("append", appended.append)
    seen = []

    async def consume():
        async for change in drive.watch():
            seen.append((change.type, change.name))
            if len(seen) == 3:
                return

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0)
    await drive.write_file("/a", b"1")
    await drive.mkdir("/d")
    await drive.unlink("/a")
    await asyncio.wait_for(task, 5)
    assert seen == [("put", "/a"), ("put", "/d"), ("del", "/a")]
    assert updates == [1, 2, 3] and appended == ["/a"]
    await drive.close()


# ------------------------------------------------------------------------------------------------
# Feed interface, replicas


async def test_feed_interface(backend) -> None:
    drive = Hyperdrive(backend.open("d"))
    assert isinstance(drive, Feed) and drive.KIND == "hyperdrive" and drive.BLOCK0_TYPE == "hyperdrive"
    await drive.ready()
    assert drive.cores() == [drive.metadata, drive.content]
    assert drive.owns(drive.content.discovery_key) and drive.owns(drive.discovery_key)
    await drive.write_file("/x", b"x")
    # the first core elsewhere (a FeedStore's layout); the content stays under storage/content
    first = backend.open("first")
    replica = Hyperdrive(backend.open("rest"), key=drive.key, first_core_storage=first)
    await replica.ready()
    assert replica.cores() == [replica.metadata] and not replica.writable
    assert first.exists("key")
    # from_core: a drive around an already opened metadata core
    core = Hypercore(backend.open("core"), key=drive.key)
    await core.ready()
    wrapped = Hyperdrive.from_core(core, backend.open("core-rest"))
    assert wrapped.metadata is core and wrapped.key == drive.key
    await asyncio.wait_for(pipe(drive.replicate(), wrapped.replicate()).wait(), 10)
    assert await wrapped.read_file("/x") == b"x"
    assert wrapped.cores() == [core, wrapped.content]
    for d in (drive, replica, wrapped):
        await d.close()


async def test_reader_is_read_only(backend) -> None:
    drive = await new_drive(backend)
    await drive.write_file("/x", b"x")
    reader = await new_drive(backend, "reader", key=drive.key)
    await asyncio.wait_for(pipe(drive.replicate(), reader.replicate()).wait(), 10)
    for call in (reader.write_file("/y", b""), reader.mkdir("/d"), reader.unlink("/x"), reader.rmdir("/x")):
        with pytest.raises(ReadOnlyError):
            await call
    assert await reader.read_file("/x") == b"x"
    await reader.close()
    await drive.close()


async def test_sparse_reader_downloads_only_what_it_reads(backend) -> None:
    drive = await new_drive(backend)
    files = {f"/dir{i % 2}/f{i}": pattern(70_000 + i, i) for i in range(6)}
    for name, data in files.items():
        await drive.write_file(name, data)
    reader = await new_drive(backend, "sparse", key=drive.key, sparse=True)
    a, b = drive.replicate(live=True), reader.replicate(live=True)
    link = pipe(a, b)
    await asyncio.wait_for(reader.metadata.update(drive.metadata.length), 5)
    assert await asyncio.wait_for(reader.readdir("/dir1"), 5) == ["f1", "f3", "f5"]
    assert await asyncio.wait_for(reader.read_file("/dir0/f2"), 5) == files["/dir0/f2"]
    st2 = await reader.stat("/dir0/f2")
    assert reader.content.downloaded() == st2.blocks == 2
    assert await asyncio.wait_for(reader.download("/dir1"), 5) == 3
    assert reader.content.downloaded() == 2 + 3 * 2
    for name in ("/dir1/f1", "/dir1/f3", "/dir1/f5"):
        st_ = await reader.stat(name)
        assert reader.content.has(st_.offset, st_.offset + st_.blocks)
    # live: a change on the writer is seen by the reader
    seen = []

    async def consume():
        async for change in reader.watch():
            seen.append(change.name)
            return

    task = asyncio.ensure_future(consume())
    await drive.write_file("/late", b"late")
    await asyncio.wait_for(task, 5)
    assert seen == ["/late"] and await asyncio.wait_for(reader.read_file("/late"), 5) == b"late"
    a.destroy()
    b.destroy()
    await link.wait()
    await reader.close()
    await drive.close()


async def test_replica_learns_the_content_feed(backend) -> None:
    drive = await new_drive(backend)
    await drive.write_file("/x", b"x")
    reader = await new_drive(backend, "reader", key=drive.key)
    assert reader.content is None and reader.cores() == [reader.metadata]
    learned = []
    reader.on("content", lambda: learned.append(reader.content.key))
    await asyncio.wait_for(pipe(drive.replicate(), reader.replicate()).wait(), 10)
    await eventually(lambda: learned, what="content feed learned")
    assert learned == [drive.content.key] and reader.cores() == [reader.metadata, reader.content]
    assert await reader.read_file("/x") == b"x"
    await reader.close()
    reopened = await new_drive(backend, "reader", key=drive.key)
    assert reopened.content is not None and await reopened.read_file("/x") == b"x"
    await reopened.close()
    await drive.close()


async def test_sparse_metadata_fetches_only_the_nodes_a_lookup_needs(backend) -> None:
    drive = await new_drive(backend)
    for i in range(20):
        await drive.write_file(f"/d{i % 3}/f{i}", b"x%d" % i * 1000)
    reader = await new_drive(backend, "reader", key=drive.key, sparse=True, sparse_metadata=True)
    a, b = drive.replicate(live=True), reader.replicate(live=True)
    link = pipe(a, b)
    await asyncio.wait_for(reader._get_content(), 5)  # block 0 was asked for: the content feed is known
    await asyncio.wait_for(reader.metadata.update(drive.metadata.length), 5)
    assert await asyncio.wait_for(reader.read_file("/d1/f7"), 5) == b"x7" * 1000
    assert reader.metadata.downloaded() < drive.metadata.length // 2 and reader.content.downloaded() == 1
    a.destroy()
    b.destroy()
    await link.wait()
    await reader.close()
    await drive.close()
