"""The sans-IO multicast discovery state with an injected clock: joins, re-queries, two peers talking through
an in-memory "group", answers only for joined ids, and hostile datagrams (bounded work, nothing raised)."""

from __future__ import annotations

import base64
import os
import struct
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from hyperparty.discovery import DAT, PLAIN, MulticastDiscovery, PeerFound, dns
from hyperparty.discovery.mdns import encode_peers

K1 = bytes(range(32))
K2 = bytes(range(1, 33))


class Group:
    """An in-memory multicast group: every member receives every datagram (loopback included)."""

    def __init__(self, *members: tuple[MulticastDiscovery, str]) -> None:
        self.members = list(members)

    def run(self, now: float, rounds: int = 4) -> None:
        for _ in range(rounds):
            moved = False
            for m, host in self.members:
                for d in m.datagrams_to_send():
                    moved = True
                    for other, _ in self.members:
                        other.receive(d.data, (host, 5353), now)
            if not moved:
                return


def queries(m: MulticastDiscovery) -> list[str]:
    return [dns.decode(d.data).questions[0].name for d in m.datagrams_to_send()]


def test_join_queries_at_once_then_every_60_to_70_seconds():
    draws = iter([0.0, 0.5, 0.999])
    m = MulticastDiscovery(DAT, rand=lambda: next(draws))
    m.join(K1, 4000, now=100.0)
    assert queries(m) == [DAT.name(K1)]
    assert m.next_deadline() == 160.0
    m.tick(159.9)
    assert queries(m) == []
    m.tick(160.0)
    assert queries(m) == [DAT.name(K1)]
    assert m.next_deadline() == 225.0
    m.tick(224.0)
    assert queries(m) == []
    m.tick(225.5)
    assert queries(m) == [DAT.name(K1)]
    assert 225.5 + 69.98 < m.next_deadline() < 225.5 + 70


def test_many_keys_one_state_and_leave():
    m = MulticastDiscovery(DAT, rand=lambda: 0.0)
    m.join(K1, 4000, now=0.0)
    m.join(K2, None, now=1.0)
    assert queries(m) == [DAT.name(K1), DAT.name(K2)]
    assert m.next_deadline() == 60.0
    m.tick(61.0)
    assert queries(m) == [DAT.name(K1), DAT.name(K2)]
    m.leave(K1, 4000)
    assert m.keys == [K2]
    m.tick(200.0)
    assert queries(m) == [DAT.name(K2)]
    m.leave(K2)  # lookup-only join
    assert m.keys == [] and m.next_deadline() is None
    m.leave(K2)  # leaving twice is harmless


def test_two_peers_find_each_other():
    a = MulticastDiscovery(DAT)
    b = MulticastDiscovery(DAT)
    group = Group((a, "10.0.0.1"), (b, "10.0.0.2"))
    a.join(K1, 4001, now=0.0)
    group.run(0.0)
    assert a.events() == [] and b.events() == []  # b has not joined; a ignores its own echo
    b.join(K1, 4002, now=1.0)
    group.run(1.0)
    # b's query: a answers (b finds a), b answers its own query too and that answer reaches a.  a also
    # reads its own answer to b (its token is for b's address, not a's): on a real LAN a peer finds itself,
    # as dns-discovery does; the swarm recognises its own id in the handshake and bans the address.
    assert b.events() == [PeerFound(K1, "10.0.0.1", 4001)]
    assert a.events() == [PeerFound(K1, "10.0.0.1", 4001), PeerFound(K1, "10.0.0.2", 4002)]
    assert a.stats["echo"] >= 1 and b.stats["echo"] >= 1


def test_lookup_only_peer_finds_but_is_not_found():
    a = MulticastDiscovery(DAT)
    b = MulticastDiscovery(DAT)
    group = Group((a, "10.0.0.1"), (b, "10.0.0.2"))
    a.join(K1, 4001, now=0.0)
    b.join(K1, None, now=0.0)
    group.run(0.0)
    # twice: a's answer to its own query reaches b as well as its answer to b's query
    assert b.events() == [PeerFound(K1, "10.0.0.1", 4001)] * 2
    assert a.events() == [PeerFound(K1, "10.0.0.1", 4001)]  # itself only (see above); b is not announced


def test_namings_do_not_mix():
    a = MulticastDiscovery(DAT)
    b = MulticastDiscovery(PLAIN)
    group = Group((a, "10.0.0.1"), (b, "10.0.0.2"))
    a.join(K1, 4001, now=0.0)
    b.join(K1, 4002, now=0.0)
    group.run(0.0)
    assert a.events() == [] and b.events() == []


def test_several_ports_for_one_key_are_all_announced():
    a = MulticastDiscovery(DAT)
    b = MulticastDiscovery(DAT)
    a.join(K1, 4001, now=0.0)
    a.join(K1, 4002, now=0.0)
    a.datagrams_to_send()
    b.join(K1, None, now=0.0)
    Group((a, "10.0.0.1"), (b, "10.0.0.2")).run(0.0)
    assert sorted((p.host, p.port) for p in b.events()) == [("10.0.0.1", 4001), ("10.0.0.1", 4002)]
    a.leave(K1, 4001)
    b.join(K1, None, now=1.0)
    Group((a, "10.0.0.1"), (b, "10.0.0.2")).run(1.0)
    assert [(p.host, p.port) for p in b.events()] == [("10.0.0.1", 4002)]


# -- hostile datagrams --------------------------------------------------------------------------------


def txt_answer(name: str, strings: list[bytes]) -> dns.Record:
    return dns.Record(name, dns.TYPE_TXT, strings)


def test_garbage_and_truncated_names_are_counted_never_raised():
    m = MulticastDiscovery(DAT)
    m.join(K1, 4000, now=0.0)
    good = m.datagrams_to_send()[0].data
    bad = [
        b"",
        b"\x00" * 11,
        os.urandom(3),
        good[:20],  # the name cut in the middle of a label
        good[:-3],  # the question's type/class cut
        good[:12] + b"\x28" + b"a" * 10,  # a label longer than what is left
        good[:12] + b"\xc0\x0c\x00\x10\x00\x01",  # a pointer to itself
        good[:12] + b"\x80abc",  # reserved label type
        b"\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff" + b"\x00" * 20,  # counts far beyond the data
        good[:12] + (b"\x3f" + b"a" * 63) * 5 + b"\x00\x00\x10\x00\x01",  # a name over 254 bytes
    ]
    response = dns.encode(dns.Packet(flags=dns.FLAG_RESPONSE, answers=[txt_answer(DAT.name(K1), [b"peers=x"])]))
    bad.append(response[:-2])  # rdata cut
    bad.append(response[:-8] + b"\x05ab")  # a TXT string longer than its record
    for data in bad:
        m.receive(data, ("10.0.0.9", 5353), now=1.0)
    assert m.stats["malformed"] == len(bad)
    assert m.events() == [] and m.datagrams_to_send() == []


def test_ten_thousand_peers_are_bounded():
    m = MulticastDiscovery(DAT, max_peers_per_packet=100)
    m.join(K1, 4000, now=0.0)
    m.datagrams_to_send()
    name = DAT.name(K1)
    per_string = [("10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255), 1000 + i % 60000) for i in range(10_000)]
    # the full list in one TXT string would not fit a DNS string: spread it over many answers
    answers = [txt_answer(name, [b"peers=" + base64.b64encode(encode_peers(per_string[i:i + 31]))])
               for i in range(0, 10_000, 31)]
    data = dns.encode(dns.Packet(flags=dns.FLAG_RESPONSE, answers=answers))
    tracemalloc.start()
    m.receive(data, ("10.0.0.9", 5353), now=1.0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    events = m.events()
    assert len(events) == 100
    assert m.stats["peers_dropped"] >= 9_900
    assert peak < 8 * len(data) + 2_000_000


def test_an_oversized_txt_rdata_of_10000_peers_is_bounded():
    """A TXT record whose rdata (not a DNS string) carries a 10 000-entry base64 list: cut at the string
    length byte, read as JS would (a short string and junk after it), never more than the budget."""
    m = MulticastDiscovery(DAT, max_peers_per_packet=50)
    m.join(K1, 4000, now=0.0)
    m.datagrams_to_send()
    value = b"peers=" + base64.b64encode(encode_peers([("10.0.0.1", 1 + i % 65000) for i in range(10_000)]))
    rdata = bytes([255]) + value  # length byte says 255: the rest is parsed as more strings or rejected
    name = dns.encode_name(DAT.name(K1))
    data = (struct.pack(">HHHHHH", 0, 0x8400, 0, 1, 0, 0) + name
            + struct.pack(">HHIH", dns.TYPE_TXT, 1, 0, len(rdata) & 0xFFFF) + rdata)
    m.receive(data, ("10.0.0.9", 5353), now=1.0)
    assert len(m.events()) <= 50


def test_answers_for_keys_never_joined_are_ignored():
    m = MulticastDiscovery(DAT)
    m.join(K1, 4000, now=0.0)
    m.datagrams_to_send()
    answers = [txt_answer(os.urandom(20).hex() + ".dat.local", [b"peers=" + base64.b64encode(encode_peers([("1.2.3.4", 5)]))])
               for _ in range(200)]
    m.receive(dns.encode(dns.Packet(flags=dns.FLAG_RESPONSE, answers=answers)), ("10.0.0.9", 5353), now=1.0)
    assert m.events() == []
    assert m.stats["ignored"] == 200
    assert len(m.keys) == 1


def test_odd_answers_for_a_joined_key():
    m = MulticastDiscovery(DAT)
    m.join(K1, 4000, now=0.0)
    m.datagrams_to_send()
    name = DAT.name(K1)
    answers = [
        txt_answer(name, [b"peers=!!!not base64!!!"]),  # Node skips the junk: "notbase64" -> 6 bytes
        txt_answer(name, [b"peers"]),  # flag without value
        txt_answer(name, [b"peers=" + base64.b64encode(encode_peers([("0.0.0.0", 0)]))]),  # port 0
        txt_answer(name, [b"peers=" + base64.urlsafe_b64encode(encode_peers([("0.0.0.0", 0xFBFF)])).rstrip(b"=")]),
        dns.Record(name, dns.TYPE_SRV, dns.Srv(0, 0, 80, "not-an-address")),
        dns.Record(name, dns.TYPE_SRV, dns.Srv(0, 0, 81, "999.1.1.1")),
        dns.Record(name, dns.TYPE_A, b"\x01\x02\x03\x04"),
        txt_answer("dat.local", [b"peers=AAAAAAzS"]),  # no id
    ]
    m.receive(dns.encode(dns.Packet(flags=dns.FLAG_RESPONSE, answers=answers)), ("10.0.0.9", 5353), now=1.0)
    assert m.events() == [PeerFound(K1, "158.139.91.106", 51130), PeerFound(K1, "10.0.0.9", 0xFBFF)]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_never_raise(data):
    m = MulticastDiscovery(DAT)
    m.join(K1, 4000, now=0.0)
    m.receive(data, ("10.0.0.9", 5353), now=1.0)
    m.receive(m.datagrams_to_send()[0].data[:12] + data, ("10.0.0.9", 5353), now=1.0)
    assert len(m.events()) <= m.max_peers_per_packet * 2
