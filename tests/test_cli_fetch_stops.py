"""``hyperparty core fetch`` never hangs without a word (issue 14): a peer holding only part of the feed,
``--end`` past the remote length, a storage holding the writable feed itself, a server that goes silent
after the handshake, a served block whose bit was cleared — each ends with a clear message and a non-zero
exit; progress keeps showing while it waits; an interrupted fetch says how much is stored, and a re-run
resumes from it."""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
import sys
import time

import pytest

from hyperparty.feeds import porcelain
from hyperparty.feeds.hypercore import Hypercore
from hyperparty.protocol.stream import ProtocolStream
from hyperparty.protocol.transport import serve_tcp
from hyperparty.storage import MemoryStorage, open_storage

CLI = [sys.executable, "-m", "hyperparty", "core"]
BLOCKS = [f"line {i}".encode() for i in range(20)]


async def run(*args: str, timeout: float = 60) -> tuple[int, list[dict], str, float]:
    began = time.monotonic()
    proc = await asyncio.create_subprocess_exec(*CLI, *args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode, [json.loads(x) for x in out.decode().splitlines()], err.decode(), time.monotonic() - began


async def writer(blocks=BLOCKS, storage=None) -> Hypercore:
    core = Hypercore(storage if storage is not None else MemoryStorage())
    await core.ready()
    await core.append(list(blocks))
    return core


async def test_a_partial_peer_gives_what_it_has_and_names_the_rest(tmp_path) -> None:
    source = await writer()
    part = Hypercore(open_storage(f"file:{tmp_path / 'part'}"), key=source.key, sparse=True)
    await part.ready()
    async with await porcelain.serve(source) as server:
        await porcelain.fetch(part, "127.0.0.1", server.port, timeout=5, until=lambda: part.download(0, 10))
    copy = f"file:{tmp_path / 'copy'}"
    async with await porcelain.serve(part) as server:
        code, out, err, took = await run("fetch", source.key.hex(), "--connect", f"127.0.0.1:{server.port}",
                                         "--storage", copy, "--timeout", "30")
    assert code == 1 and took < 20, err
    assert "10 wanted blocks are missing there (10-19" in err and "10 of 20 blocks are stored" in err
    # a re-run against a peer that has everything resumes (and completes)
    async with await porcelain.serve(source) as server:
        code, out, err, _ = await run("fetch", source.key.hex(), "--connect", f"127.0.0.1:{server.port}",
                                      "--storage", copy)
    assert code == 0, err
    assert out[-1]["sha256"] == hashlib.sha256(b"".join(BLOCKS)).hexdigest()
    await part.close()
    await source.close()


async def test_end_past_the_remote_length_says_the_valid_range() -> None:
    source = await writer()
    async with await porcelain.serve(source) as server:
        code, out, err, took = await run("fetch", source.key.hex(), "--connect", f"127.0.0.1:{server.port}",
                                         "--end", "30", "--timeout", "30")
    assert code == 1 and out == [] and took < 20
    assert "--end 30 is past the end of the feed: the peer has 20 blocks" in err
    assert "0 <= --start <= --end <= 20" in err
    await source.close()


async def test_fetching_into_the_writable_feed_itself_is_refused(tmp_path) -> None:
    storage = f"lmdb:{tmp_path / 'feed'}"
    source = await writer(storage=open_storage(storage))
    key = source.key.hex()
    async with await porcelain.serve(source) as server:
        port = server.port
        await source.close()
        code, out, err, took = await run("fetch", key, "--connect", f"127.0.0.1:{port}", "--storage", storage,
                                         "--timeout", "30")
    assert code == 1 and took < 20
    assert f"holds the writable feed {key} itself" in err


async def test_a_cleared_block_on_the_server_is_named_not_waited_for(tmp_path) -> None:
    spec = f"file:{tmp_path / 'feed'}"
    source = await writer(storage=open_storage(spec))
    key = source.key.hex()
    await source.close()
    path = tmp_path / "feed" / "bitfield"
    raw = bytearray(path.read_bytes())
    raw[32] &= ~(0x80 >> 5)  # block 5's bit
    path.write_bytes(bytes(raw))
    server = await asyncio.create_subprocess_exec(*CLI, "serve", "--storage", spec, stdout=asyncio.subprocess.PIPE,
                                                  stderr=asyncio.subprocess.PIPE)
    try:
        info = json.loads(await asyncio.wait_for(server.stdout.readline(), 20))
        code, out, err, took = await run("fetch", key, "--connect", f"127.0.0.1:{info['port']}", "--timeout", "30")
        assert code == 1 and took < 20, err
        assert "1 wanted blocks are missing there (5;" in err
    finally:
        server.send_signal(signal.SIGINT)
        await asyncio.wait_for(server.communicate(), 20)


async def test_a_damaged_block_on_the_server_is_named_not_fatal(tmp_path) -> None:
    spec = f"lmdb:{tmp_path / 'feed'}"
    source = await writer(storage=open_storage(spec))
    key = source.key.hex()
    offset = sum(len(b) for b in BLOCKS[:7]) + 1
    storage = source.storage
    with storage.transaction():
        data = storage.open("data")
        data.write(offset, bytes([data.read(offset, 1)[0] ^ 0x40]))
    async with await porcelain.serve(source) as server:
        code, out, err, took = await run("fetch", key, "--connect", f"127.0.0.1:{server.port}", "--timeout", "30")
        assert code == 1 and took < 20, err
        assert "1 wanted blocks are missing there (7;" in err and "19 of 20 blocks are stored" in err
        assert not source.has(7)  # the server stopped announcing it
    await source.close()


class _Silent:
    """A channel handler that answers nothing."""


async def silent_server(key: bytes, *, pings: bool):
    """A server that completes the handshake for ``key`` and then sends nothing (``pings``: not even
    keep-alives after the handshake... when False)."""

    def make() -> ProtocolStream:
        stream = ProtocolStream(timeout=5.0 if pings else None)
        stream.feed(key, handler=_Silent())
        return stream

    return await serve_tcp("127.0.0.1", 0, make)


@pytest.mark.parametrize("pings", [False, True], ids=["no-keep-alives", "keep-alives"])
async def test_a_server_silent_after_the_handshake_ends_the_fetch(pings: bool) -> None:
    key = (await writer([b"x"])).key
    server = await silent_server(key, pings=pings)
    port = server.sockets[0].getsockname()[1]
    try:
        code, out, err, took = await run("fetch", key.hex(), "--connect", f"127.0.0.1:{port}", "--timeout",
                                         "4" if pings else "30")
    finally:
        server.close()
    assert code == 1 and out == [] and took < 20, err
    if pings:  # alive but answering nothing: the fetch timeout, and progress kept showing meanwhile
        assert "nothing arrived from" in err and "for 4 s" in err and "never said which blocks it has" in err
        assert err.count("hyperparty: downloaded 0/") >= 2
    else:  # not even keep-alives: the protocol's keep-alive timeout
        assert "went silent" in err and "not even a keep-alive" in err
    assert "Traceback" not in err


class SlowCore(Hypercore):
    """A writer that takes a while per block it reads (so a fetch of it can be interrupted)."""

    def read_block(self, index: int) -> bytes:
        time.sleep(0.002)
        return super().read_block(index)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["sigint", "sigterm", "sigkill"])
async def test_an_interrupted_fetch_says_so_and_a_rerun_resumes(tmp_path, how: signal.Signals) -> None:
    blocks = [b"block %d " % i + bytes(200) for i in range(1500)]
    source = SlowCore(MemoryStorage())
    await source.append(blocks)
    copy = f"lmdb:{tmp_path / 'copy'}"
    async with await porcelain.serve(source) as server:
        proc = await asyncio.create_subprocess_exec(*CLI, "fetch", source.key.hex(), "--connect",
                                                    f"127.0.0.1:{server.port}", "--storage", copy,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        line = await asyncio.wait_for(proc.stderr.readline(), 30)  # the first progress line
        assert b"hyperparty: downloaded" in line, line
        proc.send_signal(how)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        if how != signal.SIGKILL:
            assert proc.returncode == 130 and out == b"", err
            assert b"fetch interrupted: " in err and b"run the same command again to resume" in err
            assert b"Traceback" not in err
        stored = Hypercore(copy, read_only=True)
        await stored.ready()
        have = stored.downloaded(0, len(blocks))
        await stored.close()
        assert 0 < have < len(blocks)
        code, out, err, _ = await run("fetch", source.key.hex(), "--connect", f"127.0.0.1:{server.port}",
                                      "--storage", copy)
    assert code == 0, err
    assert out[-1]["length"] == len(blocks) and out[-1]["sha256"] == hashlib.sha256(b"".join(blocks)).hexdigest()
    await source.close()
