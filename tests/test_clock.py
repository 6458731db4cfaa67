"""Every timeout runs on one injected clock: a ManualClock makes keep-alive and transaction timeouts
deterministic and instant (no test sleeps through them)."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from hyperparty.clock import ManualClock
from hyperparty.party import Party, Rules, TransactionTimeout
from hyperparty.protocol.errors import RemoteTimeout
from hyperparty.protocol.stream import ProtocolStream
from hyperparty.protocol.transport import connect_tcp, pipe, wait_closed

pytestmark = pytest.mark.timeout(20)


async def test_manual_clock_runs_timers_in_deadline_order_and_wakes_sleepers() -> None:
    clock = ManualClock()
    seen = []
    clock.call_later(2, seen.append, "b")
    clock.call_later(1, seen.append, "a")
    cancelled = clock.call_later(1.5, seen.append, "never")
    cancelled.cancel()
    sleeper = asyncio.ensure_future(clock.sleep(3))
    await asyncio.sleep(0)
    await clock.advance(2.5)
    assert seen == ["a", "b"] and not sleeper.done() and clock.now() == 2.5
    await clock.advance(0.5)
    assert sleeper.done()
    assert clock.pending == 0


async def test_keep_alive_timeout_on_the_injected_clock() -> None:
    """A TCP peer that accepts and then says nothing is dropped after 5 silent ticks of the clock."""

    async def silent(reader, writer):
        await reader.read()  # read until the client gives up; never write

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    clock = ManualClock()
    stream = ProtocolStream(timeout=4.0)
    stream.feed(b"\x01" * 32)
    task = await connect_tcp("127.0.0.1", port, stream, clock=clock)
    await asyncio.sleep(0.05)
    assert not stream.destroyed
    for _ in range(4):
        await clock.advance(1.0)  # one tick per timeout / 4
    assert not stream.destroyed  # 4 silent ticks are tolerated
    await clock.advance(2.0)
    err = await asyncio.wait_for(task, 5)
    assert isinstance(err, RemoteTimeout)
    server.close()
    await server.wait_closed()


class _Silent(Rules):
    """Never answers requests (the answer hook waits forever)."""

    name = "silent"
    transaction_timeout = 30.0

    async def handshake(self, peer):
        pass

    async def find_feed(self, peer, discovery_key):
        return None

    async def on_request(self, peer, type, value):
        await asyncio.Event().wait()


async def test_transaction_timeout_on_the_party_clock() -> None:
    clock = ManualClock()
    key = secrets.token_bytes(32)
    alice, bob = Party(key, _Silent(), clock=clock), Party(key, _Silent())
    a, b = alice.replicate(live=True), bob.replicate(live=True)
    pipe(a, b)
    while not alice.peers:
        await asyncio.sleep(0.01)
    request = asyncio.ensure_future(alice.peers[0].request("ping", b"?"))
    await asyncio.sleep(0.05)
    await clock.advance(29.0)
    assert not request.done()
    await clock.advance(1.0)
    with pytest.raises(TransactionTimeout):
        await asyncio.wait_for(request, 1)
    a.finalize()
    await wait_closed(b)
