"""More than 255 feeds: one connection between two Python peers carries 1 000 channels when both list the
``hyperparty/many-feeds`` extension; against a peer held to JS's 256 channels (it does not list it) the
feeds past the limit are refused and reported as ``overflow`` — the others replicate, the connection is
never destroyed for it — and a second connection carries the rest.
"""

from __future__ import annotations

import asyncio

import pytest

from hyperparty.feeds.hypercore import Hypercore
from hyperparty.feeds.hypercore.replicate import attach_sync
from hyperparty.protocol import ProtocolStream, pipe
from hyperparty.protocol.stream import MANY_FEEDS_EXTENSION
from hyperparty.storage import MemoryStorage

pytestmark = pytest.mark.slow


async def writers_and_replicas(n: int) -> tuple[list[Hypercore], list[Hypercore]]:
    writers, replicas = [], []
    for i in range(n):
        w = Hypercore(MemoryStorage())
        await w.append([b"feed %d block 0" % i, b"feed %d block 1" % i])
        r = Hypercore(MemoryStorage(), key=w.key)
        await r.ready()
        writers.append(w)
        replicas.append(r)
    return writers, replicas


async def connect(writers, replicas, *, many_a: bool, many_b: bool) -> tuple[ProtocolStream, ProtocolStream]:
    """One non-live connection replicating every pair (opened in the same order on both sides)."""
    a = ProtocolStream(many_feeds=many_a, expected_feeds=len(writers))
    b = ProtocolStream(many_feeds=many_b, expected_feeds=len(replicas))
    for w in writers:
        attach_sync(w, a, live=False)
    for r in replicas:
        attach_sync(r, b, live=False)
    errors = await asyncio.wait_for(pipe(a, b).wait(), 120)
    assert errors == (None, None), errors
    return a, b


@pytest.mark.timeout(300)
async def test_a_thousand_feeds_on_one_connection_between_python_peers() -> None:
    writers, replicas = await writers_and_replicas(1000)
    a, b = await connect(writers, replicas, many_a=True, many_b=True)
    assert MANY_FEEDS_EXTENSION in a.remote_extensions and a.max_feeds >= 1000
    assert not a.overflow and not b.overflow
    assert all(r.length == 2 and r.has(0, 2) for r in replicas)
    assert [await r.get(1) for r in replicas[::250]] == [b"feed %d block 1" % i for i in range(0, 1000, 250)]


@pytest.mark.timeout(300)
async def test_a_peer_held_to_256_channels_gets_the_rest_on_a_second_connection() -> None:
    writers, replicas = await writers_and_replicas(300)
    overflowed: list[bytes] = []
    a, b = await connect(writers, replicas, many_a=True, many_b=False)  # b is held to JS's limit
    assert a.max_feeds == 256 and b.max_feeds == 256 and a.error is None and b.error is None
    overflowed = a.overflow
    # the first 256 feeds replicated; the 44 past the limit were refused on both sides, never a silent zero
    assert len(overflowed) == 44 and sorted(overflowed) == sorted(b.overflow)
    done = [r for r in replicas if r.has(0, 2) and r.length == 2]
    assert len(done) == 256
    keys = set(overflowed)
    assert {r.key for r in replicas if r not in done} == keys
    # a second connection carries the rest
    rest_w = [w for w in writers if w.key in keys]
    rest_r = [r for r in replicas if r.key in keys]
    a2, b2 = await connect(rest_w, rest_r, many_a=True, many_b=False)
    assert not a2.overflow and not b2.overflow
    assert all(r.length == 2 and r.has(0, 2) for r in replicas)
