"""Bad input to a Hyperdrive: a clear HyperdriveError, nothing written, the rest of the drive readable.

- paths with ``..`` (also a leading ``/../``, backslash-separated), a NUL byte, not a string;
- a Stat pointing past the content feed, or whose blocks hold fewer/more bytes than its size;
- a truncated content feed (data file cut short);
- corrupt metadata: an undecodable head node, a path index that does not inflate, points outside the
  tree or sends a lookup back up (JS would recurse forever), a value that is not a Stat, a block
  corrupted on disk, a block 0 that is not an Index.
Every test runs on every storage backend.
"""

from __future__ import annotations

import pytest

from hyperparty.feeds.hyperdrive import (
    ContentCorruptError,
    ContentRangeError,
    CorruptMetadataError,
    Hyperdrive,
    HyperdriveError,
    InvalidPathError,
)
from hyperparty.feeds.hyperdrive.messages import Node, Stat
from hyperparty.feeds.hyperdrive.path_index import deflate
from hyperparty.feeds.hyperdrive.stat import IFREG

from hyperdrive_ops import pattern


async def new_drive(backend, name: str = "drive") -> Hyperdrive:
    drive = Hyperdrive(backend.open(name))
    await drive.ready()
    return drive


def lengths(drive: Hyperdrive) -> tuple[int, int]:
    return drive.metadata.length, drive.content.length


async def append_node(drive: Hyperdrive, name: str, value: bytes | None, paths: bytes | None) -> int:
    return await drive.metadata.append(Node(name=name, value=value, paths=paths).encode())


def file_stat(**fields) -> bytes:
    base = dict(mode=IFREG | 0o644, uid=0, gid=0, size=0, blocks=0, offset=0, byteOffset=0, mtime=1, ctime=1)
    base.update(fields)
    return Stat(**base).encode()


BAD_PATHS = ["..", "/../etc/passwd", "a/../../b", "/a/..", "a\\..\\b", "/x/../y", "a\0b", "\0", b"/bytes", None]


@pytest.mark.parametrize("bad", BAD_PATHS, ids=repr)
async def test_bad_paths_are_refused(backend, bad) -> None:
    drive = await new_drive(backend)
    await drive.write_file("/ok", b"ok")
    before = lengths(drive)
    calls = [
        lambda: drive.write_file(bad, b"data"), lambda: drive.mkdir(bad), lambda: drive.unlink(bad),
        lambda: drive.rmdir(bad), lambda: drive.read_file(bad), lambda: drive.stat(bad), lambda: drive.lstat(bad),
        lambda: drive.readdir(bad), lambda: drive.exists(bad), lambda: drive.open(bad, "wb"),
        lambda: drive.open(bad, "rb"), lambda: drive.download(bad),
    ]
    for call in calls:
        with pytest.raises(InvalidPathError):
            await call()
    assert lengths(drive) == before
    assert await drive.read_file("/ok") == b"ok"
    await drive.close()


async def test_stat_past_the_content_feed(backend) -> None:
    drive = await new_drive(backend)
    await drive.write_file("/good", b"good")
    await drive._tree.put(("evil",), file_stat(size=10, blocks=5, offset=100, byteOffset=4))
    await drive._tree.put(("short",), file_stat(size=100, blocks=1, offset=0, byteOffset=0))
    await drive._tree.put(("long",), file_stat(size=2, blocks=1, offset=0, byteOffset=0))
    before = lengths(drive)
    for name in ("/evil", "/short", "/long"):
        with pytest.raises(ContentRangeError):
            await drive.read_file(name)
        assert (await drive.stat(name)).is_file()
    with pytest.raises(ContentRangeError):
        await drive.download("/evil")
    assert await drive.read_file("/long", end=1) == b"g"  # a range short of the stat's size is not checked
    assert await drive.read_file("/good") == b"good"
    assert sorted(await drive.readdir("/")) == ["evil", "good", "long", "short"]
    assert lengths(drive) == before
    await drive.close()


async def test_truncated_content_feed(backend) -> None:
    drive = await new_drive(backend)
    first, second = pattern(100_000, 1), pattern(100_000, 2)
    await drive.write_file("/first", first)
    await drive.write_file("/second", second)
    await drive.close()
    backend.patch("content/data", lambda f: f.truncate(len(first) + 65536 + 1000), name="drive")
    drive = await new_drive(backend)
    before = lengths(drive)
    assert await drive.read_file("/first") == first
    with pytest.raises(ContentCorruptError):
        await drive.read_file("/second")
    assert await drive.read_file("/second", end=65536) == second[:65536]  # its first block is intact
    async with drive.open("/second") as f:
        assert await f.read(70_000) == second[:65536]  # what can be verified, then the error
        with pytest.raises(ContentCorruptError):
            await f.read(10)
    assert (await drive.stat("/second")).size == len(second)
    assert lengths(drive) == before
    await drive.close()


async def test_undecodable_head_node(backend) -> None:
    drive = await new_drive(backend)
    await drive.write_file("/a", b"a")
    await drive.metadata.append(b"\xff\xff\xff")
    before = lengths(drive)
    for call in (drive.stat("/a"), drive.readdir("/"), drive.read_file("/a"), drive.write_file("/b", b"b"),
                 drive.mkdir("/d"), drive.unlink("/a")):
        with pytest.raises(CorruptMetadataError):
            await call
    assert lengths(drive) == before  # not even the content of /b was appended
    assert await drive.checkout(1).read_file("/a") == b"a"
    with pytest.raises(CorruptMetadataError):
        [c async for c in drive.history()]
    await drive.close()


async def test_bad_path_index_is_local_to_its_branch(backend) -> None:
    drive = await new_drive(backend)
    await drive.write_file("/a/file", b"a")  # block 1
    bad = await append_node(drive, "/x/y", file_stat(), b"\x01\x05")  # block 2: a list of 5 seqs, no bytes
    head = drive.metadata.length
    await append_node(drive, "/z", file_stat(), deflate(head, [[1, bad, head], [head]]))
    assert await drive.readdir("/") == ["a", "x", "z"]
    assert await drive.read_file("/a/file") == b"a"
    assert (await drive.stat("/x/y")).is_file()  # the node itself is fine, only its index is not
    with pytest.raises(CorruptMetadataError):
        await drive.readdir("/x")
    with pytest.raises(CorruptMetadataError):
        await drive.stat("/x/other")
    await drive.close()


@pytest.mark.parametrize("index", [[[0, 1]], [[1, 5]], [[3]]], ids=["block-0", "future", "self-only-bad"])
async def test_path_index_outside_the_tree(backend, index) -> None:
    drive = await new_drive(backend)
    await drive.write_file("/a", b"a")
    seq = drive.metadata.length
    paths = deflate(seq, [list(i) for i in index]) if index != [[3]] else b"\x00\x01\x09"
    await append_node(drive, "/b", file_stat(), paths)
    with pytest.raises(CorruptMetadataError):
        await drive.readdir("/")
    assert await drive.checkout(1).readdir("/") == ["a"]
    await drive.close()


async def test_lookup_that_goes_back_up(backend) -> None:
    drive = await new_drive(backend)
    await drive.write_file("/start", b"s")  # block 1
    z = await append_node(drive, "/z/c", file_stat(), deflate(2, [[1, 2], [1, 2], [2]]))  # lists /z pointing at /start
    head = drive.metadata.length
    await append_node(drive, "/a/b", file_stat(), deflate(head, [[head], [z, head], [head]]))
    with pytest.raises(CorruptMetadataError):
        await drive.stat("/a/c/d")  # /a's list names /z/c as the child "c": no progress
    with pytest.raises(CorruptMetadataError):
        await drive.readdir("/a/c")
    assert (await drive.stat("/a/b")).is_file()
    await drive.close()


async def test_value_that_is_not_a_stat(backend) -> None:
    drive = await new_drive(backend)
    await drive.write_file("/good", b"g")
    await drive._tree.put(("empty",), b"")  # present but empty: a put whose Stat lacks the required mode
    await drive._tree.put(("junk",), b"\xff")
    for name in ("/empty", "/junk"):
        with pytest.raises(CorruptMetadataError):
            await drive.stat(name)
        with pytest.raises(CorruptMetadataError):
            await drive.read_file(name)
    assert await drive.readdir("/") == ["good", "empty", "junk"]
    assert await drive.read_file("/good") == b"g"
    await drive.close()


async def test_metadata_corrupted_on_disk(backend) -> None:
    drive = await new_drive(backend)
    await drive.write_file("/a", b"a")
    await drive.write_file("/b", b"b")
    await drive.close()

    def flip(f):  # the first byte of block 1 (after the 46-byte Index)
        f.write(46, bytes([f.read(46, 1)[0] ^ 0xFF]))

    backend.patch("metadata/data", flip, name="drive")
    drive = await new_drive(backend)
    before = lengths(drive)
    with pytest.raises(CorruptMetadataError):
        await drive.readdir("/")
    with pytest.raises(CorruptMetadataError):
        await drive.write_file("/c", b"c")
    assert await drive.read_file("/b") == b"b"  # the head and its own path do not need block 1
    assert lengths(drive) == before
    await drive.close()


async def test_block0_not_an_index(backend) -> None:
    from hyperparty.feeds.hypercore import Hypercore

    core = Hypercore(backend.open("drive").sub("metadata"))
    await core.append([b"not an index", Node(name="/f", value=file_stat(size=1, blocks=1), paths=deflate(1, [[1], [1]])).encode()])
    await core.close()
    drive = Hyperdrive(backend.open("drive"))
    await drive.ready()
    assert drive.content is None
    assert await drive.readdir("/") == ["f"] and (await drive.stat("/f")).size == 1
    for call in (drive.read_file("/f"), drive.write_file("/g", b"g"), drive.download("/")):
        with pytest.raises(CorruptMetadataError):
            await call
    assert drive.metadata.length == 2
    await drive.close()


def test_every_error_is_a_hyperdrive_error() -> None:
    import hyperparty.feeds.hyperdrive as hd

    for name in hd.errors.__all__:
        assert issubclass(getattr(hd, name), HyperdriveError)
