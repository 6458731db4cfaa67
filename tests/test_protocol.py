"""hypercore-protocol 6: codec, wire and stream, against sessions recorded from JS hypercore-protocol 6.12.0.

Recorded sessions: ../shared/vectors/protocol.json and our own tests/vectors/protocol-session.json
(regenerated from the pinned JS packages by tests/interop/js/gen-vectors.js; tests/interop checks the file
is current).  Each session side has the id, nonce, key, every message and the exact bytes JS wrote.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperparty.protocol import ProtocolStream, pipe
from hyperparty.protocol.transport import wait_closed
from hyperparty.protocol import data_codec
from hyperparty.protocol import messages as m
from hyperparty import protobuf as pb
from hyperparty import varint
from hyperparty.protocol.cipher import XSalsa20
from hyperparty.protocol.errors import (
    BufferLimitExceeded,
    FirstFeedMismatch,
    InvalidFeedMessage,
    InvalidHeader,
    MessageTooLarge,
    MissingNonce,
    RemoteTimeout,
    TooManyFeeds,
    TooManyQueued,
)
from hyperparty.protocol.wire import KEEP_ALIVE, Wire

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {
    "shared": json.loads((ROOT / ".." / "shared" / "vectors" / "protocol.json").read_text()),
    "ours": json.loads((ROOT / "tests" / "vectors" / "protocol-session.json").read_text()),
}
SIDES = [(src, name, side) for src, d in SOURCES.items() for name, s in d["sessions"].items() for side in s["sides"]]
KEY = bytes(range(32))


def side_data(src: str, name: str, side: str) -> dict:
    return SOURCES[src]["sessions"][name]["sides"][side]


def decode_all(sd: dict, chunks) -> list:
    """Decode one side's wire as its remote would, feeding ``chunks`` (a list of split points)."""
    wire = bytes.fromhex(sd["wire"])
    w = Wire()
    events = []
    pos = 0
    for cut in list(chunks) + [len(wire)]:
        events += w.receive_data(wire[pos:cut])
        pos = cut
        if w.waiting_for_key:
            w.start(bytes.fromhex(sd["encryptionKey"]), bytes.fromhex(sd["discoveryKey"]), b"\x01" * 24)
            events += w.receive_data(b"")
    return events


def names(events) -> list[str]:
    return ["KeepAlive" if t == KEEP_ALIVE else m.TYPE_NAMES[t] for _, t, _ in events]


# --- codec ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in SOURCES["shared"]["encodings"] if n not in ("KeepAlive", "Extension")])
def test_every_message_type_matches_js_bytes(name):
    enc = SOURCES["shared"]["encodings"][name]
    base = name.replace("NoNonce", "").replace("DefaultLength", "").replace("IndexOnly", "")
    type_ = SOURCES["shared"]["typeIds"][base]
    payload = bytes.fromhex(enc["protobuf"])
    msg = m.decode(type_, payload)
    assert msg is not None and m.encode(msg) == payload
    frame = bytes.fromhex(enc["frame"])
    _, pos = varint.decode(frame)
    header, _ = varint.decode(frame, pos)
    w = Wire(encrypt=False)
    w.send(header >> 4, msg)
    assert w.data_to_send() == frame


def test_extension_and_keep_alive_frames():
    w = Wire(encrypt=False)
    w.send(0, m.Extension(0, b"hello"))
    assert w.data_to_send().hex() == SOURCES["shared"]["encodings"]["Extension"]["frame"]


def test_xsalsa20_key_streams_match_js():
    for src, name, side in SIDES:
        sd = side_data(src, name, side)
        c = XSalsa20(bytes.fromhex(sd["encryptionKey"]), bytes.fromhex(sd["nonce"]))
        assert (c.xor(bytes(7)) + c.xor(bytes(57))).hex() == sd["keystreamPrefix64"]


def test_undecodable_payloads_are_ignored_but_bad_feed_raises():
    assert m.decode(3, b"\x10\x01") is None  # Have without its required start
    assert m.decode(9, b"\x08") is None  # truncated varint
    assert m.decode(12, b"\x08\x01") is None  # unknown type
    with pytest.raises(m.MessageError):
        m.decode(0, b"\x12\x01x")


@pytest.mark.parametrize("channel", [1, 7, 8, 300])  # one-byte headers up to channel 7, longer after
def test_wire_drops_undecodable_data_and_requests_and_parses_on(channel):
    from hyperparty.feeds.hypercore.crypto import discovery_key

    tx, rx = Wire(encrypt=True), Wire(encrypt=True)
    tx.start(KEY, discovery_key(KEY), b"\x05" * 24)
    rx.start(KEY, discovery_key(KEY), b"\x06" * 24)
    assert [t for _, t, _ in rx.receive_data(tx.data_to_send())] == [0]  # the Feed frame
    good = [m.Data(5, b"block", [m.Node(11, b"\x01" * 32, 5)], None), m.Request(6, None, None, 3)]
    tx.send(channel, good[0])
    for type_, payload in ((9, b"\x08"), (7, b"\x10\x01"), (9, b"\x08\x01\x1a\x02\x08\x01")):
        body = varint.encode((channel << 4) | type_) + payload
        tx._emit(varint.encode(len(body)) + body)  # truncated varint, no index, a node without its hash
    tx.send(channel, good[1])
    out = rx.receive_data(tx.data_to_send())
    assert [(c, t, msg) for c, t, msg in out] == [(channel, 9, good[0]), (channel, 7, good[1])]
    assert rx.frames_parsed == 1 + 5  # the Feed frame, then the five


# --- whole sessions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("src,name,side", SIDES)
def test_session_bytes_reproduced_and_decoded(src, name, side):
    """Python encodes exactly the bytes JS wrote (same key, nonce, id, messages) and decodes them back."""
    sd = side_data(src, name, side)
    events = decode_all(sd, [])
    assert names(events) == [x["name"] for x in sd["messages"]]
    w = Wire()
    w.start(bytes.fromhex(sd["encryptionKey"]), bytes.fromhex(sd["discoveryKey"]), bytes.fromhex(sd["nonce"]))
    for channel, type_, msg in events[1:]:
        if type_ == KEEP_ALIVE:
            w.send_ping()
        else:
            w.send(channel, msg)
    assert w.data_to_send().hex() == sd["wire"]


@pytest.mark.parametrize("src,name,side", SIDES)
def test_stream_writes_js_handshake_bytes(src, name, side):
    """A ProtocolStream with the recorded id/nonce/options writes JS's first two frames byte for byte."""
    sd = side_data(src, name, side)
    ack = sd["messages"][1]["fields"]["ack"]
    s = ProtocolStream(id=bytes.fromhex(sd["id"]), live=sd["live"], extensions=sd["extensions"], ack=ack,
                       user_data=bytes.fromhex(sd["userData"]) if sd["userData"] else None,
                       nonce=bytes.fromhex(sd["nonce"]))
    s.feed(bytes.fromhex(sd["encryptionKey"]))
    first_two = sum(len(bytes.fromhex(x["frame"])) for x in sd["messages"][:2])
    assert s.data_to_send().hex() == sd["wire"][: 2 * first_two]


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_random_chunking_gives_same_messages(data):
    src, name, side = data.draw(st.sampled_from(SIDES))
    sd = side_data(src, name, side)
    n = len(sd["wire"]) // 2
    cuts = sorted(data.draw(st.lists(st.integers(1, n - 1), max_size=40, unique=True)))
    assert names(decode_all(sd, cuts)) == [x["name"] for x in sd["messages"]]


def test_one_byte_reads():
    for src, name, side in SIDES:
        sd = side_data(src, name, side)
        n = len(sd["wire"]) // 2
        assert names(decode_all(sd, range(1, n))) == [x["name"] for x in sd["messages"]]


# --- property: any message sequence round-trips -------------------------------------------------------

u64 = st.integers(0, 2**53)
opt_u = st.none() | u64
opt_b = st.none() | st.booleans()
b32 = st.binary(min_size=32, max_size=32)
MESSAGES = st.one_of(
    st.builds(m.Feed, b32),
    st.builds(m.Handshake, st.none() | b32, opt_b, st.none() | st.binary(max_size=40),
              st.lists(st.text(min_size=1, max_size=8), max_size=3), opt_b),
    st.builds(m.Info, opt_b, opt_b),
    st.builds(m.Have, u64, opt_u, st.none() | st.binary(max_size=30), opt_b),
    st.builds(m.Unhave, u64, opt_u),
    st.builds(m.Want, u64, opt_u),
    st.builds(m.Unwant, u64, opt_u),
    st.builds(m.Request, u64, opt_u, opt_b, opt_u),
    st.builds(m.Cancel, u64, opt_u, opt_b),
    st.builds(m.Data, u64, st.none() | st.binary(max_size=300),
              st.lists(st.builds(m.Node, u64, b32, u64), max_size=4), st.none() | st.binary(min_size=64, max_size=64)),
    st.builds(m.Extension, st.integers(0, 300), st.binary(max_size=50)),
)


@settings(max_examples=150, deadline=None)
@given(msgs=st.lists(st.tuples(st.integers(0, 255), MESSAGES), max_size=12), encrypt=st.booleans(), data=st.data())
def test_any_message_sequence_round_trips(msgs, encrypt, data):
    dk = bytes(32)
    tx = Wire(encrypt=encrypt)
    tx.start(KEY, dk, b"\x07" * 24 if encrypt else None)
    for channel, msg in msgs:
        tx.send(channel, msg)
    raw = tx.data_to_send()
    cuts = sorted(data.draw(st.lists(st.integers(1, max(1, len(raw) - 1)), max_size=20, unique=True)))
    rx = Wire(encrypt=encrypt)
    rx.start(KEY, dk, b"\x09" * 24 if encrypt else None)
    got = []
    pos = 0
    for cut in cuts + [len(raw)]:
        got += rx.receive_data(raw[pos:cut])
        pos = cut
    assert got[0][2] == m.Feed(dk, b"\x07" * 24 if encrypt else None)
    # a message with every field absent has an empty payload: on channels < 8 the frame body is then a
    # 1-byte header, which hypercore-protocol ignores (bodies < 2 bytes), so it does not come out either
    sent = [(c, msg) for c, msg in msgs if len(varint.encode(c << 4 | msg.TYPE)) + len(m.encode(msg)) >= 2]
    assert [(c, msg) for c, _, msg in got[1:]] == sent


# --- stream semantics ----------------------------------------------------------------------------------


class Recorder:
    def __init__(self):
        self.messages, self.extensions, self.closed = [], [], []

    def on_message(self, ch, msg):
        self.messages.append(msg)

    def on_extension(self, ch, name, payload):
        self.extensions.append((name, payload))

    def on_close(self, ch, err):
        self.closed.append(err)


async def settle(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_handshake_fields_and_extension_negotiation():
    a = ProtocolStream(id=b"A" * 32, live=True, user_data=b"alice", extensions=["b-ext", "party", "a-ext"], ack=True)
    b = ProtocolStream(id=b"B" * 32, extensions=["party", "z-ext", "a-ext"])
    ra, rb = Recorder(), Recorder()
    ca = a.feed(KEY, ra)
    b.on("feed", lambda dk: b.feed(KEY, rb))
    pipe(a, b)
    await settle()
    assert (b.remote_id, b.remote_live, b.remote_user_data, b.remote_ack) == (b"A" * 32, True, b"alice", True)
    assert (a.remote_id, a.remote_live, a.remote_user_data, a.remote_ack) == (b"B" * 32, False, None, False)
    assert a.remote_supports("party") and a.remote_supports("a-ext")
    assert not a.remote_supports("b-ext") and not a.remote_supports("z-ext")
    for name in ("party", "a-ext", "b-ext"):
        ca.extension(name, name.encode())
    assert not ca.extension("unknown", b"x")  # not in our list: nothing sent
    b.channel(ca.discovery_key).extension("z-ext", b"z")
    await settle()
    assert rb.extensions == [("party", b"party"), ("a-ext", b"a-ext")]  # b-ext: b does not know it
    assert ra.extensions == []  # z-ext: a does not know it


async def test_messages_queue_until_the_channel_is_opened_locally():
    a, b = ProtocolStream(), ProtocolStream()
    a.feed(KEY)
    b.on("feed", lambda dk: b.feed(KEY))
    pipe(a, b)
    key2 = bytes(31) + b"\x02"
    ch = a.feed(key2)
    for i in range(5):
        ch.have(i)
    await settle()
    rec = Recorder()
    b.feed(key2, rec)
    await settle()
    assert [x.start for x in rec.messages] == [0, 1, 2, 3, 4]


async def test_too_many_messages_on_an_unopened_channel():
    a, b = ProtocolStream(), ProtocolStream()
    a.feed(KEY)
    b.on("feed", lambda dk: b.feed(KEY) if dk == a.discovery_key else None)
    pipe(a, b)
    ch = a.feed(bytes(31) + b"\x02")
    for i in range(18):
        ch.have(i)
    err = await asyncio.wait_for(wait_closed(b), 2)
    assert isinstance(err, TooManyQueued)
    assert str(err) == "Remote sent too many messages on an unopened feed"


async def test_expected_feeds_finalizes_both_sides():
    a, b = ProtocolStream(expected_feeds=1), ProtocolStream(expected_feeds=1)
    ca = a.feed(KEY)
    holder = {}
    b.on("feed", lambda dk: holder.setdefault("ch", b.feed(KEY)))
    p = pipe(a, b)
    await settle()
    calls = []
    a.on("prefinalize", lambda done: (calls.append(1), done()))
    ca.close()
    assert await asyncio.wait_for(p.wait(), 2) == (None, None)
    assert calls == [1] and a.finalized and b.finalized


def test_keep_alive_and_remote_timeout_with_ticks():
    """Time is passed in: tick() by hand.  A ping after 3 silent ticks; dropped after > 4 ticks unheard."""
    s = ProtocolStream()
    s.feed(KEY)
    s.data_to_send()
    sent = []
    for _ in range(4):
        s.tick()
        sent.append(s.data_to_send())
    assert [len(x) for x in sent] == [0, 0, 0, 1]  # one encrypted 0x00 ping
    s.tick()
    assert not s.destroyed
    s.tick()
    assert s.destroyed and isinstance(s.error, RemoteTimeout) and str(s.error) == "Remote timed out"


def test_bytes_received_reset_the_remote_timeout():
    a, b = ProtocolStream(), ProtocolStream()
    a.feed(KEY)
    b.feed(KEY)
    for _ in range(20):
        a.tick()
        b.receive(a.data_to_send())
        b.tick()
        a.receive(b.data_to_send())
    assert not a.destroyed and not b.destroyed


# --- hostile input -----------------------------------------------------------------------------------


def fresh() -> ProtocolStream:
    s = ProtocolStream()
    s.on("feed", lambda dk: s.feed(KEY))
    return s


def first_frame(nonce: bytes | None = b"\x05" * 24, key: bytes = KEY) -> bytes:
    w = Wire(encrypt=nonce is not None)
    from hyperparty.feeds.hypercore.crypto import discovery_key

    w.start(key, discovery_key(key), nonce)
    return w.data_to_send()


@pytest.mark.parametrize(
    "data,error",
    [
        (b"\xff\xff\xff\xff\xff\x01", MessageTooLarge),  # 5-byte length varint
        (b"\x81\x80\x80\x04" + b"\x00" * 10, MessageTooLarge),  # 8 MiB + 1
        (b"\x03\x01\x0a\x00", InvalidFeedMessage),  # first frame is not a Feed
        (b"\x03\x00\x0a\x01x", InvalidFeedMessage),  # discovery key not 32 bytes
        (b"\x05\xff\xff\xff\xff\xff", InvalidHeader),
    ],
)
def test_garbage_destroys_with_the_js_error(data, error):
    s = fresh()
    s.receive(data)
    assert s.destroyed and isinstance(s.error, error)


def test_first_feed_without_nonce_or_other_key():
    s = fresh()
    s.receive(first_frame(nonce=None))
    assert isinstance(s.error, MissingNonce)
    s = ProtocolStream()
    s.feed(KEY)
    s.receive(first_frame(key=bytes(32)))
    assert isinstance(s.error, FirstFeedMismatch) and str(s.error) == "First shared hypercore must be the same"


def test_random_garbage_never_raises():
    import random

    rnd = random.Random(7)
    for _ in range(300):
        s = fresh()
        s.receive(first_frame() + bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 200))))
        # either destroyed with a protocol error or still parsing: never an exception out of receive()


def test_flood_before_the_key_is_known_is_bounded():
    s = ProtocolStream()  # nobody opens the channel: bytes after the first frame are held
    s.receive(first_frame())
    chunk = bytes(1 << 20)
    for _ in range(40):
        s.receive(chunk)
        if s.destroyed:
            break
    assert isinstance(s.error, BufferLimitExceeded)


def test_ten_thousand_channels_are_refused():
    """A hostile peer opening channels without end: ids >= 256, or endless re-opens, drop the connection."""
    b = fresh()
    b.receive(first_frame())
    from hyperparty.feeds.hypercore.crypto import discovery_key

    hostile = Wire()
    hostile.start(KEY, discovery_key(KEY), b"\x05" * 24)
    hostile.data_to_send()
    for i in range(1, 10_000):
        hostile.send(i, m.Feed(i.to_bytes(32, "big")))
        b.receive(hostile.data_to_send())
        if b.destroyed:
            break
    assert isinstance(b.error, TooManyFeeds) and i == 256

    c = fresh()  # re-opening the same few channel ids with new discovery keys
    c.receive(first_frame())
    hostile = Wire()
    hostile.start(KEY, discovery_key(KEY), b"\x05" * 24)
    hostile.data_to_send()
    for i in range(10_000):
        hostile.send(1 + i % 5, m.Feed(i.to_bytes(32, "big")))
        c.receive(hostile.data_to_send())
        if c.destroyed:
            break
    assert len(c._by_dk) <= 2 * c.max_feeds
    assert c.destroyed or len(c._by_dk) <= 6


def test_message_on_an_unknown_channel():
    a = ProtocolStream()
    ch = a.feed(KEY)
    b = fresh()
    b.receive(a.data_to_send())
    a.wire.send(7, m.Have(1))
    b.receive(a.data_to_send())
    assert isinstance(b.error, InvalidFeedMessage)
    assert ch is not None


async def test_tcp_transport_finalize_hostile_close_and_no_leaked_tasks():
    from hyperparty.protocol import connect_tcp, serve_tcp

    before = asyncio.all_tasks()
    served = []

    def make():
        s = ProtocolStream(expected_feeds=1)
        rec = Recorder()
        s.on("feed", lambda dk: s.feed(KEY, rec))
        served.append((s, rec))
        return s

    server = await serve_tcp("127.0.0.1", 0, make)
    port = server.sockets[0].getsockname()[1]
    client = ProtocolStream(expected_feeds=1)
    ch = client.feed(KEY)
    task = await connect_tcp("127.0.0.1", port, client)
    for _ in range(3):
        ch.have(1)
    await asyncio.sleep(0.05)
    ch.close()  # expected_feeds 1 -> 0: finalize; the server finalizes on EOF
    assert await asyncio.wait_for(task, 5) is None
    assert await asyncio.wait_for(wait_closed(served[0][0]), 5) is None
    assert [x.start for x in served[0][1].messages] == [1, 1, 1]

    # a raw peer that sends half a frame and disconnects
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(first_frame()[:20])
    await writer.drain()
    writer.close()
    await asyncio.wait_for(wait_closed(served[1][0]), 5)
    assert served[1][0].destroyed and served[1][0].channels == []
    server.close()
    await server.wait_closed()
    await asyncio.sleep(0.05)
    leaked = [t for t in asyncio.all_tasks() - before if not t.done() and t is not asyncio.current_task()]
    assert leaked == []


async def test_large_extension_payloads_cross_tcp_intact():
    from hyperparty.protocol import connect_tcp, serve_tcp

    got = []

    class Big:
        def on_extension(self, ch, name, payload):
            got.append(payload)

    def make():
        s = ProtocolStream(extensions=["big"])
        s.on("feed", lambda dk: s.feed(KEY, Big()))
        return s

    server = await serve_tcp("127.0.0.1", 0, make)
    port = server.sockets[0].getsockname()[1]
    client = ProtocolStream(extensions=["big"])
    ch = client.feed(KEY)
    task = await connect_tcp("127.0.0.1", port, client)
    payload = bytes(range(256)) * 8000  # ~2 MB per message
    for _ in range(4):
        ch.extension("big", payload)
    for _ in range(200):
        if len(got) == 4:
            break
        await asyncio.sleep(0.02)
    assert got == [payload] * 4
    client.finalize()
    await asyncio.wait_for(task, 5)
    server.close()
    await server.wait_closed()


@settings(max_examples=200, deadline=None)
@given(msg=st.builds(m.Data, u64, st.none() | st.binary(max_size=300),
                     st.lists(st.builds(m.Node, u64, b32, u64), max_size=4), st.none() | st.binary(max_size=64)),
       extra=st.binary(max_size=12))
def test_fast_data_decoder_agrees_with_the_general_one(msg, extra):
    payload = m.encode(msg) + extra  # trailing bytes: unknown fields, or garbage
    try:
        general = m.Data.decode(payload)
    except (m.MessageError, pb.DecodeError, varint.VarintError):
        general = None
    if general is not None and any(len(n.hash) != 32 for n in general.nodes):
        general = None  # a proof node without a 32-byte hash: dropped like an undecodable payload
    assert m.decode(9, payload) == general
    assert m.decode(9, memoryview(payload)) == general


def _general_request(payload):
    try:
        return m.Request.decode(payload)
    except (m.MessageError, pb.DecodeError, varint.VarintError):
        return None


@settings(max_examples=300, deadline=None)
@given(msg=st.builds(m.Request, u64, st.none() | u64, st.none() | st.booleans(), st.none() | u64),
       extra=st.binary(max_size=12), garbage=st.binary(max_size=24))
def test_fast_request_decoder_agrees_with_the_general_one(msg, extra, garbage):
    for payload in (m.encode(msg), m.encode(msg) + extra, garbage, extra + m.encode(msg)):
        general = _general_request(payload)
        assert m.decode(7, payload) == general
        assert m.decode(7, memoryview(payload)) == general
    # fields out of order, repeated, or non-canonical: the generic decoder decides
    odd = b"\x18\x05\x08" + varint.encode(msg.index) + b"\x20\x01\x20\x02"
    assert m.decode(7, odd) == _general_request(odd) == m.Request(msg.index, None, True, 2)


@settings(max_examples=200, deadline=None)
@given(msg=st.builds(m.Data, u64, st.none() | st.binary(max_size=300),
                     st.lists(st.builds(m.Node, u64, b32, u64), max_size=4), st.none() | st.binary(max_size=64)),
       channel=st.integers(min_value=0, max_value=300))
def test_data_frames_straight_into_the_buffer_match_the_generic_encoder(msg, channel):
    _assert_frame_matches_the_generic_encoder(
        lambda out, header: data_codec.encode_data_into(out, header, msg.index, msg.value, msg.nodes, msg.signature),
        msg, channel)


def _assert_frame_matches_the_generic_encoder(frame_into, msg, channel):
    header = (channel << 4) | msg.TYPE
    body = varint.encode(header) + m.encode(msg)
    out = bytearray(b"queued")
    frame_into(out, header)
    assert bytes(out) == b"queued" + varint.encode(len(body)) + body


@settings(max_examples=200, deadline=None)
@given(msg=st.builds(m.Request, u64, st.none() | u64, st.none() | st.booleans(), st.none() | u64),
       channel=st.integers(min_value=0, max_value=300))
def test_request_frames_straight_into_the_buffer_match_the_generic_encoder(msg, channel):
    _assert_frame_matches_the_generic_encoder(
        lambda out, header: data_codec.encode_request_into(out, header, msg.index, msg.bytes, msg.hash, msg.nodes),
        msg, channel)


@settings(max_examples=150, deadline=None)
@given(msg=st.one_of(
           st.builds(m.Data, u64, st.none() | st.binary(max_size=300),
                     st.lists(st.builds(m.Node, u64, b32, u64), max_size=4), st.none() | st.binary(max_size=64)),
           st.builds(m.Request, u64, st.none() | u64, st.none() | st.booleans() | st.integers(0, 3), st.none() | u64)),
       channel=st.integers(min_value=0, max_value=300), encrypt=st.booleans())
def test_requests_and_data_queue_the_generic_encoders_frames(msg, channel, encrypt):
    """``Wire.send`` of a Request or Data, and ``Wire.send_request``/``send_data`` (what
    ``Channel.request``/``data`` use), against the frame the generic encoder makes, queued as is."""
    from hyperparty.feeds.hypercore.crypto import discovery_key

    body = varint.encode((channel << 4) | msg.TYPE) + m.encode(msg)
    wires = []
    for _ in range(3):
        w = Wire(encrypt=encrypt)
        w.start(KEY, discovery_key(KEY), b"\x05" * 24 if encrypt else None)
        wires.append(w)
    generic, by_message, by_fields = wires
    generic._emit(varint.encode(len(body)) + body)
    by_message.send(channel, msg)
    if isinstance(msg, m.Data):
        by_fields.send_data(channel, msg.index, msg.value, msg.nodes, msg.signature)
    else:
        by_fields.send_request(channel, msg.index, msg.bytes, msg.hash, msg.nodes)
    expected = generic.data_to_send()
    for w in (by_message, by_fields):
        assert w.bytes_sent == generic.bytes_sent
        assert w.data_to_send() == expected
