"""``hyperparty.feeds.porcelain``: serve/fetch of any Feed over loopback TCP, the library behind every
``<group> serve|fetch`` command (in-process; the commands themselves are in test_cli_replicate.py)."""

from __future__ import annotations

import asyncio
import socket
from typing import Sequence

import pytest

from hyperparty.feeds import Feed
from hyperparty.feeds import porcelain
from hyperparty.feeds.hypercore import Hypercore
from hyperparty.storage import MemoryStorage

from pair_feed import PairFeed
from util import eventually

BLOCKS = [f"block {i}".encode() * (i % 7 + 1) for i in range(40)]


async def writer(blocks: Sequence[bytes] = BLOCKS, storage=None) -> Hypercore:
    core = Hypercore(storage if storage is not None else MemoryStorage())
    await core.ready()
    if blocks:
        await core.append(list(blocks))
    return core


class OneCoreFeed(Feed):
    """A feed with nothing but the abstract interface (no ``opened``): the base class replicates it."""

    def __init__(self, core: Hypercore) -> None:
        super().__init__()
        self.core = core

    @property
    def key(self) -> bytes:
        return self.core.key

    @property
    def discovery_key(self) -> bytes:
        return self.core.discovery_key

    async def ready(self) -> None:
        await self.core.ready()

    async def close(self) -> None:
        await self.core.close()

    def cores(self) -> Sequence[Hypercore]:
        return [self.core]


@pytest.mark.parametrize("live", [False, True])
async def test_fetch_a_feed_whose_second_core_is_learned(live: bool) -> None:
    source = PairFeed(MemoryStorage())
    for block in BLOCKS:
        await source.append(block)
    async with await porcelain.serve(source, live=live) as server:
        replica = PairFeed(MemoryStorage(), key=source.key)
        if live:
            fetching = asyncio.ensure_future(porcelain.fetch(replica, "127.0.0.1", server.port, live=True, timeout=5))
            await eventually(lambda: replica.body is not None and replica.body.has(0, len(BLOCKS)), 10, "body")
            await source.append(b"appended while live")
            await eventually(lambda: replica.body.has(len(BLOCKS)), 10, "live body block")
            server.close()
            try:
                result = await asyncio.wait_for(fetching, 10)
            except porcelain.FetchError:  # a reset instead of an orderly close: an error, never a hang
                result = None
        else:
            result = await asyncio.wait_for(porcelain.fetch(replica, "127.0.0.1", server.port, timeout=5), 20)
    assert replica.body is not None and replica.body.key == source.body.key
    assert [await replica.body.get(i) for i in range(len(BLOCKS))] == BLOCKS
    if result is not None:  # the learned core's blocks are counted too
        assert result.blocks == 1 + len(BLOCKS) + live
    await replica.close()
    await source.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_fetch_whole_feed_non_live(backend) -> None:
    source = await writer(storage=backend.open("source"))
    listening: list[tuple[str, int]] = []
    connections = []
    async with await porcelain.serve(source, "127.0.0.1", 0, on_listening=lambda h, p: listening.append((h, p)),
                                     on_connection=connections.append) as server:
        assert listening == [("127.0.0.1", server.port)] and server.port > 0
        replica = Hypercore(backend.open("replica"), key=source.key)
        seen = []
        result = await porcelain.fetch(replica, "127.0.0.1", server.port, timeout=5, progress=seen.append)
        assert len(connections) == 1
    assert result.blocks == len(BLOCKS) and result.bytes == sum(map(len, BLOCKS))
    assert [await replica.get(i) for i in range(replica.length)] == BLOCKS
    assert [p.blocks for p in seen] == list(range(1, len(BLOCKS) + 1)) and seen[-1].total == len(BLOCKS)
    assert replica.listener_count("download") == replica.listener_count("remote-update") == 0  # let go

    again = await asyncio.wait_for(_refetch(source, replica), 10)  # up to date: nothing to download
    assert again.blocks == 0
    await replica.close()
    await source.close()


async def _refetch(source: Hypercore, replica: Hypercore) -> porcelain.FetchResult:
    async with await porcelain.serve(source) as server:
        return await porcelain.fetch(replica, "127.0.0.1", server.port, timeout=5)


async def test_minimal_feed_on_both_ends() -> None:
    source = OneCoreFeed(await writer())
    async with await porcelain.serve(source) as server:
        replica = OneCoreFeed(Hypercore(MemoryStorage(), key=source.key))
        result = await porcelain.fetch(replica, "127.0.0.1", server.port, timeout=5)
    assert result.blocks == len(BLOCKS) and replica.core.length == len(BLOCKS)
    await replica.close()
    await source.close()


async def test_until_fetches_only_a_range() -> None:
    source = await writer()
    async with await porcelain.serve(source, live=True) as server:
        replica = Hypercore(MemoryStorage(), key=source.key, sparse=True)
        result = await porcelain.fetch(replica, "127.0.0.1", server.port, timeout=5,
                                       until=lambda: replica.download(10, 20))
    assert result.blocks == 10
    assert [i for i in range(len(BLOCKS)) if replica.has(i)] == list(range(10, 20))
    await replica.close()
    await source.close()


async def test_live_fetch_gets_new_blocks_and_ends_with_the_connection() -> None:
    source = await writer(BLOCKS[:5])
    server = await porcelain.serve(source, live=True)
    replica = Hypercore(MemoryStorage(), key=source.key)
    fetching = asyncio.ensure_future(porcelain.fetch(replica, "127.0.0.1", server.port, live=True, timeout=5))
    await eventually(lambda: replica.length == 5 and replica.has(0, 5), what="first blocks")
    await source.append(BLOCKS[5:8])
    await eventually(lambda: replica.has(0, 8), what="live blocks")
    assert not fetching.done()
    server.close()
    try:
        result = await asyncio.wait_for(fetching, 10)
        assert result.blocks == 8
    except porcelain.FetchError:
        pass  # a reset instead of an orderly close is an error, but never a hang
    await replica.close()
    await source.close()


async def test_connection_refused_is_clear() -> None:
    replica = Hypercore(MemoryStorage(), key=bytes(32))
    port = free_port()
    with pytest.raises(porcelain.ConnectFailed, match=f"cannot connect to 127.0.0.1:{port}"):
        await porcelain.fetch(replica, "127.0.0.1", port, timeout=5)
    await replica.close()


async def test_silent_server_times_out() -> None:
    ended = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers
        writer.close()
        ended.set()

    listener = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    replica = Hypercore(MemoryStorage(), key=bytes(32))
    try:
        with pytest.raises(porcelain.FetchTimeout, match="nothing arrived"):
            await asyncio.wait_for(porcelain.fetch(replica, "127.0.0.1", port, timeout=0.5), 10)
        await asyncio.wait_for(ended.wait(), 5)  # the handler ends on our close: no task left behind
    finally:
        listener.close()
        await replica.close()


async def test_server_of_another_feed_is_an_error() -> None:
    other = await writer(BLOCKS[:3])
    async with await porcelain.serve(other) as server:
        replica = Hypercore(MemoryStorage(), key=(await writer([])).key)
        with pytest.raises(porcelain.ReplicationFailed, match="First shared hypercore must be the same"):
            await asyncio.wait_for(porcelain.fetch(replica, "127.0.0.1", server.port, timeout=5), 10)
    await replica.close()
    await other.close()


@pytest.mark.parametrize("ranged", [False, True])
async def test_remote_closing_at_once_is_an_error(ranged: bool) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    listener = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    replica = Hypercore(MemoryStorage(), key=bytes(32), sparse=ranged)
    until = (lambda: replica.download(0, 5)) if ranged else None
    try:
        with pytest.raises(porcelain.RemoteClosed, match="ended before"):
            await asyncio.wait_for(porcelain.fetch(replica, "127.0.0.1", port, timeout=5, until=until), 10)
    finally:
        listener.close()
        await replica.close()


async def test_remote_killed_mid_fetch_is_an_error() -> None:
    """A server that dies after serving some blocks: the fetch fails instead of reporting success."""
    source = await writer([bytes(64 * 1024)] * 64)
    served = asyncio.Event()
    server = await porcelain.serve(source, on_connection=lambda stream: served.set())
    replica = Hypercore(MemoryStorage(), key=source.key)
    replica.on("download", lambda i, data: server.close() if i >= 3 else None)
    with pytest.raises(porcelain.FetchError):
        await asyncio.wait_for(porcelain.fetch(replica, "127.0.0.1", server.port, timeout=5), 10)
    assert served.is_set() and 0 < replica.downloaded() < 64
    await replica.close()
    await source.close()


async def test_listening_on_a_busy_port_is_clear() -> None:
    source = await writer(BLOCKS[:1])
    async with await porcelain.serve(source) as server:
        with pytest.raises(porcelain.ServeFailed, match=f"cannot listen on 127.0.0.1:{server.port}"):
            await porcelain.serve(source, "127.0.0.1", server.port)
    await source.close()


async def test_remote_ending_gracefully_mid_fetch_is_remote_closed() -> None:
    """An orderly end before every announced block arrived: RemoteClosed, with how many blocks came."""
    source = await writer([bytes(64 * 1024)] * 64)
    streams = []
    server = await porcelain.serve(source, on_connection=streams.append)
    source.on("upload", lambda i, data, peer: streams[0].finalize() if i >= 3 else None)
    replica = Hypercore(MemoryStorage(), key=source.key)
    try:
        with pytest.raises(porcelain.RemoteClosed, match=r"ended with \d+ of 64 blocks"):
            await asyncio.wait_for(porcelain.fetch(replica, "127.0.0.1", server.port, timeout=5), 10)
    finally:
        server.close()
    assert 0 < replica.downloaded() < 64
    await replica.close()
    await source.close()


def test_porcelain_does_not_load_the_party_or_the_command_line() -> None:
    import subprocess
    import sys

    code = ("import sys, hyperparty.feeds.porcelain; "
            "bad = [m for m in sys.modules if m.startswith(('hyperparty.party', 'hyperparty.cli'))]; "
            "assert not bad, bad")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
