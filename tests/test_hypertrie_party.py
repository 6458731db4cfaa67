"""A hypertrie inside a party (two-writers rules, Python <-> Python, every backend).

* Alice's local feed is a trie; Bob learns its key by introduction, opens a plain replica, and the feed
  store turns it into a :class:`Hypertrie` once block 0 arrives (the registry recognises the header):
  Bob reads it, and live puts keep flowing (seen by a watch).
* Bob's store is sparse: his replica downloads nothing by itself; reading block 0 tells the kind, and his
  lookups then download only the blocks their walks touch.
"""

from __future__ import annotations

import asyncio
import secrets

import pytest

from hyperparty.feeds.hypercore import Hypercore
from hyperparty.feeds.hypertrie import Hypertrie
from hyperparty.party import Party
from hyperparty.party.feed_store import FeedStore
from hyperparty.party.rules.two_writers import TwoWritersRules
from hyperparty.protocol.transport import pipe, wait_closed

from util import eventually

pytestmark = pytest.mark.timeout(60)


async def _party(backend, *, entries: int, sparse: bool, live: bool = True):
    key = secrets.token_bytes(32)
    alice_store = FeedStore(backend.open("alice"))
    bob_store = FeedStore(backend.open("bob"), sparse=sparse)
    trie = await alice_store.writer("local", kind="hypertrie")
    assert isinstance(trie, Hypertrie)
    for start in range(0, entries, 250):
        await trie.batch([{"type": "put", "key": f"room/{i % 5}/{i}", "value": f"msg {i}".encode()}
                          for i in range(start, min(entries, start + 250))])
    bob_feed = await bob_store.writer("local")
    await bob_feed.append(b"bob 0")
    alice = Party(key, TwoWritersRules(alice_store, trie))
    bob = Party(key, TwoWritersRules(bob_store, bob_feed))
    a, b = alice.replicate(live=live), bob.replicate(live=live)
    pipe(a, b, ticks=0.05)
    return alice_store, bob_store, trie, bob_feed, a, b


@pytest.mark.parametrize("live", [True, False])
async def test_introduced_key_becomes_a_trie_once_block0_arrives(backend, live: bool) -> None:
    alice_store, bob_store, trie, bob_feed, a, b = await _party(backend, entries=60, sparse=False, live=live)
    kinds: list = []
    bob_store.on("kind", kinds.append)
    if not live:
        assert await asyncio.wait_for(wait_closed(a), 15) is None
        assert await asyncio.wait_for(wait_closed(b), 15) is None
    await eventually(lambda: isinstance(bob_store.get(trie.key), Hypertrie), timeout=10, what="the upgrade")
    replica = bob_store.get(trie.key)
    assert isinstance(replica, Hypertrie) and not replica.writable and bob_store.kind_of(replica) == "hypertrie"
    assert kinds in ([replica], [])  # (non-live: the upgrade may have happened before we listened)
    await eventually(lambda: replica.version == trie.version and replica.core.has(0, trie.version), timeout=10,
                     what="the whole trie")
    got = sorted((e.key, e.value) for e in await replica.list("room/2", wait=False))
    assert got == sorted((e.key, e.value) for e in await trie.list("room/2"))
    if live:
        async with replica.watch("news") as changes:
            await trie.put("news/1", b"fresh")
            entry = await changes.next(timeout=10)
            assert (entry.key, entry.value) == ("news/1", b"fresh")
        a.finalize()
    # alice got bob's plain feed as usual
    bob_copy = alice_store.get(bob_feed.key)
    assert isinstance(bob_copy, Hypercore)
    await eventually(lambda: bob_copy.has(0), what="bob's feed")


async def test_sparse_reader_in_a_party(backend) -> None:
    _, bob_store, trie, _, a, b = await _party(backend, entries=1000, sparse=True)
    await eventually(lambda: bob_store.get(trie.key) is not None, timeout=10, what="introduction")
    replica = bob_store.get(trie.key)
    assert isinstance(replica, Hypercore) and replica.sparse
    await replica.update(timeout=10)  # learn the length, download nothing
    assert replica.downloaded() == 0
    # a sparse store does not fetch block 0 by itself: reading it tells the kind, and the store upgrades
    await replica.get(0, timeout=10)
    await eventually(lambda: isinstance(bob_store.get(trie.key), Hypertrie), timeout=10, what="the upgrade")
    reader = bob_store.get(trie.key)
    assert isinstance(reader, Hypertrie) and reader.core is replica
    before = replica.downloaded()
    for i in (3, 500, 999):
        e = await asyncio.wait_for(reader.get(f"room/{i % 5}/{i}"), 10)
        assert e is not None and e.value == f"msg {i}".encode()
    assert await asyncio.wait_for(reader.get("room/9/9"), 10) is None
    fetched = replica.downloaded() - before
    assert 0 < fetched <= 35, fetched  # three walks through a 1001-block trie
    assert replica.downloaded() < trie.version // 10
    a.finalize()
