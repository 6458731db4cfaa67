"""Property: three writers, random interleavings of writes and partial replications, converge.

Peers A (source), B and C (both authorized by A before the steps) run random steps: puts and deletes on a
small key space (so writers collide on keys and forks appear), and *partial* replications — one
direction, a random subset of writers, copied as plain hypercores (``sync.pull``: whole writers plus what
their heads depend on).  After a final full exchange every peer must list the same keys with the same
versions (the same ``(writer key, seq)`` nodes per key: conflicting versions included), answer every get
the same, and report the same version.
"""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hyperparty.crypto import key_pair
from hyperparty.feeds.hyperdb import HyperDB
from hyperparty.feeds.hyperdb.sync import pull, sync

KEYS = ["a", "b", "c", "d/x", "d/y", "e/f/g"]
PEERS = "ABC"

write = st.tuples(st.just("write"), st.sampled_from(PEERS), st.sampled_from(KEYS), st.integers(0, 3))
replicate = st.tuples(
    st.just("pull"),
    st.sampled_from(PEERS),
    st.sampled_from(PEERS),
    st.lists(st.sampled_from(PEERS), min_size=1, max_size=3, unique=True),
)
steps = st.lists(st.one_of(write, write, replicate), min_size=1, max_size=30)


async def run(script: list) -> None:
    pk, sk = key_pair(bytes([41]) * 32)
    dbs = {"A": HyperDB("memory", pk, sk, value_encoding="utf-8", timeout=5)}  # a wrong pointer fails, not hangs
    for n, name in enumerate("BC"):
        local = key_pair(bytes([42 + n]) * 32)[1]
        dbs[name] = HyperDB("memory", pk, value_encoding="utf-8", local_secret_key=local, timeout=5)
    for db in dbs.values():
        await db.ready()
    for name in "BC":
        await dbs["A"].authorize(dbs[name].local_key)
    await sync(dbs["A"], dbs["B"])
    await sync(dbs["A"], dbs["C"])
    counter = 0
    for step in script:
        if step[0] == "write":
            _, peer, key, what = step
            counter += 1
            if what == 0:
                await dbs[peer].delete(key)
            else:
                await dbs[peer].put(key, f"{peer}{counter}")
        else:
            _, src, dst, writers = step
            if src != dst:
                await pull(dbs[src], dbs[dst], [dbs[w].local_key for w in writers])
    for _ in range(2):
        for x, y in (("A", "B"), ("B", "C"), ("A", "C")):
            await sync(dbs[x], dbs[y])

    def snapshot_of(groups) -> dict:
        return {g[0].key: sorted((n.feed_key.hex(), n.seq, n.value) for n in g) for g in groups}

    listings = {name: snapshot_of(await db.list()) for name, db in dbs.items()}
    assert listings["A"] == listings["B"] == listings["C"], listings
    for key in KEYS:
        answers = [sorted((n.feed_key, n.seq) for n in await db.get(key)) for db in dbs.values()]
        assert answers[0] == answers[1] == answers[2], key
    versions = [sorted(_split(await db.version())) for db in dbs.values()]
    assert versions[0] == versions[1] == versions[2]
    for db in dbs.values():
        await db.close()


def _split(version: bytes) -> list[bytes]:
    out = []
    i = 0
    while i < len(version):
        j = i + 32
        while version[j] & 0x80:
            j += 1
        out.append(version[i : j + 1])
        i = j + 1
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
# found on a clean clone: C's put of "b" saw B's delete, yet A and B (whose local ids put B's head first)
# also returned the delete, as JS's order-dependent get walk does; superseded versions are dropped now
@example([("write", "B", "b", 0), ("pull", "B", "C", ["B"]), ("write", "B", "a", 0), ("write", "C", "b", 1),
          ("pull", "C", "A", ["B"]), ("write", "A", "a", 0), ("pull", "A", "C", ["A"]), ("write", "C", "a", 0)])
def test_three_writers_converge(script: list) -> None:
    asyncio.run(run(script))
