"""The fetcher against a hostile server (issue 12): a ``Want(0, 2**33)`` from the server, or silence after
the handshake.  Before: the fetcher peaked at 2.1 GB (256 MiB traced at 2**30), then hung; a silent
server hung it forever.  Now the replication layer never allocates for a number the server sent, and a
silent server is dropped by the keep-alive (``core fetch``'s own exit on silence is issue 14)."""

from __future__ import annotations

import asyncio
import contextlib
import os

import pytest

from hostile import MiB, Watch, no_tasks_left
from hyperparty.clock import ManualClock
from hyperparty.crypto import discovery_key
from hyperparty.feeds import porcelain
from hyperparty.feeds.hypercore import Hypercore
from hyperparty.protocol import messages as m
from hyperparty.protocol import transport
from hyperparty.protocol.wire import Wire


async def hostile_server(key: bytes, first: list):
    """A server that opens the feed, handshakes, sends ``first`` and then nothing at all (no pings)."""
    handlers: list[asyncio.Task] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.current_task())  # type: ignore[arg-type]
        w = Wire()
        w.start(key, discovery_key(key), os.urandom(24))
        w.send(0, m.Handshake(os.urandom(32), False, None, [], False))
        for message in first:
            w.send(0, message)
        writer.write(w.data_to_send())
        with contextlib.suppress(ConnectionError, OSError):
            while await reader.read(65536):
                pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, handlers


@pytest.mark.parametrize("first", [[m.Want(0, 2**33)], [m.Want(0, 2**40), m.Have(0, 2**40)], []],
                         ids=["want-2**33", "want-and-have-2**40", "silence"])
async def test_a_hostile_server_cannot_exhaust_or_hang_the_fetcher(first, monkeypatch):
    clock = ManualClock()
    monkeypatch.setattr(transport, "default_clock", lambda: clock)
    before = asyncio.all_tasks()
    writer = Hypercore("memory")
    await writer.ready()
    server, handlers = await hostile_server(writer.key, first)
    port = server.sockets[0].getsockname()[1]
    replica = Hypercore("memory", key=writer.key)
    await replica.ready()
    async with Watch() as watch:
        fetch = asyncio.ensure_future(porcelain.fetch(replica, "127.0.0.1", port, timeout=600))
        await asyncio.sleep(0.5)
        assert not fetch.done()
        for _ in range(8):  # 10 s of keep-alive clock: more than 4 ticks unheard
            await clock.advance(1.25)
        with pytest.raises(porcelain.ReplicationFailed) as failed:
            await asyncio.wait_for(fetch, 5)
    assert "went silent" in str(failed.value) or "Remote timed out" in str(failed.value)
    assert watch.peak < 16 * MiB, watch.peak
    await asyncio.wait_for(asyncio.gather(*handlers), 5)
    server.close()
    await server.wait_closed()
    await replica.close()
    await writer.close()
    await no_tasks_left(before)

