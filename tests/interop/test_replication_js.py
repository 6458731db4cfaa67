"""Replication between Python and real JS hypercore 7.7.1 + hypercore-protocol 6.12.0, over loopback TCP,
in all four directions: Python serves -> JS fetches, JS serves -> Python fetches, live appends both ways,
sparse range fetches both ways.  (JS side: js/core-serve.js and js/core-fetch.js.)
"""

from __future__ import annotations

import asyncio
import hashlib


from hyperparty.feeds.hypercore import Hypercore
from hyperparty.protocol import connect_tcp, serve_tcp
from hyperparty.storage import MemoryStorage, open_storage
from jsnode import NodeProcess, find_event, run_node

BLOCKS = [f"block number {i}".encode() for i in range(120)] + [b"", bytes(range(256)) * 300]


async def python_writer(blocks, storage=None) -> Hypercore:
    core = Hypercore(storage or MemoryStorage())
    await core.ready()
    await core.append(list(blocks))
    return core


async def serve(core: Hypercore, *, live: bool):
    server = await serve_tcp("127.0.0.1", 0, lambda: core.replicate(live=live))
    return server, server.sockets[0].getsockname()[1]


async def test_python_serves_js_fetches_non_live_on_files(tmp_path):
    core = await python_writer(BLOCKS, open_storage(f"file:{tmp_path / 'py'}"))
    server, port = await serve(core, live=False)
    try:
        events = await asyncio.to_thread(run_node, "core-fetch.js", "--key", core.key.hex(), "--connect",
                                         f"127.0.0.1:{port}", "--dir", tmp_path / "js", timeout=30)
    finally:
        server.close()
    done = find_event(events, "done")
    assert done["error"] is None and done["length"] == len(BLOCKS)
    assert [bytes.fromhex(b) for b in done["blocks"]] == BLOCKS
    assert done["sha256"] == hashlib.sha256(b"".join(BLOCKS)).hexdigest()
    await core.close()


async def test_js_serves_python_fetches_non_live():
    blocks_hex = ",".join(b.hex() for b in BLOCKS[:60])
    async with NodeProcess("core-serve.js", "--memory", "--seed", "07" * 32, "--batch", "--blocks-hex", blocks_hex,
                           "--port", "0") as js:
        info = await js.read_event("listening")
        reader = Hypercore(MemoryStorage(), key=bytes.fromhex(info["key"]))
        await reader.ready()
        task = await connect_tcp("127.0.0.1", info["port"], reader.replicate())
        assert await asyncio.wait_for(task, 15) is None
        assert reader.length == 60
        assert [await reader.get(i) for i in range(60)] == BLOCKS[:60]
        await js.read_event(lambda e: e.get("event") == "peer-end" and e.get("error") is None, timeout=10)


async def test_live_appends_python_writer_to_js_reader():
    core = await python_writer(BLOCKS[:2])
    server, port = await serve(core, live=True)
    try:
        async with NodeProcess("core-fetch.js", "--key", core.key.hex(), "--connect", f"127.0.0.1:{port}", "--live",
                               "--expect-length", "7") as js:
            await js.read_event("handshake", timeout=10)
            for b in BLOCKS[2:7]:
                await core.append(b)
                await asyncio.sleep(0.02)
            done = await js.read_event("done", timeout=15)
            assert [bytes.fromhex(b) for b in done["blocks"]] == BLOCKS[:7]
    finally:
        server.close()


async def test_live_appends_js_writer_to_python_reader():
    async with NodeProcess("core-serve.js", "--memory", "--seed", "08" * 32, "--live", "--port", "0", "first") as js:
        info = await js.read_event("listening")
        reader = Hypercore(MemoryStorage(), key=bytes.fromhex(info["key"]))
        await reader.ready()
        stream = reader.replicate(live=True)
        await connect_tcp("127.0.0.1", info["port"], stream)
        await asyncio.wait_for(reader.update(1), 10)
        for text in ("second", "third"):
            await js.send_line(f"append {text}")
        await asyncio.wait_for(reader.update(3), 10)
        assert [await asyncio.wait_for(reader.get(i), 5) for i in range(3)] == [b"first", b"second", b"third"]
        stream.destroy()


async def test_js_sparse_range_from_python_server():
    core = await python_writer(BLOCKS)
    server, port = await serve(core, live=True)
    try:
        events = await asyncio.to_thread(run_node, "core-fetch.js", "--key", core.key.hex(), "--connect",
                                         f"127.0.0.1:{port}", "--sparse", "--start", "30", "--end", "40", timeout=30)
    finally:
        server.close()
    done = find_event(events, "done")
    got = {i: b for i, b in enumerate(done["blocks"]) if b is not None}
    assert sorted(got) == list(range(30, 40))
    assert all(bytes.fromhex(got[i]) == BLOCKS[i] for i in got)


async def test_python_sparse_range_from_js_server():
    blocks_hex = ",".join(b.hex() for b in BLOCKS[:100])
    async with NodeProcess("core-serve.js", "--memory", "--seed", "09" * 32, "--batch", "--blocks-hex", blocks_hex,
                           "--live", "--port", "0") as js:
        info = await js.read_event("listening")
        reader = Hypercore(MemoryStorage(), key=bytes.fromhex(info["key"]), sparse=True)
        await reader.ready()
        stream = reader.replicate(live=True)
        await connect_tcp("127.0.0.1", info["port"], stream)
        await asyncio.wait_for(reader.download(50, 60), 10)
        assert await asyncio.wait_for(reader.get(75), 10) == BLOCKS[75]
        await asyncio.sleep(0.1)
        assert [i for i in range(100) if reader.has(i)] == [*range(50, 60), 75]
        stream.destroy()


async def test_cli_fetch_from_js_server(tmp_path):
    """`hyperparty core fetch` against a JS server prints the sha256 of what it verified."""
    import json
    import sys

    blocks_hex = ",".join(b.hex() for b in BLOCKS[:30])
    async with NodeProcess("core-serve.js", "--memory", "--seed", "0a" * 32, "--batch", "--blocks-hex", blocks_hex,
                           "--port", "0") as js:
        info = await js.read_event("listening")
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hyperparty.cli", "core", "fetch", info["key"], "--connect",
            f"127.0.0.1:{info['port']}", "--storage", f"lmdb:{tmp_path / 'f'}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    result = json.loads(out.decode().splitlines()[-1])
    assert result["length"] == 30 and result["sha256"] == hashlib.sha256(b"".join(BLOCKS[:30])).hexdigest()
