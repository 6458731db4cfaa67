"""The multicast socket and MdnsDiscovery on real sockets, each scenario inside its own user + network
namespace (tests/discovery_netns.py): nothing reaches the real LAN."""

from __future__ import annotations

import asyncio
import socket

from discovery_netns import run_scenario

from hyperparty.discovery import dns
from hyperparty.discovery.mdns import DAT, PeerFound
from hyperparty.discovery.service import MdnsDiscovery
from hyperparty.discovery.transport import MulticastSocket, default_send_interface, ipv4_interfaces

K1 = bytes(range(32))
K2 = bytes(range(100, 132))


def test_default_send_interface():
    assert default_send_interface(["127.0.0.1"]) == "127.0.0.1"
    assert default_send_interface(["127.0.0.1", "192.168.1.4"]) == "0.0.0.0"
    assert default_send_interface([]) == "127.0.0.1"


async def wait_for(predicate, timeout=5.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


# -- scenarios (run inside the namespace) -------------------------------------------------------------


async def scenario_interfaces_and_socket():
    assert ipv4_interfaces() == ["127.0.0.1"]
    got = []
    a = MulticastSocket(lambda d, s: got.append(("a", d, s)), port=0, update_interval=0.05)
    await a.open()
    b = MulticastSocket(lambda d, s: got.append(("b", d, s)), port=a.port)
    await b.open()
    assert a.memberships == {"127.0.0.1"} == b.memberships
    a.send(b"hello")
    await wait_for(lambda: len(got) == 2)  # loopback on: both sockets, the sender included
    assert sorted(x[0] for x in got) == ["a", "b"]
    assert all(x[1] == b"hello" and x[2] == ("127.0.0.1", a.port) for x in got)
    a.close()
    b.close()


async def scenario_two_discoveries_on_port_5353():
    """Two MdnsDiscovery instances share 5353 (SO_REUSEADDR/SO_REUSEPORT) and find each other."""
    a = await MdnsDiscovery().start()
    b = await MdnsDiscovery().start()
    found_a, found_b = [], []
    a.on("peer", found_a.append)
    b.on("peer", found_b.append)
    try:
        a.join(K1, 4001)
        b.join(K1, 4002)
        b.join(K2, None)
        await wait_for(lambda: PeerFound(K1, "127.0.0.1", 4001) in found_b and PeerFound(K1, "127.0.0.1", 4002) in found_a)
        assert all(p.discovery_key == K1 for p in found_a + found_b)
        # neither reports itself: on one address every own answer is an echo
        assert PeerFound(K1, "127.0.0.1", 4001) not in found_a
        assert PeerFound(K1, "127.0.0.1", 4002) not in found_b
    finally:
        await a.close()
        await b.close()


async def scenario_requery_timer_and_injected_group():
    """An injected group and port, a fast re-query: queries keep coming on the timer (the first one sent by
    start() for a join made before it)."""
    seen = []
    sniffer = MulticastSocket(lambda d, s: seen.append(d), group="239.255.77.1", port=0)
    await sniffer.open()
    d = MdnsDiscovery(group="239.255.77.1", port=sniffer.port, requery=(0.2, 0.1))
    d.join(K1, 4000)  # before start: the query waits for the socket
    await d.start()
    try:
        await wait_for(lambda: len(seen) >= 4, timeout=3)
        names = {dns.decode(x).questions[0].name for x in seen if not dns.decode(x).is_response}
        assert names == {DAT.name(K1)}
    finally:
        await d.close()
        sniffer.close()


async def scenario_garbage_on_the_wire_is_counted():
    d = MdnsDiscovery(group="239.255.77.2", port=0)
    await d.start()
    try:
        d.join(K1, 4000)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
            for junk in (b"", b"\xff" * 13, b"\x00" * 12 + b"\x3f"):
                s.sendto(junk, ("239.255.77.2", d.socket.port))
        await wait_for(lambda: d.stats["malformed"] >= 2)
    finally:
        await d.close()


# -- the tests ----------------------------------------------------------------------------------------


def test_interfaces_and_socket():
    run_scenario(__file__, "scenario_interfaces_and_socket")


def test_two_discoveries_on_port_5353():
    run_scenario(__file__, "scenario_two_discoveries_on_port_5353")


def test_requery_timer_and_injected_group():
    run_scenario(__file__, "scenario_requery_timer_and_injected_group")


def test_garbage_on_the_wire_is_counted():
    run_scenario(__file__, "scenario_garbage_on_the_wire_is_counted")


async def scenario_python_swarms_serve_two_parties_from_one_listener():
    """discover(): one swarm serves two parties (PartyMap) on one port; two client swarms, one per party, find
    it by the parties' discovery keys alone and handshake with it."""
    import secrets

    from hyperparty.discovery import discover
    from hyperparty.party import Party, PartyMap, Rules

    class Quiet(Rules):
        name = "quiet"

        def __init__(self):
            self.peers = []

        async def handshake(self, peer):
            self.peers.append(peer.peer_id)

        async def find_feed(self, peer, discovery_key):
            return None

    keys = [secrets.token_bytes(32) for _ in range(2)]
    served = PartyMap()
    server_rules = [Quiet(), Quiet()]
    for key, rules in zip(keys, server_rules):
        served.add(Party(key, rules))

    def serve(info):
        if info.discovery_key is None:
            return served.replicate(live=True)
        return served.get(info.discovery_key).replicate(live=True, id=info.id)

    async with discover([p.discovery_key for p in served.parties], serve) as server:
        clients = []
        for key in keys:
            party = Party(key, Quiet())
            clients.append((party, discover(party.discovery_key, lambda info, p=party: p.replicate(live=True, id=info.id))))
        swarms = [await cm.__aenter__() for _, cm in clients]
        try:
            await wait_for(lambda: all(r.peers for r in server_rules) and all(p.rules.peers for p, _ in clients), 10)
            assert server_rules[0].peers[0] == swarms[0].id and server_rules[1].peers[0] == swarms[1].id
            assert all(p.rules.peers[0] == server.id for p, _ in clients)
            await wait_for(lambda: len(server.connections) == 2 and all(len(s.connections) == 1 for s in swarms), 5)
        finally:
            for _, cm in clients:
                await cm.__aexit__(None, None, None)


def test_python_swarms_serve_two_parties_from_one_listener():
    run_scenario(__file__, "scenario_python_swarms_serve_two_parties_from_one_listener")
