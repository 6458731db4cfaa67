"""A hyperdb inside a party (party/rules/hyperdb.py): the party's authorized feeds are the db's authorized
writers — authorizing through the rules writes the db's authorization entry, and what the db says is what
the rules say; each peer replicates the db (writers learned during the session join it); a channel for a
writer nobody authorized is refused; live and non-live sessions."""

from __future__ import annotations

import asyncio

import pytest

from hyperparty.crypto import key_pair
from hyperparty.feeds.hyperdb import HyperDB
from hyperparty.party import Party, UnauthorizedFeed
from hyperparty.party.rules.hyperdb import HyperDBRules
from hyperparty.protocol.transport import pipe, wait_closed
from util import eventually

pytestmark = pytest.mark.timeout(60)
TIMEOUT = 10


async def member(backend, name: str, key: bytes | None = None, seed: int = 0) -> tuple[HyperDB, HyperDBRules, Party]:
    if key is None:
        pk, sk = key_pair(bytes([seed]) * 32)
        db = HyperDB(backend.open(name), pk, sk, value_encoding="utf-8", timeout=TIMEOUT)
    else:
        db = HyperDB(backend.open(name), key, value_encoding="utf-8", local_secret_key=key_pair(bytes([seed]) * 32)[1],
                     timeout=TIMEOUT)
    await db.ready()
    rules = HyperDBRules(db)
    return db, rules, Party(db.key, rules)


async def values(db: HyperDB, key: str) -> list[str]:
    return sorted(n.value for n in await db.get(key))


async def test_one_record_of_trust_live(backend) -> None:
    creator, c_rules, c_party = await member(backend, "creator", seed=121)
    bob, b_rules, b_party = await member(backend, "bob", creator.key, seed=122)
    await creator.put("hello", "from the creator")
    await bob.put("early", "bob before authorization")
    pipe(c_party.replicate(live=True), b_party.replicate(live=True), ticks=0.05)
    await eventually(lambda: bob.source.length == creator.source.length, TIMEOUT, "bob fetching the source")
    assert await values(bob, "hello") == ["from the creator"]
    assert not b_rules.writable and not c_rules.is_authorized(bob.local_key)
    seq = await c_rules.authorize(bob.local_key)  # through the rules: the db's authorization entry
    node = (await creator.get("", deletes=True))[0]
    assert node.seq == seq and node.key == ""
    assert await creator.authorized(bob.local_key) and c_rules.authorized == creator.authorized_keys()
    await eventually(lambda: b_rules.writable, TIMEOUT, "bob learning it is authorized")
    assert b_rules.authorized == bob.authorized_keys() == [creator.key, bob.local_key]
    await eventually(lambda: len(creator.cores()) == 2 and creator.cores()[1].length == bob.local.length, TIMEOUT)
    assert await values(creator, "early") == ["bob before authorization"]
    await bob.put("later", "bob after")
    await eventually(lambda: creator.cores()[1].length == bob.local.length, TIMEOUT, "bob's later put")
    assert await values(creator, "later") == ["bob after"]
    # the db itself authorizes (e.g. from the db CLI): the rules agree at once, no second record
    carol_key = key_pair(bytes([123]) * 32)[0]
    await bob.authorize(carol_key)
    assert b_rules.is_authorized(carol_key)
    await eventually(lambda: c_rules.is_authorized(carol_key), TIMEOUT, "the creator learning carol through bob")
    for db in (creator, bob):
        await db.close()


async def test_unauthorized_writer_is_refused(backend) -> None:
    creator, c_rules, c_party = await member(backend, "creator", seed=131)
    mallory, m_rules, m_party = await member(backend, "mallory", creator.key, seed=132)
    await mallory.put("evil", "x")
    errors: list[BaseException] = []
    c_party.on("error", lambda err, peer: errors.append(err))
    a, m = c_party.replicate(live=True), m_party.replicate(live=True)
    pipe(a, m, ticks=0.05)
    await eventually(lambda: mallory.source.length == creator.source.length, TIMEOUT)
    await mallory.local.attach(m, live=True)  # she forces her writer's channel on the creator
    await eventually(lambda: any(isinstance(e, UnauthorizedFeed) for e in errors), TIMEOUT, "the refusal")
    assert mallory.local_key not in [w.key for w in creator.writers]
    assert await creator.get("evil") == [] and not c_rules.is_authorized(mallory.local_key)
    a.finalize()
    for db in (creator, mallory):
        await db.close()


async def test_non_live_party_session_replicates_every_writer(backend) -> None:
    creator, c_rules, c_party = await member(backend, "creator", seed=141)
    bob, b_rules, b_party = await member(backend, "bob", creator.key, seed=142)
    await c_rules.authorize(bob.local_key)
    await bob.put("b", "2")  # before bob knows it is authorized
    await creator.put("a", "1")
    s1, s2 = c_party.replicate(live=False), b_party.replicate(live=False)
    pipe(s1, s2)
    assert [await asyncio.wait_for(wait_closed(s), TIMEOUT) for s in (s1, s2)] == [None, None]
    for db in (creator, bob):
        assert {g[0].key: [n.value for n in g] for g in await db.list()} == {"a": ["1"], "b": ["2"]}
    for db in (creator, bob):
        await db.close()


@pytest.mark.parametrize("live", [True, False])
async def test_feed_store_recognises_an_introduced_db(backend, live: bool) -> None:
    """Two-writers party: alice's party feed is a hyperdb (FeedStore kind "hyperdb"); bob knows only its
    key, opens a plain replica, and the store turns it into a HyperDB when block 0 arrives."""
    import secrets

    from hyperparty.party.feed_store import FeedStore
    from hyperparty.party.rules.two_writers import TwoWritersRules

    alice_store, bob_store = FeedStore(backend.open("alice")), FeedStore(backend.open("bob"))
    db = await alice_store.writer("local", kind="hyperdb")
    assert isinstance(db, HyperDB)
    await db.put("k", b"v")
    await db.authorize(key_pair(bytes([151]) * 32)[0])  # a second writer: learned by bob's replica
    bob_feed = await bob_store.writer("local")
    await bob_feed.append(b"bob 0")
    kinds: list = []
    bob_store.on("kind", kinds.append)
    party_key = secrets.token_bytes(32)
    a = Party(party_key, TwoWritersRules(alice_store, db)).replicate(live=live)
    b = Party(party_key, TwoWritersRules(bob_store, bob_feed)).replicate(live=live)
    pipe(a, b, ticks=0.05)
    if live:
        await eventually(lambda: kinds and len(kinds[0].cores()) == 2, TIMEOUT, "the db recognised, writers learned")
        a.finalize()
    else:
        assert await asyncio.wait_for(wait_closed(a), 15) is None
        assert await asyncio.wait_for(wait_closed(b), 15) is None
    replica = bob_store.get(db.key)
    assert isinstance(replica, HyperDB) and kinds == [replica]
    assert [n.value for n in await replica.get("k")] == [b"v"]
    assert [c.key for c in replica.cores()] == [c.key for c in db.cores()]
    assert bob_store.by_discovery_key(replica.cores()[1].discovery_key) is replica
    await alice_store.close()
    await bob_store.close()
