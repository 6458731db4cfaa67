"""The party extension codec against bytes recorded from the JS party codec."""

import json
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from hyperparty.party import codec
from hyperparty.party.codec import EphemeralMessage, IntroduceFeeds, PartyCodecError, Request, Transaction

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
VECTORS = json.loads((SHARED / "vectors" / "protocol.json").read_text())["partyMessages"]

CASES = {
    "IntroduceFeedsRequest": IntroduceFeeds(Transaction("tx-1"), [b"\x01" * 32, b"\x02" * 32]),
    "IntroduceFeedsAnswer": IntroduceFeeds(Transaction("tx-1", True)),
    "RequestRequest": Request(Transaction("tx-2"), "text", b"ping"),
    "RequestAnswer": Request(Transaction("tx-2", True), "echo", b"ping"),
    "EphemeralMessage": EphemeralMessage("text", b"hi"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_js_bytes(name):
    assert codec.encode(CASES[name]).hex() == VECTORS[name]
    assert codec.decode(bytes.fromhex(VECTORS[name])) == CASES[name]


def test_unknown_type_is_passed_over():
    payload = b"\x0a\x03Foo\x12\x00"
    assert codec.decode(payload) is None


@pytest.mark.parametrize(
    "payload",
    [b"\x0a", b"\x0a\x05ab", b"\x12\x02\x00\x00", b"\x0f", b"\x0a\x02\xff\xfe", b"\x80" * 11],
)
def test_malformed_payloads_raise(payload):
    with pytest.raises(PartyCodecError):
        codec.decode(payload)


def test_truncated_inner_message_raises():
    good = bytes.fromhex(VECTORS["IntroduceFeedsRequest"])
    # cut the inner value short but keep the outer framing consistent
    inner_name, inner = codec.encode_inner(CASES["IntroduceFeedsRequest"])
    broken = b"\x0a\x0eIntroduceFeeds" + b"\x12" + bytes([len(inner) - 5]) + inner[:-5]
    assert good != broken
    with pytest.raises(PartyCodecError):
        codec.decode(broken)


_tx = st.builds(Transaction, st.text(max_size=30), st.one_of(st.none(), st.booleans()))
_messages = st.one_of(
    st.builds(IntroduceFeeds, st.one_of(st.none(), _tx), st.lists(st.binary(min_size=32, max_size=32), max_size=5)),
    st.builds(Request, st.one_of(st.none(), _tx), st.one_of(st.none(), st.text(max_size=20)), st.one_of(st.none(), st.binary(max_size=200))),
    st.builds(EphemeralMessage, st.one_of(st.none(), st.text(max_size=20)), st.one_of(st.none(), st.binary(max_size=200))),
)


@given(_messages)
def test_round_trip(message):
    assert codec.decode(codec.encode(message)) == message


@given(st.binary(max_size=64))
def test_random_bytes_never_crash(payload):
    try:
        codec.decode(payload)
    except PartyCodecError:
        pass
