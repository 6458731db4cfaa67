"""Byte offsets of blocks (``Hypercore._prefix_bytes``) against a plain running sum, in random order, and
on a replica that fills blocks in random order; the offsets memo (``offsets.OffsetMemo``)."""

from __future__ import annotations

import random

from hyperparty.feeds.hypercore import Hypercore
from hyperparty.feeds.hypercore.offsets import PAGE_ENTRIES, OffsetMemo
from hyperparty.storage import MemoryStorage


async def test_prefix_bytes_matches_running_sum_in_any_order():
    rnd = random.Random(3)
    blocks = [bytes(rnd.randrange(0, 300)) for _ in range(777)]
    core = Hypercore(MemoryStorage())
    await core.ready()
    await core.append(blocks)
    sums = [0]
    for b in blocks:
        sums.append(sums[-1] + len(b))
    order = list(range(len(blocks) + 1))
    rnd.shuffle(order)
    for i in order:
        assert core._prefix_bytes(i) == sums[i]

    replica = Hypercore(MemoryStorage(), key=core.key)
    await replica.ready()
    for i in order:
        if i < len(blocks):
            replica.put(i, blocks[i], core.proof(i, digest=replica.digest(i)))
    assert [await replica.get(i) for i in range(len(blocks))] == blocks


def test_offset_memo_pages_and_bound():
    memo = OffsetMemo(max_pages=2)
    assert memo.get(5) == -1 and len(memo) == 0
    memo.set(5, 0)
    memo.set(6, 1 << 40)
    assert (memo.get(5), memo.get(6), memo.get(7)) == (0, 1 << 40, -1)
    memo.set(PAGE_ENTRIES + 1, 9)
    assert len(memo) == 2
    memo.set(5 * PAGE_ENTRIES, 11)  # a third page: the memo starts over
    assert len(memo) == 1
    assert memo.get(5) == -1 and memo.get(5 * PAGE_ENTRIES) == 11
    memo.clear()
    assert len(memo) == 0 and memo.get(5 * PAGE_ENTRIES) == -1


async def test_offsets_are_remembered_and_stay_right_when_the_memo_starts_over():
    rnd = random.Random(5)
    blocks = [bytes(rnd.randrange(0, 50)) for _ in range(3000)]
    sums = [0]
    for b in blocks:
        sums.append(sums[-1] + len(b))
    core = Hypercore(MemoryStorage())
    await core.ready()
    await core.append(blocks)
    order = list(range(len(blocks) + 1))
    rnd.shuffle(order)
    for i in order:
        assert core._prefix_bytes(i) == sums[i]

    class NoReads:
        def get(self, index):
            raise AssertionError(f"node {index} read again")

    tree_file, core._tree_file = core._tree_file, NoReads()  # every offset is remembered: no node is read
    try:
        for i in order:
            assert core._prefix_bytes(i) == sums[i]
    finally:
        core._tree_file = tree_file

    core._prefix_memo = OffsetMemo(max_pages=1)  # starts over many times during one pass
    rnd.shuffle(order)
    for i in order:
        assert core._prefix_bytes(i) == sums[i]
