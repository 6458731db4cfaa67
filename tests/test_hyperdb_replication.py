"""HyperDB replication on protocol streams (Python on both sides; JS interop is in tests/interop).

* a two-writer db, live: the clone sends its writer key as handshake user data, the owner authorizes it
  mid-session, the clone learns that from the replicated source entry and starts replicating its own
  writer; each side's puts reach the other, and concurrent puts to one key give both values on both;
* a writer authorized in the middle of a live session reaches a third peer through the second;
* a non-live session ends by itself with every writer replicated, writers learned during it included;
* the stream's protocol id is the db's id.
"""

from __future__ import annotations

import asyncio

from hyperparty.crypto import key_pair
from hyperparty.feeds.hyperdb import HyperDB
from hyperparty.feeds.hyperdb.sync import sync
from hyperparty.protocol.transport import pipe, wait_closed
from util import eventually

TIMEOUT = 10


def values(nodes) -> list:
    return sorted(n.value for n in nodes)


async def owner_and_clone(backend, seed: int = 51) -> tuple[HyperDB, HyperDB]:
    pk, sk = key_pair(bytes([seed]) * 32)
    a = HyperDB(backend.open("a"), pk, sk, value_encoding="utf-8", timeout=TIMEOUT)
    b = HyperDB(backend.open("b"), pk, value_encoding="utf-8", local_secret_key=key_pair(bytes([seed + 1]) * 32)[1],
                timeout=TIMEOUT)
    await a.ready()
    await b.ready()
    return a, b


async def test_live_two_writers_with_user_data_authorization(backend) -> None:
    a, b = await owner_and_clone(backend)
    await a.put("from-a", "1")
    await b.put("from-b", "early")  # unauthorized yet: only b sees it
    sa = a.replicate(live=True)
    sb = b.replicate(live=True, user_data=b.local_key)
    assert sa.id == a.id
    authorized = asyncio.Event()

    def on_handshake() -> None:
        key = a.remote_writer_key(sa)
        assert key == b.local_key

        async def go() -> None:
            await a.authorize(key)
            authorized.set()

        asyncio.ensure_future(go())

    sa.on("handshake", on_handshake)
    pipe(sa, sb)
    await asyncio.wait_for(authorized.wait(), TIMEOUT)
    await eventually(lambda: b.local in b.cores(), TIMEOUT, "b learning that it is authorized")
    assert await b.authorized(b.local_key)
    await eventually(lambda: len(a.cores()) == 2 and a.cores()[1].length == b.local.length, TIMEOUT, "a fetching b")
    assert values(await a.get("from-b")) == ["early"]
    assert values(await b.get("from-a")) == ["1"]
    # each side's new puts reach the other
    await b.put("later-b", "2")
    await a.put("later-a", "3")
    await eventually(lambda: a.cores()[1].length == b.local.length and b.source.length == a.source.length, TIMEOUT)
    assert values(await a.get("later-b")) == ["2"] and values(await b.get("later-a")) == ["3"]
    # concurrent puts to one key: both values on both sides
    await a.put("k", "from a")
    await b.put("k", "from b")
    await eventually(lambda: a.cores()[1].length == b.local.length and b.source.length == a.source.length, TIMEOUT)
    assert values(await a.get("k")) == values(await b.get("k")) == ["from a", "from b"]
    assert await a.version() == await b.version()
    sa.finalize()
    await asyncio.wait_for(wait_closed(sb), TIMEOUT)
    await a.close()
    await b.close()


async def test_writer_authorized_mid_session_reaches_a_third_peer(backend) -> None:
    a, b = await owner_and_clone(backend, 61)
    c = HyperDB(backend.open("c"), a.key, value_encoding="utf-8", local_secret_key=key_pair(bytes([63]) * 32)[1],
                timeout=TIMEOUT)
    await c.ready()
    await c.put("from-c", "c")  # c writes before anyone authorized it
    await a.authorize(b.local_key)
    await sync(a, b)
    # live: a <-> b and b <-> c; a authorizes c in the middle of the sessions
    link1 = pipe(a.replicate(live=True), b.replicate(live=True))
    link2 = pipe(b.replicate(live=True), c.replicate(live=True))
    await a.authorize(c.local_key)
    await eventually(lambda: c.local in c.cores(), TIMEOUT, "c learning its authorization through b")
    await eventually(lambda: any(core.key == c.local_key and core.length == c.local.length for core in a.cores()),
                     TIMEOUT, "a fetching c's writer through b")
    for db in (a, b, c):
        assert values(await db.get("from-c")) == ["c"]
    for link in (link1, link2):
        link.a.finalize()
        link.b.finalize()
    for db in (a, b, c):
        await db.close()


async def test_non_live_session_replicates_every_writer(backend) -> None:
    a, b = await owner_and_clone(backend, 71)
    c = HyperDB(backend.open("c"), a.key, value_encoding="utf-8", local_secret_key=key_pair(bytes([73]) * 32)[1])
    await c.ready()
    await a.authorize(b.local_key)
    await sync(a, b)
    await b.authorize(c.local_key)  # authorized by b: the source does not list c
    await sync(b, c)
    await c.put("c", "3")
    await b.put("b", "2")
    await a.put("a", "1")
    await sync(b, c)
    await sync(a, b)
    fresh = HyperDB(backend.open("fresh"), a.key, value_encoding="utf-8", timeout=TIMEOUT)
    s1, s2 = a.replicate(live=False), fresh.replicate(live=False)
    pipe(s1, s2)
    assert [await asyncio.wait_for(wait_closed(s), TIMEOUT) for s in (s1, s2)] == [None, None]
    assert sorted(core.key for core in fresh.cores()) == sorted([a.key, b.local_key, c.local_key])
    assert {g[0].key: values(g) for g in await fresh.list()} == {"a": ["1"], "b": ["2"], "c": ["3"]}
    for db in (a, b, c, fresh):
        await db.close()
