"""`hyperparty core serve` and `hyperparty core fetch` as processes over loopback TCP."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys

CLI = [sys.executable, "-m", "hyperparty.cli", "core"]


async def run(*args: str, timeout: float = 30) -> tuple[int, list[dict], str]:
    proc = await asyncio.create_subprocess_exec(*CLI, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode, [json.loads(x) for x in out.decode().splitlines()], err.decode()


async def test_serve_then_fetch_whole_feed_range_and_live(tmp_path):
    feed = f"file:{tmp_path / 'feed'}"
    rc, lines, err = await run("init", "--storage", feed)
    assert rc == 0, err
    blocks = [f"line {i}".encode() for i in range(50)]
    proc = await asyncio.create_subprocess_exec(*CLI, "append", "--storage", feed, stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(b"\n".join(blocks) + b"\n"), 30)
    assert proc.returncode == 0, err.decode()
    server = await asyncio.create_subprocess_exec(*CLI, "serve", "--storage", feed, "--live", "--append-stdin",
                                                  stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                  stderr=asyncio.subprocess.PIPE)
    try:
        info = json.loads(await asyncio.wait_for(server.stdout.readline(), 20))
        assert info["length"] == 50 and len(info["key"]) == 64
        where = f"127.0.0.1:{info['port']}"

        rc, lines, err = await run("fetch", info["key"], "--connect", where, "--storage", f"lmdb:{tmp_path / 'copy'}")
        assert rc == 0, err
        assert lines[-1]["length"] == 50
        assert lines[-1]["sha256"] == hashlib.sha256(b"".join(blocks)).hexdigest()

        rc, lines, err = await run("fetch", info["key"], "--connect", where, "--start", "10", "--end", "20")
        assert rc == 0, err
        assert lines[-1]["sha256"] == hashlib.sha256(b"".join(blocks[10:20])).hexdigest()

        live = await asyncio.create_subprocess_exec(*CLI, "fetch", info["key"], "--connect", where, "--live",
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            seen = set()
            while len(seen) < 50:
                seen.add(json.loads(await asyncio.wait_for(live.stdout.readline(), 20))["seq"])
            server.stdin.write(b"appended while live\n")
            await server.stdin.drain()
            while True:
                line = json.loads(await asyncio.wait_for(live.stdout.readline(), 20))
                if line["seq"] == 50:
                    assert line["data"] == "appended while live"
                    break
        finally:
            live.kill()
            await live.wait()
    finally:
        server.kill()
        await server.wait()


async def test_fetch_errors_are_clear():
    rc, lines, err = await run("fetch", "ab" * 32, "--connect", "127.0.0.1:1")
    assert rc == 1 and "cannot connect" in err and lines == []
    rc, lines, err = await run("fetch", "nothex", "--connect", "127.0.0.1:1")
    assert rc == 1 and "KEY is not hex" in err


async def test_fetch_from_a_silent_or_wrong_server_ends_with_a_clear_error(tmp_path):
    async def silent(reader, writer):
        await reader.read()
        writer.close()

    listener = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        rc, lines, err = await run("fetch", "ab" * 32, "--connect", f"127.0.0.1:{port}", "--timeout", "0.5")
        assert rc == 1 and "nothing arrived from" in err and lines == []
    finally:
        listener.close()

    server = await asyncio.create_subprocess_exec(*CLI, "serve", "--storage", "memory", stdout=asyncio.subprocess.PIPE,
                                                  stderr=asyncio.subprocess.PIPE)
    try:
        info = json.loads(await asyncio.wait_for(server.stdout.readline(), 20))
        rc, lines, err = await run("fetch", "cd" * 32, "--connect", f"127.0.0.1:{info['port']}")
        assert rc == 1 and "First shared hypercore must be the same" in err and lines == []
    finally:
        server.kill()
        await server.wait()
    rc, lines, err = await run("fetch", "ab" * 32, "--connect", "127.0.0.1:1", "--timeout", "0")
    assert rc == 1 and "--timeout must be > 0" in err
