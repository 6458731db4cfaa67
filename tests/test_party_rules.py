"""The ready-made rule sets between Python peers: two-writers, multifeed-compatible, authorized writers."""

from __future__ import annotations

import asyncio

from hyperparty.party import UnauthorizedFeed
from hyperparty.party.chat import ChatNode
from hyperparty.protocol import pipe
from hyperparty.storage import MemoryStorage, open_storage

from util import eventually as until

PARTY = bytes(range(32))


def connect(a: ChatNode, b: ChatNode, live=True):
    return pipe(a.party.replicate(live=live), b.party.replicate(live=live))


def has_blocks(node: ChatNode, key: bytes, n: int) -> bool:
    core = node.store.get(key)
    return core is not None and core.length >= n and core.has(0, n)


async def started(*nodes: ChatNode):
    for n in nodes:
        await n.start()
    return nodes


async def test_two_writers_spread_feeds_along_a_chain():
    a, b, c = await started(*(ChatNode(MemoryStorage(), party_key=PARTY) for _ in range(3)))
    await a.say("from a")
    await b.say("from b")
    await c.say("from c")
    connect(a, b)
    connect(b, c)
    for node in (a, b, c):
        for other in (a, b, c):
            await until(lambda: has_blocks(node, other.local.key, 1), what="every feed everywhere")
    assert await c.store.get(a.local.key).get(0) == b"from a"
    await a.say("later from a")  # live: new blocks keep flowing through b
    await until(lambda: has_blocks(c, a.local.key, 2), what="live append through the middle peer")


async def test_multifeed_rules_between_python_peers_live_and_non_live():
    a, b = await started(ChatNode(MemoryStorage(), rules="multifeed"), ChatNode(MemoryStorage(), rules="multifeed"))
    await a.say("a1")
    await b.say("b1")
    await b.say("b2")
    errors = await asyncio.wait_for(connect(a, b, live=False).wait(), 10)
    assert errors == (None, None)  # non-live multifeed streams end by themselves
    assert has_blocks(a, b.local.key, 2) and has_blocks(b, a.local.key, 1)
    assert {c.key for c in a.store.feeds()} == {a.local.key, b.local.key}
    connect(a, b, live=True)
    await a.say("a2")
    await until(lambda: has_blocks(b, a.local.key, 2), what="live multifeed append")


async def test_authorized_writers(tmp_path):
    creator = ChatNode(open_storage(f"lmdb:{tmp_path / 'creator'}"), rules="authorized")
    await creator.start()
    root = creator.local.key
    bob = ChatNode(MemoryStorage(), rules="authorized", party_key=root)
    carol = ChatNode(MemoryStorage(), rules="authorized", party_key=root)
    mallory = ChatNode(MemoryStorage(), rules="authorized", party_key=root)
    await started(bob, carol, mallory)
    errors = []
    creator.party.on("error", lambda err, peer: errors.append(err))
    await creator.say("hello from the creator")
    await creator.authorize(bob.local.key)
    await bob.say("bob is authorized")
    await mallory.say("mallory is not")
    connect(creator, bob)
    connect(creator, carol)
    connect(creator, mallory)
    await until(lambda: has_blocks(carol, bob.local.key, 1), what="bob's feed reaching carol via the creator")
    await until(lambda: has_blocks(mallory, root, 1), what="the root feed reaching mallory")
    # mallory's rules never offer her unauthorized feed; she forces it on the creator by hand
    await until(lambda: mallory.party.peers, what="mallory's connection")
    intruder = mallory.party.peers[0]
    await intruder.replicate(mallory.local)
    await intruder.introduce_feeds([mallory.local.key])
    await until(lambda: any(isinstance(e, UnauthorizedFeed) for e in errors), what="an UnauthorizedFeed error")
    await asyncio.sleep(0.1)
    for node in (creator, bob, carol):
        assert node.store.get(mallory.local.key) is None or node.store.get(mallory.local.key).length == 0
    assert creator.rules.is_authorized(bob.local.key) and not creator.rules.is_authorized(mallory.local.key)

    # authorization is a signed record in the creator's feed: it survives a restart
    await creator.close()
    again = ChatNode(open_storage(f"lmdb:{tmp_path / 'creator'}"), rules="authorized")
    await again.start()
    try:
        assert again.local.key == root and again.rules.is_authorized(bob.local.key)
        assert not again.rules.is_authorized(mallory.local.key)
    finally:
        await again.close()
    for node in (bob, carol, mallory):
        await node.close()


async def test_root_feed_on_the_party_channel_commits_its_writes(tmp_path):
    """The authorized rules' root feed replicates on the party channel itself; what it stores must be
    committed after every received chunk (no write transaction left open on the LMDB environment)."""
    creator = ChatNode(open_storage(f"lmdb:{tmp_path / 'c'}"), rules="authorized")
    await creator.start()
    for i in range(20):
        await creator.say(f"root block {i}")
    reader = ChatNode(open_storage(f"lmdb:{tmp_path / 'r'}"), rules="authorized", party_key=creator.local.key)
    await reader.start()
    connect(creator, reader)
    await until(lambda: has_blocks(reader, creator.local.key, 20), what="the root feed on the party channel")
    await asyncio.sleep(0.05)
    assert reader.storage._env.txn is None and creator.storage._env.txn is None
    await reader.close()
    await creator.close()
