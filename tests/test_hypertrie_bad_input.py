"""Bad blocks in a hypertrie feed: a clear error for the lookups that meet them, nothing else.

The feeds here are signed and valid hypercores whose *content* is wrong: a trie is first built normally,
then replayed into a second core with one block replaced (garbage, a node whose trie points past the
feed, pointers forming a cycle).  For every key we know from the good trie which blocks its lookup reads:
lookups that read the bad block raise (:class:`CorruptNodeError` / :class:`BadPointerError`), every other
key still reads back right, writes that meet the bad block append nothing, and nothing waits: not on the
writer, not on a complete non-sparse clone.
"""

from __future__ import annotations

import asyncio

import pytest

from hyperparty import crypto
from hyperparty.feeds.hypercore import Hypercore
from hyperparty.feeds.hypertrie import (
    BadPointerError,
    BeyondFeedError,
    CorruptNodeError,
    Hypertrie,
    HypertrieError,
    Node,
    NotAHypertrieError,
)
from hyperparty.feeds.hypertrie.fetch import MISSING, Fetcher
from hyperparty.feeds.hypertrie.get import get_node
from hyperparty.protocol.transport import pipe

KEYS = [f"dir{i % 4}/key{i}" for i in range(40)]
SEED = bytes([0x51]) * 32


async def good_trie() -> Hypertrie:
    pk, sk = crypto.key_pair(SEED)
    trie = Hypertrie("memory", pk, sk)
    await trie.ready()
    for i, k in enumerate(KEYS):
        await trie.put(k, f"v{i}".encode())
    return trie


class Recording(Fetcher):
    """A fetcher that records which blocks a walk reads."""

    __slots__ = ("seen",)

    def __init__(self, base: Fetcher) -> None:
        super().__init__(base.core, base.cache)
        self.seen: set[int] = set()

    async def __call__(self, seq):
        self.seen.add(seq)
        return await Fetcher.__call__(self, seq)

    def peek(self, seq):
        return MISSING  # every read goes through __call__


async def blocks_read(trie: Hypertrie, key: str) -> set[int]:
    fetch = Recording(trie._fetcher())
    await get_node(fetch, await trie._head(fetch), key)
    return fetch.seen


async def busy_node(good: Hypertrie) -> int:
    """A node that many lookups pass through on their way to other nodes (but not most of them)."""
    counts: dict[int, int] = {}
    for k in KEYS:
        own = (await good.get(k)).seq
        for seq in await blocks_read(good, k) - {own}:
            counts[seq] = counts.get(seq, 0) + 1
    return max((c, seq) for seq, c in counts.items() if c < len(KEYS) // 2)[1]


async def replayed(good: Hypertrie, replace: dict[int, bytes], storage="memory") -> Hypertrie:
    """A core with the good trie's blocks, some replaced, signed by the same key pair."""
    pk, sk = crypto.key_pair(SEED)
    core = Hypercore(storage, pk, sk)
    await core.ready()
    blocks = [await good.core.get(i) for i in range(good.core.length)]
    await core.append([replace.get(i, b) for i, b in enumerate(blocks)])
    trie = Hypertrie.from_core(core)
    await trie.ready()
    return trie


def node_bytes(key: str, value: bytes, trie: dict, seq: int) -> bytes:
    n = Node(key, value, 0, trie, seq)
    return n.encode()


async def check_lookups(good: Hypertrie, bad: Hypertrie, bad_seqs: set[int], error: type[HypertrieError]) -> None:
    """Lookups that go through a bad block raise; the others answer as the good trie does.  (A lookup that
    *ends* on a node never reads that node's trie, so a node whose only fault is its trie still answers for
    its own key.)"""
    hit = 0
    for i, k in enumerate(KEYS):
        read = await blocks_read(good, k)
        own = (await good.get(k)).seq
        if bad_seqs & (read - {own}):
            hit += 1
            with pytest.raises(error):
                await asyncio.wait_for(bad.get(k), 2)
            with pytest.raises(error):  # again: the failure is not cached as "absent"
                await asyncio.wait_for(bad.get(k), 2)
        elif own in bad_seqs:  # an error (the block is no node at all) or that node
            try:
                e = await asyncio.wait_for(bad.get(k), 2)
            except error:
                continue
            assert e is not None and e.seq == own
        else:
            assert (await asyncio.wait_for(bad.get(k), 2)).value == f"v{i}".encode()
    assert 0 < hit < len(KEYS) // 2  # the test really exercised both kinds of key


async def check_writes_refused(bad: Hypertrie, key: str, error: type[HypertrieError]) -> None:
    length = bad.core.length
    with pytest.raises(error):
        await bad.put(key, b"new")
    with pytest.raises(error):
        await bad.delete(key)
    with pytest.raises(error):
        await bad.batch([{"type": "put", "key": "x", "value": b"1"}, {"type": "del", "key": key}])
    assert bad.core.length == length  # nothing written


@pytest.mark.parametrize("garbage", [b"", b"\xff\xff\xff", b"\x0a\x05ab", b"\x12\x01x", b"\x0a\x01a\x1a\x02\x05\x81"])
async def test_block_that_is_not_a_node(garbage: bytes) -> None:
    good = await good_trie()
    victim = await busy_node(good)
    victim_key = (await good.get_by_seq(victim)).key
    bad = await replayed(good, {victim: garbage})
    await check_lookups(good, bad, {victim}, CorruptNodeError)
    await check_writes_refused(bad, victim_key, CorruptNodeError)
    with pytest.raises(CorruptNodeError):
        await bad.list()
    if garbage.startswith(b"\x0a\x01a"):  # a node whose trie buffer is bad: history does not need tries
        assert [e.key async for e in bad.history()][victim - 1] == "a"
    else:
        with pytest.raises(CorruptNodeError):
            [e async for e in bad.history()]
    with pytest.raises(CorruptNodeError):
        [d async for d in bad.diff(1)]


async def test_pointer_beyond_the_feed() -> None:
    good = await good_trie()
    victim = await busy_node(good)
    node = Node.decode(await good.core.get(victim), victim)
    trie = {pos: list(bucket) for pos, bucket in node.trie.items()}
    trie[1] = [0, 0, 0, 1000]
    bad = await replayed(good, {victim: node_bytes(node.key, node.value_buffer, trie, victim)})
    assert bad.core.length < 1000
    await check_lookups(good, bad, {victim}, BadPointerError)
    await check_writes_refused(bad, node.key, BadPointerError)


async def test_pointer_beyond_the_feed_on_a_complete_clone_does_not_wait() -> None:
    good = await good_trie()
    head = good.core.length - 1
    node = Node.decode(await good.core.get(head), head)
    trie = {pos: list(bucket) for pos, bucket in node.trie.items()}
    trie.setdefault(2, [0, 0, 0, 0])[1] = head + 50  # past the feed, on the head: every lookup meets it
    bad = await replayed(good, {head: node_bytes(node.key, node.value_buffer, trie, head)})
    clone = Hypertrie("memory", bad.key)
    await clone.ready()
    assert await pipe(bad.replicate(live=False), clone.replicate(live=False)).wait() == (None, None)
    assert clone.core.length == bad.core.length and not clone.core.sparse
    for k in KEYS[:5]:
        with pytest.raises(BadPointerError):
            await asyncio.wait_for(clone.get(k), 2)


async def test_cycle_of_pointers() -> None:
    good = await good_trie()
    a = await busy_node(good)
    b, c = a + 1, 2
    assert b < good.core.length and c not in (a, b)
    na = Node.decode(await good.core.get(a), a)
    nb = Node.decode(await good.core.get(b), b)
    ta = {pos: list(bucket) for pos, bucket in na.trie.items()}
    ta[3] = [0, 0, b]  # a -> b while b (a newer node) points back at a: a loop if followed
    tb = {pos: list(bucket) for pos, bucket in nb.trie.items()}
    tb[3] = [0, 0, a]
    nc = await good.get_by_seq(c)
    bad = await replayed(
        good,
        {
            a: node_bytes(na.key, na.value_buffer, ta, a),
            b: node_bytes(nb.key, nb.value_buffer, tb, b),
            c: node_bytes(nc.key, nc.value, {4: [0, c]}, c),  # a node pointing at itself
        },
    )
    await check_lookups(good, bad, {a, c}, BadPointerError)
    assert (await bad.get_by_seq(c)).key == nc.key  # the node itself reads; its trie does not
    with pytest.raises(BadPointerError):
        await bad.checkout(c + 1).get(nc.key + "/below")


async def test_checkout_past_a_writers_feed_raises_instead_of_waiting() -> None:
    good = await good_trie()
    with pytest.raises(BeyondFeedError):
        await asyncio.wait_for(good.checkout(good.version + 5).get(KEYS[0]), 2)
    assert (await good.checkout(good.version).get(KEYS[0])).value == b"v0"


async def test_header_that_is_not_a_hypertrie_header() -> None:
    good = await good_trie()
    assert await good.get_metadata() is None
    bad = await replayed(good, {0: b"\xff\x00"})
    with pytest.raises(NotAHypertrieError):
        await bad.get_metadata()
    assert (await bad.get(KEYS[0])).value == b"v0"  # like JS, the header is not needed to read
