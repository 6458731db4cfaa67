"""Replication benchmark: Python and JS hypercore peers over loopback TCP, in the same run.

Rows: a 64 MiB feed of 64 KiB blocks and a 100 000 x 1 KiB feed (``--quick``: 8 MiB and 10 000).  For
each row, four pairs (server -> fetcher): Python -> Python, JS -> JS, Python -> JS, JS -> Python; each
fetch is a fresh process downloading the whole feed non-live into memory storage.  Prints MB/s and
blocks/s per pair, the ratio Python->Python / JS->JS, and the peak RSS of each fetcher.

JS runs hypercore 7.7.1 + hypercore-protocol 6.12.0 from bench/js/node_modules (sodium-native, built by
bench/setup-native.sh) or, if that is missing, tests/interop/node_modules (sodium-javascript); the
backend in use is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY_PEER = [sys.executable, str(HERE / "replicate_peer.py")]
JS_PEER = ["node", str(HERE / "js" / "replicate.js")]


def start_server(cmd: list[str], blocks: int, size: int) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen(cmd + ["serve", "--blocks", str(blocks), "--size", str(size)],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise SystemExit(f"server {cmd[0]} failed to start")
    return proc, json.loads(line)


def fetch(cmd: list[str], info: dict) -> dict:
    started = time.perf_counter()
    result = subprocess.run(cmd + ["fetch", "--key", info["key"], "--port", str(info["port"])],
                            capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise SystemExit(f"fetch with {cmd[0]} failed: {result.stderr.strip()[-500:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    data["wall"] = time.perf_counter() - started
    return data


def run_row(name: str, blocks: int, size: int, repeat: int) -> dict:
    sides = {"py": PY_PEER, "js": JS_PEER}
    results: dict[str, dict] = {}
    servers = {k: start_server(cmd, blocks, size) for k, cmd in sides.items()}
    try:
        for src in ("py", "js"):
            for dst in ("py", "js"):
                best = None
                for _ in range(repeat):
                    r = fetch(sides[dst], servers[src][1])
                    if r["blocks"] != blocks:
                        raise SystemExit(f"{src}->{dst} fetched {r['blocks']} of {blocks} blocks")
                    if best is None or r["seconds"] < best["seconds"]:
                        best = r
                results[f"{src}->{dst}"] = best
    finally:
        for proc, _ in servers.values():
            proc.kill()
            proc.wait()
    sodium = servers["js"][1].get("sodium", "?")
    print(f"\n{name}: {blocks} blocks x {size} B ({blocks * size / 2**20:.0f} MiB), JS on {sodium}")
    print(f"  {'pair':<10} {'MB/s':>9} {'blocks/s':>10} {'fetcher peak RSS':>18}")
    for pair, r in results.items():
        mbps = r["bytes"] / r["seconds"] / 1e6
        print(f"  {pair:<10} {mbps:9.1f} {r['blocks'] / r['seconds']:10.0f} {r['peakRss'] / 2**20:15.1f} MB")
    ratio = results["js->js"]["seconds"] / results["py->py"]["seconds"]
    print(f"  ratio Python->Python / JS->JS: {ratio:.2f}")
    return {"row": name, "blocks": blocks, "size": size, "sodium": sodium, "ratio": ratio,
            "pairs": {k: {"seconds": v["seconds"], "peakRss": v["peakRss"]} for k, v in results.items()}}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small feeds (a smoke run)")
    p.add_argument("--repeat", type=int, default=1, help="fetches per pair (best is kept)")
    p.add_argument("--json", action="store_true", help="also print the results as one JSON line")
    a = p.parse_args()
    rows = [("64 KiB blocks", 128 if a.quick else 1024, 65536), ("1 KiB blocks", 10_000 if a.quick else 100_000, 1024)]
    results = [run_row(name, n, size, a.repeat) for name, n, size in rows]
    if a.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
