"""Python Hyperdrive <-> real hyperdrive 9.16.0 over loopback TCP, both directions (js/hyperdrive-peer.js):

- a non-live clone of a tree of mixed files (nested directories, an empty file, an overwrite, a delete, a
  write stream's blocks, one file of 100 MiB), every file's sha256 compared;
- a sparse clone that reads one file downloads that file's content blocks and no other;
- live: a change written on one side is seen (and read) by the other.
"""

from __future__ import annotations

import asyncio
import hashlib
import json

from hyperparty.crypto import key_pair
from hyperparty.feeds.hyperdrive import Hyperdrive
from hyperparty.protocol import connect_tcp, serve_tcp
from hyperparty.storage import MemoryStorage, open_storage

from hyperdrive_ops import data_of, run_op, walk
from jsnode import NodeProcess

SEED = bytes([0x0B]) * 32
HUGE = 100 * 2**20
TREE = [
    ["writeFile", "/readme.md", {"text": "hello"}],
    ["mkdir", "/docs"],
    ["writeFile", "/docs/a.txt", {"text": "a"}],
    ["writeFile", "/docs/deep/b.bin", {"pattern": {"size": 300_000, "seed": 1}}],
    ["writeFile", "/empty", {"text": ""}],
    ["writeStream", "/s.log", [{"text": "x"}, {"text": "yz"}]],
    ["writeFile", "/docs/a.txt", {"text": "a, again"}],
    ["writeFile", "/gone", {"text": "g"}],
    ["unlink", "/gone"],
    ["writeFile", "/z/last.txt", {"text": "last"}],
]
WITH_HUGE = TREE[:5] + [["writeFile", "/big/huge.bin", {"pattern": {"size": HUGE, "seed": 2}}]] + TREE[5:]
SPARSE_FILE = "/docs/deep/b.bin"
LIVE_OP = ["writeFile", "/live/new.txt", {"text": "written while connected"}]


async def python_writer(ops, storage=None) -> Hyperdrive:
    drive = Hyperdrive(storage or MemoryStorage(), secret_key=key_pair(SEED)[1])
    await drive.ready()
    for op in ops:
        await run_op(drive, op)
    return drive


async def serve(drive: Hyperdrive, *, live: bool):
    server = await serve_tcp("127.0.0.1", 0, lambda: drive.replicate(live=live))
    return server, server.sockets[0].getsockname()[1]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def js_serve(ops, *extra):
    return NodeProcess("hyperdrive-peer.js", "--memory", "--seed", SEED.hex(), "--ops", json.dumps(ops), "--port", "0",
                       "--timeout-ms", "240000", *extra, start_timeout=60)


async def test_js_serves_python_clones_a_tree_with_a_100_mib_file(tmp_path) -> None:
    async with js_serve(WITH_HUGE) as js:
        info = await js.read_event("listening", timeout=60)
        clone = Hyperdrive(open_storage(f"file:{tmp_path / 'clone'}"), key=bytes.fromhex(info["key"]))
        task = await connect_tcp("127.0.0.1", info["port"], clone.replicate(live=False))
        error = await asyncio.wait_for(task, 120)
        if error is not None:
            end = await js.read_event("peer-end", timeout=10)
            raise AssertionError(f"replication failed here with {error!r}; the JS side ended with {end['error']!r}")
        await js.send_line("walk")
        expected = await js.read_event("walk", timeout=60)
    mine = await walk(clone)
    assert mine == {"readdir": expected["readdir"], "entries": expected["entries"]}
    assert mine["entries"]["/big/huge.bin"]["sha256"] == sha(data_of(WITH_HUGE[5][2]))
    assert clone.content.key.hex() == info["contentKey"] and clone.content.downloaded() == clone.content.length
    await clone.close()


async def test_python_serves_js_clones_a_tree_with_a_100_mib_file(tmp_path) -> None:
    drive = await python_writer(WITH_HUGE, open_storage(f"file:{tmp_path / 'py'}"))
    mine = await walk(drive)
    server, port = await serve(drive, live=False)
    try:
        async with NodeProcess("hyperdrive-peer.js", "--dir", tmp_path / "js", "--key", drive.key.hex(), "--connect",
                               f"127.0.0.1:{port}", "--walk", "--timeout-ms", "240000") as js:
            done = await js.read_event("walk", timeout=120)
            assert (await js.read_event("peer-end", timeout=10))["error"] is None
    finally:
        server.close()
    assert {"readdir": done["readdir"], "entries": done["entries"]} == mine
    assert done["contentDownloaded"] == done["contentLength"] == drive.content.length
    await drive.close()


async def test_python_sparse_clone_downloads_one_file() -> None:
    async with js_serve(TREE, "--live") as js:
        info = await js.read_event("listening")
        clone = Hyperdrive(MemoryStorage(), key=bytes.fromhex(info["key"]), sparse=True)
        stream = clone.replicate(live=True)
        await connect_tcp("127.0.0.1", info["port"], stream)
        await asyncio.wait_for(clone.metadata.update(info["version"] + 1), 10)
        data = await asyncio.wait_for(clone.read_file(SPARSE_FILE), 10)
        assert data == data_of(TREE[3][2])
        st = await clone.stat(SPARSE_FILE)
        assert clone.content.downloaded() == st.blocks == 5
        assert clone.content.has(st.offset, st.offset + st.blocks)
        assert clone.content.length > st.blocks  # there was more to fetch
        stream.destroy()
    await clone.close()


async def test_js_sparse_clone_downloads_one_file() -> None:
    drive = await python_writer(TREE)
    server, port = await serve(drive, live=True)
    st = await drive.stat(SPARSE_FILE)
    try:
        async with NodeProcess("hyperdrive-peer.js", "--memory", "--key", drive.key.hex(), "--sparse", "--live",
                               "--connect", f"127.0.0.1:{port}", "--read", SPARSE_FILE) as js:
            read = await js.read_event("read", timeout=20)
            await js.send_line("exit")
    finally:
        server.close()
    assert read["sha256"] == sha(data_of(TREE[3][2])) and read["size"] == st.size
    assert read["contentDownloaded"] == st.blocks == 5 and drive.content.length > 5
    await drive.close()


async def test_live_change_from_js_seen_by_python() -> None:
    async with js_serve(TREE, "--live") as js:
        info = await js.read_event("listening")
        clone = Hyperdrive(MemoryStorage(), key=bytes.fromhex(info["key"]))
        stream = clone.replicate(live=True)
        await connect_tcp("127.0.0.1", info["port"], stream)
        await asyncio.wait_for(clone.metadata.update(info["version"] + 1), 10)
        changes = clone.watch()
        await js.send_line("op " + json.dumps(LIVE_OP))
        await js.read_event("op-done")
        change = await asyncio.wait_for(changes.__anext__(), 10)
        assert (change.type, change.name) == ("put", "/live/new.txt")
        assert await asyncio.wait_for(clone.read_file("/live/new.txt"), 10) == data_of(LIVE_OP[2])
        await changes.aclose()
        stream.destroy()
    await clone.close()


async def test_live_change_from_python_seen_by_js() -> None:
    drive = await python_writer(TREE)
    server, port = await serve(drive, live=True)
    try:
        async with NodeProcess("hyperdrive-peer.js", "--memory", "--key", drive.key.hex(), "--live", "--watch",
                               "--connect", f"127.0.0.1:{port}", "--read", "/readme.md") as js:
            await js.read_event("read", timeout=20)  # the clone is up to date
            await run_op(drive, LIVE_OP)
            change = await js.read_event(lambda e: e.get("event") == "change" and e["name"] == "/live/new.txt", timeout=20)
            await js.send_line("exit")
    finally:
        server.close()
    assert change["type"] == "put" and change["sha256"] == sha(data_of(LIVE_OP[2]))
    await drive.close()
