"""Copying writers between two dbs in one process, block by block with Merkle proofs (no stream).

What a hyperdb replication session transfers, without the wire: only writers authorized on BOTH sides
are copied (JS opens a channel only for authorized writers), each block with the proof the destination
asks for, verified and stored by ``Hypercore.put``; afterwards the destination reads every writer's head,
which is how it learns writers (and authorizations) from feeds lists.  Used by tests, benchmarks and the
vector replays; a live session is ``HyperDB.replicate``.

* :func:`pull` copies the named writers from ``src`` to ``dst`` whole, plus — so that every pointer the
  destination can reach is stored — every writer a copied head's clock says it saw further than ``dst``
  has it (a sparse JS peer would fetch those blocks on demand instead).
* :func:`sync` pulls everything both ways until nothing changes (a non-live JS session).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # pragma: no cover
    from .db import HyperDB

__all__ = ["copy_writer", "pull", "sync"]


def copy_writer(src: "HyperDB", dst: "HyperDB", key: bytes) -> int:
    """Copy the blocks of writer ``key`` that ``dst`` lacks; returns how many were copied."""
    sw = src._writers.by_key.get(key)
    dw = dst._writers.by_key.get(key)
    if sw is None or dw is None or sw.core is None or not (sw.authorized and dw.authorized) or not sw.core.length:
        return 0
    score = sw.core
    dcore = dst._writers.open_core(dw)
    copied = 0
    for i in range(score.length):
        if dcore.has(i) or not score.has(i):
            continue
        proof = score.proof(i, digest=dcore.digest(i))
        dcore.put(i, score.read_block(i), proof)
        copied += 1
    return copied


async def pull(src: "HyperDB", dst: "HyperDB", keys: Iterable[bytes] | None = None) -> int:
    """Copy writers ``keys`` (default: every writer ``src`` treats as authorized) and what they depend on."""
    await src.ready()
    await dst.ready()
    await src.heads(False)
    await dst.heads(False)
    queue = deque(src.authorized_keys() if keys is None else keys)
    done: set[bytes] = set()
    copied = 0
    while queue:
        key = queue.popleft()
        if key in done:
            continue
        done.add(key)
        copied += copy_writer(src, dst, key)
        dw = dst._writers.by_key.get(key)
        seq = dw.head_seq() if dw is not None else None
        if seq is None:
            continue
        head = await dst._node(dw.id, seq)  # type: ignore[union-attr]
        for wid, seen in enumerate(head.clock):
            other = dst._writers.list[wid]
            if other.key is not None and other.length() < seen and other.key not in done:
                queue.append(other.key)
    await dst.heads(False)
    return copied


async def sync(a: "HyperDB", b: "HyperDB") -> int:
    """Pull both ways until neither side gets anything new; returns the blocks copied."""
    total = 0
    while True:
        n = await pull(a, b) + await pull(b, a)
        total += n
        if not n:
            return total
