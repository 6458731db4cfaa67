"""Party benchmark: time for 10 peers, each with one feed of 1 000 blocks, to converge — Python party
engine with the multifeed rules beside JS multifeed 4.3.0, same topology, same run.

Topology (both sides, in one process each, in-memory streams and storage): every peer replicates with
peer 0 (the hub) over a non-live stream, one after the other, in two rounds — round 1 gathers every feed
at the hub, round 2 spreads them.  Converged = every peer holds every writer's blocks.  (multifeed 4.3.0's
usual gossip pattern; a live full mesh does not converge reliably in JS multifeed.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

from hyperparty.party import Party
from hyperparty.party.feed_store import FeedStore
from hyperparty.party.rules.multifeed import DEFAULT_ENCRYPTION_KEY, MultifeedRules
from hyperparty.protocol.transport import pipe
from hyperparty.storage import MemoryStorage

HERE = Path(__file__).resolve().parent


async def python_converge(n: int, blocks: int, size: int) -> float:
    peers = []
    for i in range(n):
        store = FeedStore(MemoryStorage())
        await store.ready()
        writer = await store.writer("local")
        await writer.append([bytes([97 + j % 26]) * size for j in range(blocks)])
        peers.append((store, Party(DEFAULT_ENCRYPTION_KEY, MultifeedRules(store))))

    def converged() -> bool:
        for store, _ in peers:
            feeds = store.feeds()
            if len(feeds) != n or any(f.length != blocks or not f.has(0, blocks) for f in feeds):
                return False
        return True

    started = time.perf_counter()
    hub = peers[0][1]
    for _ in range(2):
        for _, party in peers[1:]:
            errors = await asyncio.wait_for(pipe(hub.replicate(live=False), party.replicate(live=False)).wait(), 120)
            if any(errors):
                raise RuntimeError(f"replication failed: {errors}")
    seconds = time.perf_counter() - started
    if not converged():
        raise RuntimeError("not converged after two rounds")
    return seconds


def js_converge(n: int, blocks: int, size: int) -> dict:
    result = subprocess.run(["node", str(HERE / "js" / "party-converge.js"), "--peers", str(n), "--blocks", str(blocks),
                             "--size", str(size)], capture_output=True, text=True, timeout=600)
    if result.returncode != 0 or not result.stdout.strip():
        raise SystemExit(f"JS multifeed run failed: {result.stderr.strip()[-500:] or 'no output'}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--peers", type=int, default=10)
    p.add_argument("--blocks", type=int, default=1000)
    p.add_argument("--size", type=int, default=64, help="bytes per block")
    p.add_argument("--python-only", action="store_true")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    py = asyncio.run(python_converge(a.peers, a.blocks, a.size))
    total = a.peers * a.peers * a.blocks
    print(f"party convergence: {a.peers} peers x 1 feed x {a.blocks} blocks of {a.size} B (hub, two rounds)")
    print(f"  Python (multifeed rules): {py:7.2f} s")
    out = {"peers": a.peers, "blocks": a.blocks, "python": py}
    if not a.python_only:
        js = js_converge(a.peers, a.blocks, a.size)
        print(f"  JS multifeed 4.3.0      : {js['seconds']:7.2f} s   (on {js.get('sodium')})")
        print(f"  ratio JS time / Python time: {js['seconds'] / py:.2f}")
        out.update(js=js["seconds"], ratio=js["seconds"] / py)
    print(f"  ({total} block-copies held at the end)")
    if a.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
