"""The mDNS codec and responder against the bytes of the spec (shared/spec/discovery-swarm-5.md §4) and
against datagrams recorded from the real JS packages (tests/vectors/discovery.json, made by
tests/interop/js/discovery-record.js; tests/interop/test_discovery_vectors.py checks it is current)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from hyperparty.discovery import DAT, PLAIN, MulticastDiscovery, PeerFound, dns
from hyperparty.discovery.mdns import decode_peers, encode_peers, parse_txt

VECTORS = json.loads((Path(__file__).parent / "vectors" / "discovery.json").read_text())
DK = bytes.fromhex(VECTORS["discoveryKey"])
NAMINGS = {"dat": DAT, "plain": PLAIN}
SPEC_NAME = "5c0d8a739dfe05fbeef9cfd7f0d08dc4f973051d.dat.local"


def spec_name_bytes(name: str) -> bytes:
    """The name as the spec draws it: 28 <40 hex> 03 "dat" 05 "local" 00."""
    lookup_id, _, _ = name.partition(".")
    return bytes([40]) + lookup_id.encode() + b"\x03dat\x05local\x00"


def cases(naming: str, name: str) -> list[dict]:
    return [c for c in VECTORS["cases"] if c["naming"] == naming and c["name"] == name]


def machine(naming: str) -> MulticastDiscovery:
    return MulticastDiscovery(NAMINGS[naming], secret=bytes.fromhex(VECTORS["secrets"][naming][1]))


# -- the spec's bytes ----------------------------------------------------------------------------------


def test_lookup_names():
    assert DAT.name(DK) == DK[:20].hex() + ".dat.local"
    assert PLAIN.name(DK) == hashlib.sha1(DK).hexdigest() + ".dns-discovery.local"
    for naming in ("dat", "plain"):
        assert cases(naming, "announce-query")[0]["lookupName"] == NAMINGS[naming].name(DK)


def test_query_is_the_68_bytes_of_the_spec():
    key = bytes.fromhex(SPEC_NAME[:40]) + bytes(12)
    m = MulticastDiscovery(DAT)
    m.join(key, 3282, now=0.0)
    [datagram] = m.datagrams_to_send()
    expected = bytes(4) + b"\x00\x01" + bytes(6) + spec_name_bytes(SPEC_NAME) + b"\x00\x10\x00\x01"
    assert len(expected) == 68
    assert datagram.data == expected
    assert datagram.port is None  # to the group's own port


def test_response_is_the_196_bytes_of_the_spec():
    secret = bytes(range(32))
    key = bytes.fromhex(SPEC_NAME[:40]) + bytes(12)
    m = MulticastDiscovery(DAT, secret=secret)
    m.join(key, 3282, now=0.0)
    query = m.datagrams_to_send()[0].data
    m.receive(query, ("192.168.1.10", 5353), now=1.0)
    [reply] = m.datagrams_to_send()
    token = base64.b64encode(hashlib.sha256(secret + b"192.168.1.10").digest())
    question = spec_name_bytes(SPEC_NAME) + b"\x00\x10\x00\x01"
    strings = bytes([6 + len(token)]) + b"token=" + token + bytes([14]) + b"peers=AAAAAAzS"
    expected = (b"\x00\x00\x84\x00\x00\x01\x00\x01\x00\x00\x00\x00" + question
                + spec_name_bytes(SPEC_NAME) + b"\x00\x10\x00\x01" + bytes(4) + len(strings).to_bytes(2, "big") + strings)
    assert len(expected) == 196
    assert reply.data == expected
    assert reply.port == 5353  # the querier's source port
    assert base64.b64decode("AAAAAAzS") == encode_peers([("0.0.0.0", 3282)])


def test_peer_records_and_txt_strings():
    raw = encode_peers([("1.2.3.4", 80), ("255.255.255.255", 65535)])
    assert raw == bytes([1, 2, 3, 4, 0, 80, 255, 255, 255, 255, 255, 255])
    assert decode_peers(raw + b"\x01\x02\x03") == [("1.2.3.4", 80), ("255.255.255.255", 65535)]
    assert parse_txt([b"a=b=c", b"flag", b"a=d", b"=x"]) == {"a": "d", "flag": True, "": "x"}


def test_codec_round_trip_with_srv_and_unknown_types():
    packet = dns.Packet(
        id=7, flags=dns.FLAG_RESPONSE,
        questions=[dns.Question("x.dat.local", dns.TYPE_SRV, 0x8001)],
        answers=[dns.Record("x.dat.local", dns.TYPE_SRV, dns.Srv(1, 2, 3, "10.0.0.1"), 0x8001, 120)],
        authorities=[dns.Record("y.local", 99, b"\x01\x02")],
        additionals=[dns.Record("x.dat.local", dns.TYPE_TXT, [b"", b"k=v"])],
    )
    assert dns.decode(dns.encode(packet)) == packet


# -- the JS recordings --------------------------------------------------------------------------------


@pytest.mark.parametrize("naming", ["dat", "plain"])
def test_same_query_bytes_as_js(naming):
    m = machine(naming)
    m.join(DK, 3282, now=0.0)
    [sent] = cases(naming, "announce-query")[0]["sent"]
    [ours] = m.datagrams_to_send()
    assert ours.data.hex() == sent["hex"]
    assert (sent["address"], sent["port"]) == ("224.0.0.251", 5353)


@pytest.mark.parametrize("naming", ["dat", "plain"])
@pytest.mark.parametrize("case", ["answer-txt", "answer-txt-other-port", "answer-srv"])
def test_same_answers_as_js(naming, case):
    m = machine(naming)
    m.join(DK, 3282, now=0.0)
    m.datagrams_to_send()
    c = cases(naming, case)[0]
    m.receive(bytes.fromhex(c["input"]["hex"]), (c["input"]["host"], c["input"]["port"]), now=1.0)
    ours = m.datagrams_to_send()
    assert [(d.data.hex(), d.port) for d in ours] == [(s["hex"], s["port"]) for s in c["sent"]]


@pytest.mark.parametrize("naming", ["dat", "plain"])
def test_silent_where_js_is_silent(naming):
    m = machine(naming)
    m.join(DK, 3282, now=0.0)
    m.datagrams_to_send()
    c = cases(naming, "silent")[0]
    assert c["sent"] == []
    for hex_ in c["inputs"]:
        m.receive(bytes.fromhex(hex_), ("192.168.1.10", 5353), now=1.0)
    assert m.datagrams_to_send() == []


@pytest.mark.parametrize("naming", ["dat", "plain"])
def test_reads_the_peers_js_reads(naming):
    m = machine(naming)
    m.join(DK, 3282, now=0.0)
    m.datagrams_to_send()
    [c] = cases(naming, "read")
    for r in c["reads"]:
        m.receive(bytes.fromhex(r["hex"]), (r["host"], r["port"]), now=1.0)
        found = [(p.host, p.port) for p in m.events() if p.discovery_key == DK]
        assert found == [(p["host"], p["port"]) for p in r["peers"]], r["what"]
        assert all(p["id"] == DK.hex() for p in r["peers"])
        assert [d.data.hex() for d in m.datagrams_to_send()] == [s["hex"] for s in r["sent"]], r["what"]
    assert m.stats["malformed"] == 1  # the garbage datagram
    assert m.stats["echo"] == 1 and m.stats["ignored"] == 1


@pytest.mark.parametrize("naming", ["dat", "plain"])
def test_lookup_only_queries_but_never_answers(naming):
    [c] = cases(naming, "lookup-only")
    other = bytes.fromhex(c["otherDiscoveryKey"])
    m = machine(naming)
    m.join(other, None, now=0.0)
    assert [d.data.hex() for d in m.datagrams_to_send()] == [s["hex"] for s in c["sent"]]
    query = dns.encode(dns.Packet(questions=[dns.Question(c["lookupName"])]))
    m.receive(query, ("192.168.1.10", 5353), now=1.0)
    assert m.datagrams_to_send() == [] and c["answered"] == []


def test_peer_found_carries_the_key():
    m = machine("dat")
    m.join(DK, None, now=0.0)
    [c] = cases("dat", "read")
    r = c["reads"][0]
    m.receive(bytes.fromhex(r["hex"]), (r["host"], r["port"]), now=1.0)
    assert m.events() == [PeerFound(DK, "192.168.1.20", 4000, "txt"), PeerFound(DK, "192.168.1.30", 4001, "txt")]
