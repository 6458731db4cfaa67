"""Hostile party members: introductions, ephemeral messages, rule-hook tasks, malformed transactions, and
the party's own code findings of issue 12 (each test fails on the code before it)."""

from __future__ import annotations

import asyncio
import logging
import os

import pytest

from hostile import MiB, ChatTarget, RawPeer, Watch, no_tasks_left
from hyperparty.feeds.hypercore import Hypercore
from hyperparty.party import Party, codec
from hyperparty.party.feed_store import FeedStore, StoreFull
from hyperparty.party.rules.admission import Admission
from hyperparty.party.rules.multifeed import MultifeedRules
from hyperparty.protocol import limits
from hyperparty.protocol import messages as m
from hyperparty.protocol.transport import pipe
from util import eventually


def party_message(message: codec.PartyMessage) -> m.Extension:
    return m.Extension(0, codec.encode(message))


async def party_member(target: ChatTarget) -> RawPeer:
    """A raw member of the chat's party that answered the chat's handshake transaction."""
    p = await RawPeer.connect(target.port)
    p.hello(target.first_key, extensions=["party"])
    p.read_and_discard(party=True)
    await eventually(lambda: any(peer.peer_id is not None for peer in target.node.party.peers), 5)
    await asyncio.sleep(0.1)
    return p


# -- IntroduceFeeds ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("storage", ["memory", "lmdb"])
async def test_three_hundred_random_keys_lock_nobody_out(storage, tmp_path, caplog):
    """One IntroduceFeeds with 300 random keys.  Before: every later peer was destroyed with TooManyFeeds
    (the store held 257 feeds), and an LMDB chat stayed broken after a restart (258 feeds)."""
    caplog.set_level(logging.INFO, logger="hyperparty.net")
    spec = "memory" if storage == "memory" else f"lmdb:{tmp_path / 'chat'}"
    before = asyncio.all_tasks()
    async with ChatTarget(storage=spec) as target:
        store = target.node.store
        assert len(store) == 1
        p = await party_member(target)
        keys = [os.urandom(32) for _ in range(300)]
        p.send(0, party_message(codec.IntroduceFeeds(codec.Transaction("ab" * 12), keys)))
        await asyncio.sleep(0.3)
        assert len(store) == 1  # more keys than a message may carry: refused whole
        assert any("refused 300 feeds" in r.getMessage() for r in caplog.records)
        p.send(0, party_message(codec.IntroduceFeeds(codec.Transaction("ac" * 12), keys[:150])))
        p.send(0, party_message(codec.IntroduceFeeds(codec.Transaction("ad" * 12), keys[150:])))
        await eventually(lambda: sum("of 150 feeds" in r.getMessage() for r in caplog.records) == 2, 10)
        assert len(store) == 1 + limits.MAX_UNPROVEN_PER_PEER  # the rest were refused, nothing stored
        assert any("refused 118 of 150 feeds" in r.getMessage() for r in caplog.records)
        await target.legit_fetch()  # a later peer is served
        await p.close()
        await eventually(lambda: len(store) == 1, 5, "the unproven feeds to be discarded")
        await target.legit_fetch()
    if storage == "lmdb":
        async with ChatTarget(storage=spec) as target:
            assert len(target.node.store) == 1  # nothing was kept for them across the restart
            await target.legit_fetch()
    await no_tasks_left(before)


async def test_a_message_with_too_many_keys_is_refused_whole():
    async with ChatTarget() as target:
        p = await party_member(target)
        keys = [os.urandom(32) for _ in range(limits.MAX_KEYS_PER_MESSAGE + 1)]
        p.send(0, party_message(codec.IntroduceFeeds(codec.Transaction("cd" * 12), keys)))
        await asyncio.sleep(0.3)
        assert len(target.node.store) == 1
        await p.close()


async def test_introductions_from_many_peers_stop_at_the_store_limit(tmp_path):
    store = FeedStore("memory", max_feeds=5)
    await store.ready()
    admission = Admission(store, per_peer=3)

    class FakePeer:
        closed = False

    a, b = FakePeer(), FakePeer()
    first = await admission.admit(a, [os.urandom(32) for _ in range(10)])  # type: ignore[arg-type]
    second = await admission.admit(b, [os.urandom(32) for _ in range(10)])  # type: ignore[arg-type]
    assert len(first) == 3 and len(second) == 2 and len(store) == 5
    with pytest.raises(StoreFull):
        await store.add(os.urandom(32))
    a.closed = True
    await admission.release(a)  # type: ignore[arg-type]
    assert len(store) == 2
    third = await admission.admit(b, [os.urandom(32), os.urandom(32)])  # type: ignore[arg-type]
    assert len(third) == 1  # b's third unproven feed; its fourth is over its limit
    await store.close()


async def test_an_unproven_feed_an_open_connection_replicates_is_kept():
    """A duplicate connection that closes right after introducing a (still empty) feed must not take the
    feed away from the connection that stays (two chats finding each other through discovery)."""
    from hyperparty.protocol import ProtocolStream

    store = FeedStore("memory")
    await store.ready()
    admission = Admission(store)

    class FakePeer:
        closed = False

    a, b = FakePeer(), FakePeer()
    key = os.urandom(32)
    [feed] = await admission.admit(a, [key])  # type: ignore[arg-type]
    stream = ProtocolStream(live=True)
    await feed.attach(stream, live=True)
    a.closed = True
    await admission.release(a)  # type: ignore[arg-type]
    assert store.get(key) is feed
    stream.destroy()
    await admission.release(b)  # type: ignore[arg-type]  # any later departure looks again
    assert store.get(key) is None
    await store.close()


async def test_a_discarded_namespace_is_reused_and_reloads(tmp_path):
    spec = f"file:{tmp_path / 'store'}"
    store = FeedStore(spec)
    await store.ready()
    local = await store.writer("local")
    assert isinstance(local, Hypercore)
    await local.append(b"hi")
    gone = await store.add(os.urandom(32))
    kept_key = os.urandom(32)
    await store.add(kept_key)
    await store.discard(gone)
    assert len(store) == 2 and store.get(gone.key) is None
    await store.close()
    again = FeedStore(spec)
    await again.ready()
    assert {f.key for f in again.feeds()} == {local.key, kept_key}  # loading went past the hole
    new_key = os.urandom(32)
    await again.add(new_key)
    assert again.name_of(again.get(new_key)) == "1"  # the freed number, reused
    with pytest.raises(ValueError):
        await again.discard(again.get(local.key))
    await again.close()


# -- ephemeral messages -------------------------------------------------------------------------------------------


async def test_two_hundred_big_ephemeral_messages_are_not_printed():
    """200 x 1 MiB EphemeralMessages.  Before: all 200 MiB reached the chat's output."""
    before = asyncio.all_tasks()
    async with ChatTarget() as target:
        p = await party_member(target)
        payload = codec.encode(codec.EphemeralMessage("chat", b"x" * MiB))
        async with Watch() as watch:
            for _ in range(200):
                p.send(0, m.Extension(0, payload))
                await p.drain()
            p.send(0, party_message(codec.EphemeralMessage("chat", b"still heard")))
            await eventually(lambda: target.ephemeral, 5)
        assert target.ephemeral == ["still heard"] and watch.peak < 64 * MiB
        await target.legit_fetch()
        await p.close()
    await no_tasks_left(before)


async def test_ephemeral_messages_are_rate_limited(caplog, monkeypatch):
    from hyperparty.clock import ManualClock
    from hyperparty.party import party as party_module

    clock = ManualClock()
    monkeypatch.setattr(party_module, "default_clock", lambda: clock)  # the party's clock stands still
    caplog.set_level(logging.INFO, logger="hyperparty.net")
    async with ChatTarget() as target:
        p = await party_member(target)
        p.send_many(0, [party_message(codec.EphemeralMessage("chat", b"spam")) for _ in range(1000)])
        await eventually(lambda: len(target.ephemeral) >= limits.EPHEMERAL_BURST, 5)
        await asyncio.sleep(0.3)
        assert len(target.ephemeral) == limits.EPHEMERAL_BURST
        lines = [r for r in caplog.records if "dropped" in r.getMessage() and "ephemeral" in r.getMessage()]
        assert len(lines) == 1  # one line a second at most
        await clock.advance(1.0)  # a second later, 32 more may pass
        p.send_many(0, [party_message(codec.EphemeralMessage("chat", b"more")) for _ in range(100)])
        await eventually(lambda: len(target.ephemeral) >= limits.EPHEMERAL_BURST + 32, 5)
        await asyncio.sleep(0.3)
        assert len(target.ephemeral) == limits.EPHEMERAL_BURST + 32
        await p.close()


# -- transactions and tasks ----------------------------------------------------------------------------------------


class Blocking(MultifeedRules):
    """Rules whose request hook waits on an event (to pile up tasks)."""

    uses_party_extension = True
    manages_expected_feeds = False
    extensions = ()

    def __init__(self, store: FeedStore) -> None:
        super().__init__(store)
        self.release = asyncio.Event()
        self.calls = 0

    def stream_options(self):
        return {}

    async def ready(self, peer):
        pass

    async def handshake(self, peer):
        pass

    async def on_request(self, peer, type, value):
        self.calls += 1
        await self.release.wait()
        return ("ok", value)


async def two_parties():
    stores = [FeedStore("memory"), FeedStore("memory")]
    rules = [Blocking(s) for s in stores]
    key = bytes(range(32))
    a, b = Party(key, rules[0]), Party(key, rules[1])
    sa, sb = a.replicate(live=True), b.replicate(live=True)
    p = pipe(sa, sb)
    await eventually(lambda: a.peers and b.peers)
    return rules, a, b, p, stores


async def test_rule_hook_tasks_per_peer_are_bounded():
    """1 000 requests whose hook blocks.  Before: 1 000 tasks at once."""
    rules, a, b, p, stores = await two_parties()
    peer_of_b = a.peers[0]
    asked = [asyncio.ensure_future(b.peers[0].request("ask", bytes([i % 256]))) for i in range(1000)]
    await asyncio.sleep(0.3)
    assert rules[0].calls == limits.MAX_PEER_TASKS and len(peer_of_b._tasks) == limits.MAX_PEER_TASKS
    assert not peer_of_b.stream.wants_input
    rules[0].release.set()
    answers = await asyncio.wait_for(asyncio.gather(*asked), 20)
    assert len(answers) == 1000 and answers[5] == ("ok", bytes([5]))
    assert peer_of_b.stream.wants_input
    for s in (p.a, p.b):
        s.destroy()
    for store in stores:
        await store.close()


@pytest.mark.parametrize("message", [
    codec.IntroduceFeeds(None, [bytes(32)]),
    codec.Request(None, "ask", b"x"),
])
async def test_a_transaction_less_message_never_reaches_the_rules(message):
    rules, a, b, p, stores = await two_parties()
    errors: list = []
    a.on("error", lambda exc, peer: errors.append(exc))
    called: list = []
    rules[0].on_introduce_feeds = lambda *args: called.append(args)  # type: ignore[method-assign]
    b.peers[0]._send(message)
    await eventually(lambda: p.a.destroyed, 5)
    assert called == [] and rules[0].calls == 0
    assert isinstance(errors[0], codec.PartyCodecError) and "without its transaction" in str(errors[0])
    for store in stores:
        await store.close()


async def test_party_messages_held_before_the_handshake_are_bounded():
    """(The stream delivers extension frames only after the remote's handshake, so this list is a
    safety net: it is driven directly.)"""
    from hyperparty.party.party import TooManyEarlyMessages

    party = Party(bytes(32), Blocking(FeedStore("memory")))
    stream = party.replicate(live=True)
    channel = stream.channel(party.discovery_key)
    assert channel is not None
    binding = channel.handler.binding
    payload = codec.encode(codec.EphemeralMessage("chat", b"early"))
    for _ in range(limits.MAX_EARLY_MESSAGES):
        binding.on_extension("party", payload)
    with pytest.raises(TooManyEarlyMessages):
        binding.on_extension("party", payload)
    stream.destroy()


async def test_on_peer_removed_errors_are_logged(expect_errors):
    """Before: the failure was marked retrieved and vanished."""
    rules, a, b, p, stores = await two_parties()

    async def broken(peer):
        raise RuntimeError("cleanup bug")

    rules[0].on_peer_removed = broken  # type: ignore[method-assign]
    errors: list = []
    a.on("error", lambda exc, peer: errors.append(exc))
    p.a.destroy()
    await eventually(lambda: errors, 5)
    assert any("on_peer_removed failed" in r.getMessage() for r in expect_errors)
    for store in stores:
        await store.close()


async def test_authorization_sharing_failures_are_logged(expect_errors):
    """Before: a task nobody kept (``asyncio.ensure_future`` without a reference) swallowed them."""
    from hyperparty.party.rules.authorized import AuthorizedWritersRules, authorization_record

    store = FeedStore("memory")
    await store.ready()
    local = await store.writer("local")
    root = Hypercore("memory")
    await root.ready()
    rules = AuthorizedWritersRules(store, local, root.key)  # type: ignore[arg-type]
    replica = await store.add(root.key)
    rules._watch(replica)

    async def broken():
        raise RuntimeError("share bug")

    rules._on_new_authorizations = broken  # type: ignore[method-assign]
    await root.append(authorization_record(os.urandom(32)))
    stream = root.replicate(live=False)
    p = pipe(stream, replica.replicate(live=False))
    await asyncio.wait_for(p.wait(), 10)
    await eventually(lambda: any("sharing new authorizations failed" in r.getMessage() for r in expect_errors), 5)
    await store.close()
    await root.close()


async def test_unauthorized_introductions_are_one_error_per_message():
    from hyperparty.party.chat import ChatNode
    from hyperparty.party.errors import UnauthorizedFeed

    node = ChatNode("memory", rules="authorized")
    await node.start()
    port = await node.listen("127.0.0.1", 0)
    errors: list = []
    assert node.party is not None
    node.party.on("error", lambda exc, peer: errors.append(exc))
    p = await RawPeer.connect(port)
    p.hello(node.party.key, extensions=["party"])
    p.read_and_discard(party=True)
    await eventually(lambda: node.party.peers, 5)
    p.send(0, party_message(codec.IntroduceFeeds(codec.Transaction("ef" * 12), [os.urandom(32) for _ in range(200)])))
    await eventually(lambda: errors, 5)
    await asyncio.sleep(0.2)
    assert len(errors) == 1 and isinstance(errors[0], UnauthorizedFeed) and "199 more" in str(errors[0])
    assert len(node.store) == 1
    await p.close()
    await node.close()


# -- multifeed ---------------------------------------------------------------------------------------------------


async def test_multifeed_offers_are_bounded(caplog):
    """A multifeed peer offering feeds without end.  Before: every offered key was kept and added."""
    import json

    from hyperparty.party.chat import ChatNode

    caplog.set_level(logging.INFO, logger="hyperparty.net")
    node = ChatNode("memory", rules="multifeed")
    await node.start()
    port = await node.listen("127.0.0.1", 0)
    assert node.party is not None
    p = await RawPeer.connect(port)
    header = json.dumps({"client": "MULTIFEED", "version": "3.0.0"}).encode()
    extensions = ["MANIFEST", "REPLICATE_FEEDS", "REQUEST_FEEDS"]
    p.hello(node.party.key, extensions=extensions, user_data=header)
    p.read_and_discard()
    await eventually(lambda: node.party.peers, 5)
    peer = node.party.peers[0]
    ids = {name: i for i, name in enumerate(sorted(extensions))}

    def manifest(n: int) -> m.Extension:
        keys = [os.urandom(32).hex() for _ in range(n)]
        return m.Extension(ids["MANIFEST"], json.dumps({"keys": keys}).encode())

    p.send(0, manifest(10_000))  # refused whole
    for _ in range(20):
        p.send(0, manifest(100))  # 2 000 keys in all: only 256 kept
    await asyncio.sleep(0.5)
    assert len(peer.state["remote_offer"]) <= limits.MAX_KEYS_PER_MESSAGE
    assert len(peer.state["requested"]) <= limits.MAX_KEYS_PER_MESSAGE
    replicate = [k for k in peer.state["requested"]]
    p.send(0, m.Extension(ids["REPLICATE_FEEDS"], json.dumps(replicate).encode()))
    await asyncio.sleep(0.5)
    assert len(node.store) <= node.store.max_feeds
    await p.close()
    await eventually(lambda: len(node.store) == 1, 5, "the unproven offered feeds to be discarded")
    await node.close()


# -- cores and stores closing ------------------------------------------------------------------------------------------


async def test_closing_a_core_closes_its_channel_and_the_stream_goes_on():
    """Before the fix a closed core's channel stayed attached, dropped every message, and the remote's
    request timeout then tore down the whole shared stream."""
    from hyperparty.protocol import ProtocolStream

    writers = [Hypercore("memory") for _ in range(2)]
    for w in writers:
        await w.ready()
        await w.append([b"a", b"b"])
    readers = [Hypercore("memory", key=w.key) for w in writers]
    for r in readers:
        await r.ready()
    sa, sb = ProtocolStream(live=True), ProtocolStream(live=True)
    for w in writers:
        await w.attach(sa, live=True)
    for r in readers:
        await r.attach(sb, live=True)
    p = pipe(sa, sb, ticks=0.05)
    await eventually(lambda: all(r.length == 2 for r in readers))
    await readers[0].close()
    assert len(sb.channels) == 1 and not sb.destroyed
    await writers[1].append(b"c")
    await eventually(lambda: readers[1].length == 3)
    await asyncio.sleep(0.6)  # > REQUEST_TICKS ticks
    assert not sa.destroyed and not sb.destroyed
    sa.destroy()
    await p.wait()
    for c in writers + readers[1:]:
        await c.close()


async def test_closing_a_feed_store_with_streams_attached_logs_nothing():
    from hyperparty.party.chat import ChatNode

    a = ChatNode("memory", party_key=bytes(32))
    b = ChatNode("memory", party_key=bytes(32))
    await a.start()
    await b.start()
    port = await a.listen("127.0.0.1", 0)
    await a.say("hi")
    await b.connect("127.0.0.1", port)
    assert b.party is not None
    await eventually(lambda: b.store.get(a.local.key) is not None and b.store.get(a.local.key).length == 1)
    stream = b.party.peers[0].stream
    await b.store.close()  # the feeds close their channels first; the stream itself survives
    assert stream.channels == [c for c in stream.channels if c.discovery_key == b.party.discovery_key]
    await asyncio.sleep(0.2)
    await a.close()
    await b.close()


async def test_an_interrupted_open_is_not_a_permanent_error(monkeypatch):
    """Before: a KeyboardInterrupt (or a cancellation) while opening was stored and raised forever."""
    core = Hypercore("memory")
    real = Hypercore._open
    calls = []

    def interrupted(self):
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt()
        return real(self)

    monkeypatch.setattr(Hypercore, "_open", interrupted)
    with pytest.raises(KeyboardInterrupt):
        await core.ready()
    await core.ready()
    assert core.opened and len(calls) == 2
    await core.close()
