"""Feeds whose cores are learned during replication, and feeds joining a non-live session late, on a party.

The two failures the groundwork fixed, Python <-> Python on a party (the bare-stream versions are in the
Feed contract suite):

* a two-core feed (tests/pair_feed.py: its body core's key is in head block 0) introduced to a peer that
  only knows its key: the peer opens a plain replica, recognises the kind from block 0 (feed registry),
  learns the body core and replicates it — live and non-live, and the non-live session still ends;
* a non-live session ends when a feed is attached after another one already finished (the expected
  channel count is added to, never overwritten).
"""

from __future__ import annotations

import asyncio
import secrets

import pytest

from hyperparty.feeds.hypercore import Hypercore
from hyperparty.party import Party, Rules
from hyperparty.party.feed_store import FeedStore
from hyperparty.party.rules.two_writers import TwoWritersRules
from hyperparty.protocol.transport import pipe, wait_closed

from pair_feed import PairFeed
from util import eventually

pytestmark = pytest.mark.timeout(30)


async def _pair_party(backend, *, live: bool):
    key = secrets.token_bytes(32)
    alice_store = FeedStore(backend.open("alice"))
    bob_store = FeedStore(backend.open("bob"))
    alice_feed = await alice_store.writer("local", kind=PairFeed.KIND)
    await alice_feed.append(b"alice 0")
    await alice_feed.append(b"alice 1")
    bob_feed = await bob_store.writer("local")
    await bob_feed.append(b"bob 0")
    alice = Party(key, TwoWritersRules(alice_store, alice_feed))
    bob = Party(key, TwoWritersRules(bob_store, bob_feed))
    a, b = alice.replicate(live=live), bob.replicate(live=live)
    pipe(a, b, ticks=0.05)
    return alice_store, bob_store, alice_feed, bob_feed, a, b


async def _body(store: FeedStore, key: bytes) -> list[bytes]:
    feed = store.get(key)
    if not isinstance(feed, PairFeed) or feed.body is None:
        return []
    body = feed.body
    return [await body.get(i, wait=False) for i in range(body.length) if body.has(i)]


@pytest.mark.parametrize("live", [True, False])
async def test_introduced_two_core_feed_replicates_its_learned_core(backend, live: bool) -> None:
    alice_store, bob_store, alice_feed, bob_feed, a, b = await _pair_party(backend, live=live)
    kinds = []
    bob_store.on("kind", kinds.append)
    if live:
        await eventually(lambda: bob_store.get(alice_feed.key) is not None, what="introduction")

        async def watch() -> None:
            while await _body(bob_store, alice_feed.key) != [b"alice 0", b"alice 1"]:
                await asyncio.sleep(0.02)

        await asyncio.wait_for(watch(), 10)
        await alice_feed.append(b"alice 2")  # live: later appends to the learned core flow too
        await eventually(lambda: bob_store.get(alice_feed.key).body.has(2), what="live append")
        a.finalize()
    else:
        # non-live: both sides end by themselves once every channel, the learned one included, is done
        assert await asyncio.wait_for(wait_closed(a), 10) is None
        assert await asyncio.wait_for(wait_closed(b), 10) is None
    assert await _body(bob_store, alice_feed.key) == [b"alice 0", b"alice 1"] + ([b"alice 2"] if live else [])
    assert [type(f) for f in kinds] == [PairFeed]
    replica = bob_store.get(alice_feed.key)
    assert bob_store.by_discovery_key(replica.body.discovery_key) is replica  # learned core indexed
    # alice got bob's plain feed as usual
    bob_copy = alice_store.get(bob_feed.key)
    assert isinstance(bob_copy, Hypercore) and await bob_copy.get(0, wait=False) == b"bob 0"


async def test_upgraded_replica_is_reloaded_with_its_kind(backend) -> None:
    _, bob_store, alice_feed, _, a, b = await _pair_party(backend, live=False)
    await asyncio.wait_for(wait_closed(b), 10)
    await bob_store.close()
    again = FeedStore(backend.open("bob"))
    await again.ready()
    replica = again.get(alice_feed.key)
    assert isinstance(replica, PairFeed)
    assert await _body(again, alice_feed.key) == [b"alice 0", b"alice 1"]
    await again.close()


class _ScriptRules(Rules):
    """Replicates the feeds it is given at handshake; the test replicates more later by hand."""

    name = "script"

    def __init__(self, feeds):
        self.initial = list(feeds)
        self.by_dk = {}

    async def handshake(self, peer):
        for feed in self.initial:
            await peer.replicate(feed)

    async def find_feed(self, peer, discovery_key):
        return None  # channels are opened by the script only


async def test_non_live_party_ends_when_a_feed_joins_after_another_finished(backend) -> None:
    writers = []
    for name in ("wa", "wb", "wc"):
        core = Hypercore(backend.open(name))
        await core.append([f"{name}-{i}".encode() for i in range(4)])
        writers.append(core)
    wa, wb, wc = writers
    ra, rb, rc = (Hypercore(backend.open("r" + w.key.hex()[:6]), key=w.key) for w in writers)
    key = secrets.token_bytes(32)
    alice = Party(key, _ScriptRules([wa, wb]))  # wb: bob replicates its copy only later
    bob = Party(key, _ScriptRules([ra, rc]))  # rc: alice replicates wc only later
    a, b = alice.replicate(live=False), bob.replicate(live=False)
    pipe(a, b, ticks=0.05)
    await eventually(lambda: ra.length == 4 and ra.has(0, 4), what="the first feed")
    await eventually(lambda: alice.peers and bob.peers, what="peers")
    await alice.peers[0].replicate(wc)
    await bob.peers[0].replicate(rb)
    assert await asyncio.wait_for(wait_closed(a), 10) is None
    assert await asyncio.wait_for(wait_closed(b), 10) is None
    for r, w in ((ra, wa), (rb, wb), (rc, wc)):
        assert r.length == w.length and r.has(0, w.length)
