"""Scale benchmark: append 1 000 000 x 1 KiB blocks, then fetch them all, Python beside JS hypercore 7.7.1.

Per pair and side: a fresh server process appends the feed (batches of 1 000, memory storage: time, CPU,
RSS after the append), then fresh fetcher processes download it non-live over loopback TCP into memory
and into on-disk storage (Python LMDB, JS random-access-file): time, fetcher CPU, uploader CPU, the
fetcher's and the uploader's peak RSS.  Pairs are interleaved (the side that goes first alternates);
figures are ``median [min-max]`` over the pairs, ratios (Python speed / JS speed) are per pair.

``--blocks`` changes the feed length, ``--storage memory|disk`` keeps one fetch kind, ``--quick`` is
100 000 blocks and one pair.  A full run (5 pairs) takes about half an hour on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    HERE, Server, add_common_arguments, fmt, interleaved, machine_line, pair_count, print_table, ratios, run_json,
)

PEERS = {"py": [sys.executable, str(HERE / "replicate_peer.py")], "js": ["node", str(HERE / "js" / "replicate.js")]}
DISK = {"py": "lmdb", "js": "file"}


def one_side(lang: str, blocks: int, size: int, storages: list[str]) -> dict:
    cmd = PEERS[lang]
    result: dict = {}
    with Server(cmd + ["serve", "--blocks", str(blocks), "--size", str(size)]) as server:
        result["append"] = {"seconds": server.info["appendSeconds"], "cpu": server.info["appendCpu"],
                            "rss": server.info["rss"]}
        for storage in storages:
            args = ["fetch", "--key", server.info["key"], "--port", str(server.info["port"])]
            tmp = None
            if storage == "disk":
                tmp = tempfile.mkdtemp(prefix=f"hp-scale-{lang}-")
                args += ["--storage", DISK[lang], "--dir", tmp]
            try:
                cpu0 = server.cpu()
                r = run_json(cmd + args, timeout=7200)
                r["serverCpu"] = server.cpu() - cpu0
                r["serverPeakRss"] = server.peak_rss()
            finally:
                if tmp:
                    shutil.rmtree(tmp, ignore_errors=True)
            if r["blocks"] != blocks or r.get("downloaded", blocks) != blocks:
                raise SystemExit(f"{lang} fetched {r.get('downloaded')} of {blocks} blocks into {storage}")
            result[storage] = r
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(p)
    p.add_argument("--blocks", type=int, default=None, help="feed length (default 1 000 000; --quick 100 000)")
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--storage", choices=("memory", "disk"), action="append", help="fetch kinds (default both)")
    a = p.parse_args()
    pairs = pair_count(a)
    blocks = a.blocks or (100_000 if a.quick else 1_000_000)
    storages = a.storage or ["memory", "disk"]
    print(f"scale bench: {blocks} x {a.size} B; {machine_line()}; {pairs} interleaved pair(s)")
    sides = {"py": lambda: one_side("py", blocks, a.size, storages)}
    if not a.python_only:
        sides["js"] = lambda: one_side("js", blocks, a.size, storages)
    results = interleaved(pairs, sides)
    py, js = results["py"], results.get("js", [])

    def row(label: str, get, spec: str, ratio: bool = False) -> tuple[str, str, str, str]:
        p_vals = [get(r) for r in py]
        j_vals = [get(r) for r in js]
        return (label, fmt(p_vals, spec), fmt(j_vals, spec) if js else "-",
                fmt(ratios(p_vals, j_vals)) if ratio and js else "")

    print_table(f"append {blocks} x {a.size} B (batches of 1 000, memory)", [
        row("time s", lambda r: r["append"]["seconds"], ".2f", ratio=True),
        row("CPU µs/block", lambda r: r["append"]["cpu"] / blocks * 1e6, ".1f"),
        row("RSS after append MB", lambda r: r["append"]["rss"] / 2**20, ".0f"),
    ])
    for storage in storages:
        where = "memory" if storage == "memory" else "disk (Python LMDB, JS random-access-file)"
        print_table(f"fetch {blocks} x {a.size} B into {where}, tuned defaults", [
            row("time s", lambda r: r[storage]["seconds"], ".2f", ratio=True),
            row("blocks/s", lambda r: blocks / r[storage]["seconds"], ".0f"),
            row("fetcher CPU µs/block", lambda r: r[storage]["cpu"] / blocks * 1e6, ".1f"),
            row("uploader CPU µs/block", lambda r: r[storage]["serverCpu"] / blocks * 1e6, ".1f"),
            row("fetcher peak RSS MB", lambda r: r[storage]["peakRss"] / 2**20, ".0f"),
            row("uploader peak RSS MB", lambda r: r[storage]["serverPeakRss"] / 2**20, ".0f"),
        ])
    if a.json:
        print(json.dumps({"blocks": blocks, "size": a.size, "py": py, "js": js}))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
