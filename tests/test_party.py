"""Python <-> Python party tests: rule hooks, transactions, ephemeral messages, PartyMap, refusals."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from hyperparty.feeds.hypercore import Hypercore
from hyperparty.party import Party, PartyMap, PeerClosed, Rules, TransactionTimeout
from hyperparty.party.errors import PartyExtensionMissing, UnknownParty
from hyperparty.protocol.stream import ProtocolStream
from hyperparty.protocol.transport import wait_closed, pipe
from hyperparty.storage.memory import MemoryStorage

from util import eventually as wait_for

pytestmark = pytest.mark.timeout(30)


class RecordingRules(Rules):
    """Records every hook call; answers requests by echoing; replicates introduced feeds."""

    name = "recording"

    def __init__(self, feeds=(), *, transaction_timeout=5.0, request_delay=0.0):
        self.calls: list[tuple] = []
        self.feeds = {f.discovery_key: f for f in feeds}
        self.transaction_timeout = transaction_timeout
        self.request_delay = request_delay
        self.readers: dict[bytes, Hypercore] = {}

    async def ready(self, peer):
        self.calls.append(("ready", peer.peer_id))

    async def handshake(self, peer):
        self.calls.append(("handshake", peer.peer_id))

    async def find_feed(self, peer, discovery_key):
        self.calls.append(("find_feed", discovery_key))
        return self.feeds.get(discovery_key) or self.readers.get(discovery_key)

    async def on_introduce_feeds(self, peer, keys):
        self.calls.append(("introduce", tuple(keys)))
        for key in keys:
            reader = Hypercore(MemoryStorage(), key=key)
            await reader.ready()
            self.readers[reader.discovery_key] = reader
            await peer.replicate(reader)
        return [b"\x09" * 32]

    async def on_request(self, peer, type, value):
        self.calls.append(("request", type, value))
        if self.request_delay:
            await asyncio.sleep(self.request_delay)
        return "echo", value

    async def on_ephemeral_message(self, peer, type, value):
        self.calls.append(("ephemeral", type, value))


def connect(party_a: Party, party_b: Party, *, live=True):
    a = party_a.replicate(live=live)
    b = party_b.replicate(live=live)
    handle = pipe(a, b)
    return a, b, handle


async def first_peer(party: Party):
    await wait_for(lambda: party.peers, what="peer-add")
    return party.peers[0]


async def test_hooks_run_in_order_and_transactions_answer():
    key = secrets.token_bytes(32)
    ra, rb = RecordingRules(), RecordingRules()
    pa, pb = Party(key, ra, id=b"\x11" * 32), Party(key, rb, id=b"\x22" * 32)
    added = []
    pa.on("peer-add", added.append)
    a, b, _ = connect(pa, pb)
    peer = await first_peer(pa)
    await wait_for(lambda: ("handshake", b"\x22" * 32) in ra.calls, what="handshake hook")
    assert ra.calls[:2] == [("ready", b"\x22" * 32), ("handshake", b"\x22" * 32)]
    assert added == [peer] and peer.peer_id == b"\x22" * 32

    typ, value = await peer.request("ping", b"hello")
    assert (typ, value) == ("echo", b"hello")
    assert ("request", "ping", b"hello") in rb.calls

    writer = Hypercore(MemoryStorage())
    await writer.ready()
    await writer.append([b"one", b"two"])
    ra.feeds[writer.discovery_key] = writer
    answer = await peer.introduce_feeds([writer.key])
    assert answer == [b"\x09" * 32]
    assert ("introduce", (writer.key,)) in rb.calls
    # rb replicated a reader for the key; pa's find_feed names the writer; blocks flow
    reader = rb.readers[writer.discovery_key]
    await wait_for(lambda: reader.length == 2 and reader.has(1), what="replication of the introduced feed")
    assert await reader.get(1) == b"two"
    assert ("find_feed", writer.discovery_key) in ra.calls
    a.destroy()
    await asyncio.wait_for(wait_closed(b), 5)


async def test_ephemeral_messages_both_ways():
    key = secrets.token_bytes(32)
    ra, rb = RecordingRules(), RecordingRules()
    pa, pb = Party(key, ra), Party(key, rb)
    seen = []
    pb.on("ephemeral", lambda peer, t, v: seen.append((t, v)))
    connect(pa, pb)
    peer_a, peer_b = await first_peer(pa), await first_peer(pb)
    peer_a.send_ephemeral_message("text", b"hi bob")
    peer_b.send_ephemeral_message("text", b"hi alice")
    await wait_for(lambda: ("ephemeral", "text", b"hi bob") in rb.calls and ("ephemeral", "text", b"hi alice") in ra.calls)
    assert seen == [("text", b"hi bob")]


async def test_transaction_timeout_when_the_remote_is_slow():
    key = secrets.token_bytes(32)
    ra, rb = RecordingRules(transaction_timeout=0.2), RecordingRules(request_delay=2.0)
    pa, pb = Party(key, ra), Party(key, rb)
    connect(pa, pb)
    peer = await first_peer(pa)
    with pytest.raises(TransactionTimeout, match="Transaction timeout."):
        await peer.request("slow", b"x")
    assert not peer._pending


async def test_peer_vanishing_mid_transaction_fails_the_transaction_and_leaks_nothing():
    key = secrets.token_bytes(32)
    ra, rb = RecordingRules(transaction_timeout=None), RecordingRules(request_delay=5.0)
    pa, pb = Party(key, ra), Party(key, rb)
    removed = []
    pa.on("peer-remove", removed.append)
    before = asyncio.all_tasks()
    a, b, _ = connect(pa, pb)
    peer = await first_peer(pa)
    request = asyncio.ensure_future(peer.request("slow", b"x"))
    await wait_for(lambda: any(c[0] == "request" for c in rb.calls), what="request delivered")
    b.destroy(ConnectionResetError("peer vanished"))
    with pytest.raises(PeerClosed):
        await asyncio.wait_for(request, 5)
    await wait_for(lambda: removed == [peer], what="peer-remove")
    await asyncio.sleep(0.05)
    leaked = {t for t in asyncio.all_tasks() - before if not t.done() and t is not asyncio.current_task()}
    assert not leaked, leaked


async def test_remote_without_party_extension_is_refused():
    key = secrets.token_bytes(32)
    pa = Party(key, RecordingRules())
    errors = []
    pa.on("error", lambda exc, peer: errors.append(exc))
    a = pa.replicate(live=True)
    plain = ProtocolStream(live=True, extensions=["something-else"])
    plain.feed(key)
    pipe(a, plain)
    err = await asyncio.wait_for(wait_closed(a), 5)
    assert isinstance(err, PartyExtensionMissing)
    assert not pa.peers and isinstance(errors[0], PartyExtensionMissing)


async def test_wrong_party_key_cannot_read_anything():
    writer = Hypercore(MemoryStorage())
    await writer.ready()
    await writer.append(b"secret")
    good = secrets.token_bytes(32)
    ra = RecordingRules([writer])
    pa = Party(good, ra)
    pb = Party(secrets.token_bytes(32), RecordingRules())
    a, b, _ = connect(pa, pb)
    err_a = await asyncio.wait_for(wait_closed(a), 5)
    await asyncio.wait_for(wait_closed(b), 5)
    assert err_a is not None
    assert not pa.peers and not pb.peers
    assert ra.calls == []  # no hook ever ran: nothing was readable


async def test_party_map_routes_by_discovery_key_and_refuses_unknown_parties():
    k1, k2 = secrets.token_bytes(32), secrets.token_bytes(32)
    r1, r2 = RecordingRules(), RecordingRules()
    served = PartyMap()
    served.add(Party(k1, r1))
    served.add(Party(k2, r2))
    c2 = Party(k2, RecordingRules())
    pipe(served.replicate(live=True), c2.replicate(live=True))
    peer = await first_peer(c2)
    assert await peer.request("which", b"2") == ("echo", b"2")
    assert any(c[0] == "request" for c in r2.calls) and not any(c[0] == "request" for c in r1.calls)

    errors = []
    served.on("error", errors.append)
    stranger = Party(secrets.token_bytes(32), RecordingRules())
    server_side = served.replicate(live=True)
    client_side = stranger.replicate(live=True)
    pipe(server_side, client_side)
    err = await asyncio.wait_for(wait_closed(server_side), 5)
    assert isinstance(err, UnknownParty) and isinstance(errors[0], UnknownParty)
    await asyncio.wait_for(wait_closed(client_side), 5)
