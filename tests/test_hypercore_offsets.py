"""Byte offsets of blocks (``Hypercore._prefix_bytes``) against a plain running sum, in random order, and
on a replica that fills blocks in random order."""

from __future__ import annotations

import random

from hyperparty.feeds.hypercore import Hypercore
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
