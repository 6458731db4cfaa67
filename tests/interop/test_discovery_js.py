"""A JS discovery-swarm 5.1.4 peer (dat-swarm-defaults, hash: false, utp off; js/discovery-swarm-peer.js)
and a Python Swarm find each other on the LAN and replicate a hypercore, both directions, each scenario in
its own user + network namespace (tests/discovery_netns.py).  Both announce, so both dial: the duplicate
rule must leave exactly one connection, the same one on both sides (opened by the smaller id)."""

from __future__ import annotations

import asyncio

import pytest
from discovery_netns import run_pair, run_scenario

from hyperparty.discovery import Swarm
from hyperparty.discovery.mdns import DAT, PLAIN
from hyperparty.discovery.service import MdnsDiscovery
from hyperparty.protocol.stream import ProtocolStream
from hyperparty.feeds.hypercore import Hypercore
from hyperparty.storage import MemoryStorage

SEED = "0d" * 32
JS_ID_SMALL, PY_ID_LARGE = "01" * 32, b"\x02" * 32
JS_ID_LARGE, PY_ID_SMALL = "03" * 32, b"\x00" * 31 + b"\x01"


async def wait_for(predicate, timeout=10.0, what="condition"):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def check_single_connection(js, py: Swarm, js_id: str) -> None:
    """After the dust settles: one connection each side, the same TCP connection, opened by the smaller id."""
    await wait_for(lambda: len(py.connections) == 1, what="a Python connection")
    await asyncio.sleep(1.5)  # both dials and the duplicate resolution are over
    await js.send_line("status")
    status = await js.read_event("status")
    assert status["connections"] == 1, js.events
    assert len(py.connections) == 1
    conn = py.connections[0]
    js_conn = [e for e in js.events if e["event"] == "connection"]
    kept_by_js = js_conn[-1]
    py_smaller = py.id < bytes.fromhex(js_id)
    assert conn.info.initiator == py_smaller, "the connection opened by the smaller id is kept"
    assert kept_by_js["initiator"] == (not py_smaller)
    assert kept_by_js["remoteId"] == py.id.hex() and conn.info.remote_id.hex() == js_id
    closed_js = [e for e in js.events if e["event"] == "connection-closed"]
    assert all(e["initiator"] == py_smaller for e in closed_js), "JS closed only the connection Python closed too"


async def js_writer_python_reader(js_id: str, py_id: bytes) -> None:
    from jsnode import NodeProcess

    async with NodeProcess("discovery-swarm-peer.js", "--seed", SEED, "--id", js_id, "--timeout-ms", "40000",
                           "alpha", "beta", "gamma") as js:
        info = await js.read_event("listening")
        reader = Hypercore(MemoryStorage(), key=bytes.fromhex(info["key"]))
        await reader.ready()
        found = []
        async with Swarm(lambda i: reader.replicate(live=True, id=i.id), id=py_id, port=0) as py:
            py.on("peer", found.append)
            await py.join(reader.discovery_key)
            await asyncio.wait_for(reader.update(3), 15)
            assert [await reader.get(i) for i in range(3)] == [b"alpha", b"beta", b"gamma"]
            assert any(p.host == "127.0.0.1" and p.port == info["port"] for p in found)
            await js.read_event(lambda e: e["event"] == "peer" and e["port"] == py.port, timeout=10)
            await check_single_connection(js, py, js_id)


async def python_writer_js_reader(js_id: str, py_id: bytes) -> None:
    from jsnode import NodeProcess

    writer = Hypercore(MemoryStorage())
    await writer.ready()
    await writer.append([b"one", b"two"])
    async with Swarm(lambda i: writer.replicate(live=True, id=i.id), id=py_id, port=0) as py:
        await py.join(writer.discovery_key)
        async with NodeProcess("discovery-swarm-peer.js", "--key", writer.key.hex(), "--id", js_id,
                               "--expect-length", "3", "--timeout-ms", "40000") as js:
            await js.read_event("listening")
            await wait_for(lambda: py.connections, what="a connection")
            await writer.append(b"three")  # live: reaches the JS reader over the kept connection
            synced = await js.read_event("synced", timeout=15)
            assert [bytes.fromhex(b) for b in synced["blocks"]] == [b"one", b"two", b"three"]
            await check_single_connection(js, py, js_id)


async def scenario_js_writer_python_reader_js_smaller():
    await js_writer_python_reader(JS_ID_SMALL, PY_ID_LARGE)


async def scenario_js_writer_python_reader_python_smaller():
    await js_writer_python_reader(JS_ID_LARGE, PY_ID_SMALL)


async def scenario_python_writer_js_reader_js_smaller():
    await python_writer_js_reader(JS_ID_SMALL, PY_ID_LARGE)


async def scenario_python_writer_js_reader_python_smaller():
    await python_writer_js_reader(JS_ID_LARGE, PY_ID_SMALL)


async def scenario_plain_naming_does_not_meet_dat():
    """A Python swarm on discovery-swarm's plain naming (sha1, dns-discovery.local) hears a Dat peer's answers
    but finds nothing in them; a Dat-named lookup on the same LAN finds the peer."""
    from jsnode import NodeProcess

    async with NodeProcess("discovery-swarm-peer.js", "--seed", SEED, "--timeout-ms", "20000", "x") as js:
        info = await js.read_event("listening")
        dk = bytes.fromhex(info["discoveryKey"])
        found = []
        async with Swarm(lambda i: ProtocolStream(), port=0, naming=PLAIN) as py:
            py.on("peer", found.append)
            await py.join(dk)
            dat_found = []
            async with MdnsDiscovery(DAT) as dat_lookup:
                dat_lookup.on("peer", dat_found.append)
                dat_lookup.join(dk, None)  # the JS peer answers this Dat query on the group
                await wait_for(lambda: any(p.port == info["port"] for p in dat_found), what="the Dat lookup")
            await wait_for(lambda: py.discovery.stats["ignored"] >= 1, what="the plain swarm hearing the answer")
            assert found == [] and py.connections == []


@pytest.mark.parametrize("scenario", [
    "scenario_js_writer_python_reader_js_smaller",
    "scenario_js_writer_python_reader_python_smaller",
    "scenario_python_writer_js_reader_js_smaller",
    "scenario_python_writer_js_reader_python_smaller",
    "scenario_plain_naming_does_not_meet_dat",
])
def test_in_namespace(scenario):
    run_scenario(__file__, scenario, timeout=60)


# -- two hosts: a JS writer at 10.0.0.1, a Python reader at 10.0.0.2 (two namespaces joined by veth) ---------


async def scenario_lan_js_writer():
    from jsnode import NodeProcess

    await asyncio.sleep(1.5)  # the Python peer (other namespace) is up and listening first
    async with NodeProcess("discovery-swarm-peer.js", "--seed", SEED, "--timeout-ms", "40000", "lan", "blocks") as js:
        await js.read_event("listening")
        peer = await js.read_event(lambda e: e["event"] == "peer", timeout=15)
        assert peer["host"] == "10.0.0.2"  # the Python answer's 0.0.0.0, resolved to its source address
        await js.read_event("connection", timeout=15)
        await asyncio.sleep(4)  # keep serving while the reader checks its side


async def scenario_lan_python_reader():
    from hyperparty.crypto import key_pair

    key, _ = key_pair(bytes.fromhex(SEED))
    reader = Hypercore(MemoryStorage(), key=key)
    await reader.ready()
    found, banned = [], []
    async with Swarm(lambda i: reader.replicate(live=True, id=i.id), port=0) as py:
        py.on("peer", found.append)
        py.on("peer-banned", lambda peer, reason: banned.append((peer, reason)))
        await py.join(reader.discovery_key)
        await asyncio.wait_for(reader.update(2), 20)
        assert [await reader.get(i) for i in range(2)] == [b"lan", b"blocks"]
        assert any(p.host == "10.0.0.1" for p in found)
        # our answer to the JS query carried a token for 10.0.0.1, so we read it back and found ourselves
        # at 10.0.0.2; the handshake showed our own id and the address was banned (as discovery-swarm does)
        await wait_for(lambda: banned, what="the self-connection ban")
        assert banned[0][0].host == "10.0.0.2" and banned[0][0].port == py.port and banned[0][1] == "detected-self"
        assert all(c.info.remote_id != py.id for c in py.connections)


def test_two_hosts_on_a_veth_lan():
    run_pair(__file__, "scenario_lan_js_writer", "scenario_lan_python_reader", timeout=60)


async def scenario_cli_fetch_discovers_a_js_peer():
    """``hyperparty core fetch KEY --discover`` finds a JS dat peer by key alone and downloads its feed."""
    import hashlib
    import json
    import sys

    from jsnode import NodeProcess

    async with NodeProcess("discovery-swarm-peer.js", "--seed", SEED, "--timeout-ms", "40000", "from", "js") as js:
        info = await js.read_event("listening")
        fetch = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hyperparty.cli", "core", "fetch", info["key"], "--discover", "--timeout", "10",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(fetch.communicate(), 30)
        assert fetch.returncode == 0, err.decode()
        lines = [json.loads(x) for x in out.decode().splitlines()]
        assert lines[0] == {"peer": info["discoveryKey"], "host": "127.0.0.1", "port": info["port"]}
        assert lines[-1]["length"] == 2 and lines[-1]["sha256"] == hashlib.sha256(b"fromjs").hexdigest()


def test_cli_fetch_discovers_a_js_peer():
    run_scenario(__file__, "scenario_cli_fetch_discovers_a_js_peer", timeout=60)
