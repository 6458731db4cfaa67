"""Swarm connection rules over loopback TCP, with discovery off (peers added by hand): replication, the
duplicate rule, self-connections, reconnect timings, handshake timeout, limits, and PartyMap."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from hyperparty.discovery import PeerInfo, Swarm
from hyperparty.feeds.hypercore import Hypercore
from hyperparty.party import Party, PartyMap, Rules
from hyperparty.protocol.stream import ProtocolStream
from hyperparty.storage import MemoryStorage

from util import eventually

pytestmark = pytest.mark.timeout(40)

FAST = (0.05, 0.05, 0.1, 0.2)


async def writer_core(*blocks: bytes) -> Hypercore:
    core = Hypercore(MemoryStorage())
    await core.ready()
    if blocks:
        await core.append(list(blocks))
    return core


def core_factory(core: Hypercore):
    return lambda info: core.replicate(live=True, id=info.id)


def swarm(factory, **options) -> Swarm:
    options.setdefault("reconnect_wait", FAST)
    return Swarm(factory, discovery=False, port=0, host="127.0.0.1", **options)


def record(s: Swarm, *names: str) -> dict[str, list]:
    seen: dict[str, list] = {n: [] for n in names}
    for n in names:
        s.on(n, lambda *args, n=n: seen[n].append(args))
    return seen


async def test_dial_and_replicate_a_hypercore():
    writer = await writer_core(b"one", b"two", b"three")
    reader = Hypercore(MemoryStorage(), key=writer.key)
    await reader.ready()
    a = swarm(core_factory(writer), id=b"\x01" * 32)
    b = swarm(core_factory(reader), id=b"\x02" * 32)
    ev_a = record(a, "connection")
    ev_b = record(b, "connection", "peer", "connecting")
    async with a, b:
        assert b.add_peer(writer.discovery_key, "127.0.0.1", a.port)
        assert not b.add_peer(writer.discovery_key, "127.0.0.1", a.port)  # remembered: not queued twice
        await reader.update(3)
        assert [await reader.get(i) for i in range(3)] == [b"one", b"two", b"three"]
        await eventually(lambda: ev_a["connection"] and ev_b["connection"])
        (stream_b, info_b), = ev_b["connection"]
        assert info_b.initiator and info_b.remote_id == b"\x01" * 32 and info_b.discovery_key == writer.discovery_key
        (stream_a, info_a), = ev_a["connection"]
        assert not info_a.initiator and info_a.remote_id == b"\x02" * 32 and info_a.discovery_key is None
        assert stream_a.id == b"\x01" * 32 and stream_b.id == b"\x02" * 32
        assert len(ev_b["peer"]) == 1 and len(ev_b["connecting"]) == 1


@pytest.mark.parametrize("smaller", ["a", "b"])
async def test_duplicate_rule_keeps_the_connection_of_the_smaller_id(smaller):
    writer = await writer_core(b"x")
    reader = Hypercore(MemoryStorage(), key=writer.key)
    await reader.ready()
    ids = {"a": b"\x01" * 32, "b": b"\x02" * 32} if smaller == "a" else {"a": b"\x02" * 32, "b": b"\x01" * 32}
    a = swarm(core_factory(writer), id=ids["a"])
    b = swarm(core_factory(reader), id=ids["b"])
    ev_a = record(a, "connection", "redundant-connection", "connection-closed")
    ev_b = record(b, "connection", "redundant-connection", "connection-closed")
    async with a, b:
        dk = writer.discovery_key
        a.add_peer(dk, "127.0.0.1", b.port)
        b.add_peer(dk, "127.0.0.1", a.port)
        await eventually(lambda: len(ev_a["connection-closed"]) >= 1 and len(ev_b["connection-closed"]) >= 1, 10)
        await asyncio.sleep(0.3)  # no redial: the duplicate's peer is not requeued
        assert len(a.connections) == 1 and len(b.connections) == 1
        ka, kb = a.connections[0], b.connections[0]
        # the same TCP connection on both sides, opened by the smaller id
        assert ka.info.initiator == (smaller == "a") and kb.info.initiator == (smaller == "b")
        sock_a = ka.writer.get_extra_info("sockname"), ka.writer.get_extra_info("peername")
        sock_b = kb.writer.get_extra_info("sockname"), kb.writer.get_extra_info("peername")
        assert sock_a == (sock_b[1], sock_b[0])
        await reader.update(1)
        assert not ka.stream.destroyed and not kb.stream.destroyed


async def test_connection_to_ourselves_is_banned():
    core = await writer_core(b"x")
    a = swarm(core_factory(core))
    ev = record(a, "peer-banned", "connection", "peer-rejected")
    async with a:
        a.add_peer(core.discovery_key, "127.0.0.1", a.port)
        await eventually(lambda: ev["peer-banned"])
        (peer, reason), = ev["peer-banned"]
        assert reason == "detected-self" and peer.port == a.port
        assert ev["connection"] == [] and a.connections == []
        assert not a.add_peer(core.discovery_key, "127.0.0.1", a.port)
        assert ev["peer-rejected"][-1][1] == "banned"


async def test_failed_dials_retry_then_drop():
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    a = swarm(lambda info: ProtocolStream(), reconnect_wait=(0.05, 0.05, 0.1, 0.2))
    ev = record(a, "connecting", "connect-failed", "drop")
    async with a:
        dk = bytes(32)
        loop = asyncio.get_running_loop()
        start = loop.time()
        a.add_peer(dk, "127.0.0.1", port)
        await eventually(lambda: ev["drop"], 5)
        assert len(ev["connecting"]) == 5 and len(ev["connect-failed"]) == 5  # first try + 4 retries
        assert loop.time() - start >= 0.4
        assert a.add_peer(dk, "127.0.0.1", port)  # forgotten: can be found again


async def test_handshake_timeout_and_no_redial():
    async def silent(reader, writer):
        await reader.read()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    core = await writer_core(b"x")
    a = swarm(core_factory(core), handshake_timeout=0.3)
    ev = record(a, "connection-closed", "connecting")
    try:
        async with a:
            a.add_peer(core.discovery_key, "127.0.0.1", port)
            await eventually(lambda: ev["connection-closed"], 5)
            assert isinstance(ev["connection-closed"][0][0].error, TimeoutError)
            await asyncio.sleep(0.4)
            assert len(ev["connecting"]) == 1  # like discovery-swarm: closed before a handshake, not redialled
            assert a.connecting == 0
    finally:
        server.close()


async def test_closed_connection_is_redialled():
    writer = await writer_core(b"x")
    reader = Hypercore(MemoryStorage(), key=writer.key)
    await reader.ready()
    a = swarm(core_factory(writer))
    b = swarm(core_factory(reader))
    ev_b = record(b, "connection", "connecting")
    async with a, b:
        b.add_peer(writer.discovery_key, "127.0.0.1", a.port)
        await eventually(lambda: ev_b["connection"])
        a.connections[0].stream.destroy(ConnectionResetError("bye"))
        await eventually(lambda: len(ev_b["connection"]) == 2, 5)
        assert len(ev_b["connecting"]) == 2


async def test_limits_on_peers_per_key_and_dials_in_flight():
    accepted = []

    async def silent(reader, writer):
        accepted.append(writer)
        await reader.read()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    a = swarm(lambda info: ProtocolStream(), max_peers_per_key=5, max_connecting=2, handshake_timeout=0.3)
    ev = record(a, "peer-rejected", "connecting")
    peak = []
    a.on("connecting", lambda peer: peak.append(a.connecting))
    try:
        async with a:
            dk = bytes(32)
            hosts = [f"127.0.0.{i}" for i in range(1, 9)]
            added = [a.add_peer(dk, h, port) for h in hosts]
            assert added == [True] * 5 + [False] * 3
            assert [r[1] for r in ev["peer-rejected"]] == ["full"] * 3
            assert a.connecting == 2 and a.queued == 3
            await eventually(lambda: len(ev["connecting"]) == 5, 5)
            assert max(peak) <= 2
            assert a.add_peer(bytes([1]) * 32, "127.0.0.9", port)  # another key has its own budget
    finally:
        server.close()


class QuietRules(Rules):
    name = "quiet"

    def __init__(self):
        self.handshakes = []

    async def handshake(self, peer):
        self.handshakes.append(peer.peer_id)

    async def find_feed(self, peer, discovery_key):
        return None


async def test_party_map_behind_a_swarm():
    """One listener serving two parties (PartyMap); each client dials for its party's discovery key."""
    k1, k2 = secrets.token_bytes(32), secrets.token_bytes(32)
    served = PartyMap()
    r1, r2 = QuietRules(), QuietRules()
    served.add(Party(k1, r1))
    served.add(Party(k2, r2))
    server = swarm(lambda info: served.replicate(live=True) if info.discovery_key is None
                   else served.get(info.discovery_key).replicate(live=True, id=info.id))
    clients = []
    async with server:
        for key, rules in ((k1, QuietRules()), (k2, QuietRules())):
            party = Party(key, rules)
            client = swarm(lambda info, party=party: party.replicate(live=True, id=info.id))
            await client.listen()
            client.add_peer(party.discovery_key, "127.0.0.1", server.port)
            clients.append((client, rules))
        try:
            await eventually(lambda: r1.handshakes and r2.handshakes and all(r.handshakes for _, r in clients), 10)
            assert r1.handshakes == [clients[0][0].id] and r2.handshakes == [clients[1][0].id]
            assert clients[0][1].handshakes == [server.id]
        finally:
            for client, _ in clients:
                await client.close()


@pytest.mark.expect_errors  # logged on purpose: a failing factory / listener
async def test_stream_factory_errors_do_not_break_the_swarm():
    calls = []

    def factory(info: PeerInfo):
        calls.append(info)
        raise RuntimeError("boom")

    a = swarm(factory)
    b = swarm(factory)
    async with a, b:
        b.add_peer(bytes(32), "127.0.0.1", a.port)
        await eventually(lambda: len(calls) >= 2)
        await eventually(lambda: a.connecting == 0 and b.connecting == 0)


async def test_reconnect_schedule_is_1_1_5_15_seconds_on_the_injected_clock():
    """discovery-swarm's RECONNECT_WAIT with the default timings, driven by a ManualClock."""
    from hyperparty.clock import ManualClock

    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    clock = ManualClock()
    a = Swarm(lambda info: ProtocolStream(), discovery=False, port=0, host="127.0.0.1", clock=clock)
    attempts, dropped = [], []
    a.on("connecting", lambda peer: attempts.append(clock.now()))
    a.on("drop", dropped.append)
    async with a:
        a.add_peer(bytes(32), "127.0.0.1", port)
        for step in [0.5] * 60:  # 30 s of manual time; the refused dials fail at once in real time
            await eventually(lambda: a.connecting == 0)
            await clock.advance(step)
        assert dropped
        gaps = [round(b - x) for x, b in zip(attempts, attempts[1:])]
        assert len(attempts) == 5 and gaps == [1, 1, 5, 15]
