"""Party benchmark: time for N peers, each with one feed of B blocks, to converge — the Python party engine
with the multifeed rules beside JS multifeed 4.3.0, same topology, interleaved pairs.

Topology (both sides, in one process each, in-memory streams and storage): every peer replicates with
peer 0 (the hub) over a non-live stream, one after the other, in two rounds — round 1 gathers every feed
at the hub, round 2 spreads them.  Converged = every peer holds every writer's blocks.  (multifeed 4.3.0's
usual gossip pattern; a live full mesh does not converge reliably in JS multifeed.)

Each run is a fresh process (``--child`` is the Python one).  ``--peers`` and ``--blocks`` take several
values (``--peers 5 --peers 10 --blocks 1000 --blocks 10000``): one table per combination, showing how the
ratio moves with both.  CPU per block copy = the process's CPU over the convergence / the block copies
made (``peers * (peers - 1) * blocks``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    HERE, add_common_arguments, fmt, interleaved, machine_line, pair_count, print_table, ratios, run_json,
)


async def python_converge(n: int, blocks: int, size: int) -> dict:
    from hyperparty.party import Party
    from hyperparty.party.feed_store import FeedStore
    from hyperparty.party.rules.multifeed import DEFAULT_ENCRYPTION_KEY, MultifeedRules
    from hyperparty.protocol.transport import pipe
    from hyperparty.storage import MemoryStorage

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

    started, cpu = time.perf_counter(), time.process_time()
    hub = peers[0][1]
    for _ in range(2):
        for _, party in peers[1:]:
            errors = await asyncio.wait_for(pipe(hub.replicate(live=False), party.replicate(live=False)).wait(), 1800)
            if any(errors):
                raise RuntimeError(f"replication failed: {errors}")
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if not converged():
        raise RuntimeError("not converged after two rounds")
    return {"seconds": seconds, "cpu": cpu, "peakRss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def python_run(n: int, blocks: int, size: int) -> dict:
    return run_json([sys.executable, str(Path(__file__).resolve()), "--child", "--peers", str(n), "--blocks",
                     str(blocks), "--size", str(size)])


def js_run(n: int, blocks: int, size: int) -> dict:
    return run_json(["node", str(HERE / "js" / "party-converge.js"), "--peers", str(n), "--blocks", str(blocks),
                     "--size", str(size)])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(p)
    p.add_argument("--peers", type=int, action="append", help="peers (repeatable; default 10)")
    p.add_argument("--blocks", type=int, action="append", help="blocks per feed (repeatable; default 1000 and 10000)")
    p.add_argument("--size", type=int, default=64, help="bytes per block")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    peer_counts = a.peers or [10]
    block_counts = a.blocks or ([200] if a.quick else [1000, 10000])
    if a.child:
        print(json.dumps(asyncio.run(python_converge(peer_counts[0], block_counts[0], a.size))))
        return 0
    pairs = pair_count(a)
    print(f"party bench: {machine_line()}; {pairs} interleaved pair(s) per row")
    out = []
    for n in peer_counts:
        for blocks in block_counts:
            sides = {"py": lambda n=n, blocks=blocks: python_run(n, blocks, a.size)}
            if not a.python_only:
                sides["js"] = lambda n=n, blocks=blocks: js_run(n, blocks, a.size)
            res = interleaved(pairs, sides)
            py, js = res["py"], res.get("js", [])
            copies = n * (n - 1) * blocks

            def line(label: str, f, spec: str) -> tuple[str, str, str, str]:
                return (label, fmt([f(r) for r in py], spec), fmt([f(r) for r in js], spec) if js else "-", "")

            secs = ([r["seconds"] for r in py], [r["seconds"] for r in js])
            print_table(
                f"{n} peers x 1 feed x {blocks} blocks of {a.size} B (hub, two rounds; {copies} block copies)", [
                    ("time s", fmt(secs[0]), fmt(secs[1]) if js else "-", fmt(ratios(*secs)) if js else ""),
                    line("CPU µs/block copy", lambda r: r["cpu"] / copies * 1e6, ".1f"),
                    line("peak RSS MB", lambda r: r["peakRss"] / 2**20, ".0f"),
                ])
            out.append({"peers": n, "blocks": blocks, "size": a.size, "py": py, "js": js})
    if a.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
