"""Party fault tests: a peer that goes silent mid-transaction, a corrupt party payload, and 20 peers in one
party converging."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest

from hyperparty.party import Party, TransactionTimeout
from hyperparty.protocol.transport import wait_closed
from hyperparty.party.chat import ChatNode
from hyperparty.party.codec import PartyCodecError
from hyperparty.party.peer import EXTENSION
from hyperparty.protocol import pipe
from hyperparty.protocol.errors import RemoteTimeout
from hyperparty.storage import MemoryStorage

from test_party import RecordingRules, first_peer
from util import eventually as wait_for


async def test_peer_going_silent_mid_transaction_times_out_and_leaks_nothing():
    key = secrets.token_bytes(32)
    ra = RecordingRules(transaction_timeout=0.3)
    rb = RecordingRules(request_delay=10.0)
    pa, pb = Party(key, ra), Party(key, rb)
    removed = []
    pa.on("peer-remove", removed.append)
    before = asyncio.all_tasks()
    a, b = pa.replicate(live=True), pb.replicate(live=True)
    p = pipe(a, b)
    peer = await first_peer(pa)
    await first_peer(pb)
    # the remote vanishes without closing anything: nothing it says reaches us any more
    b.set_output_listener(None)
    b.data_to_send = lambda: b""
    with pytest.raises(TransactionTimeout):
        await peer.request("are you there", b"?")
    assert not peer._pending
    for _ in range(6):  # the keep-alive clock (time passed in): > 4 silent ticks drop the connection
        a.tick()
    assert isinstance(a.error, RemoteTimeout)
    await wait_for(lambda: removed == [peer], what="peer-remove")
    b.destroy()
    await asyncio.sleep(0.05)
    leaked = {t for t in asyncio.all_tasks() - before if not t.done() and t is not asyncio.current_task()}
    assert not leaked, leaked
    del p


async def test_corrupt_party_payload_drops_the_connection():
    key = secrets.token_bytes(32)
    pa, pb = Party(key, RecordingRules()), Party(key, RecordingRules())
    errors = []
    pb.on("error", lambda exc, peer: errors.append(exc))
    a, b = pa.replicate(live=True), pb.replicate(live=True)
    pipe(a, b)
    peer = await first_peer(pa)
    await first_peer(pb)
    peer.channel.extension(EXTENSION, b"\x0a\xff\xff\xff")  # AnyType.type with a length running past the end
    err = await asyncio.wait_for(wait_closed(b), 5)
    assert isinstance(err, PartyCodecError) and isinstance(errors[0], PartyCodecError)
    await asyncio.wait_for(wait_closed(a), 5)  # the other side sees the connection end


async def test_twenty_peers_converge():
    party_key = secrets.token_bytes(32)
    nodes = [ChatNode(MemoryStorage(), party_key=party_key) for _ in range(20)]
    for n in nodes:
        await n.start()
        await n.say(f"hello from {n.local.key.hex()[:8]}")
    started = time.perf_counter()
    hub = nodes[0]
    for n in nodes[1:]:  # a star: every feed reaches every peer through the hub
        pipe(hub.party.replicate(live=True), n.party.replicate(live=True))
    keys = [n.local.key for n in nodes]

    def converged() -> bool:
        for n in nodes:
            for k in keys:
                core = n.store.get(k)
                if core is None or not (core.length >= 1 and core.has(0)):
                    return False
        return True

    await wait_for(converged, timeout=30, what="20 peers converging")
    elapsed = time.perf_counter() - started
    assert all(len(n.store.feeds()) == 20 for n in nodes)
    print(f"20 peers converged in {elapsed:.2f} s")
    for n in nodes:
        await n.close()
