"""Append benchmark: appends/s and MB/s, Python hypercore beside JS hypercore 7.7.1 in the same run.

Rows: 1 KiB and 64 KiB blocks, single awaited appends and batches of 1 000 (``append(list)``), on each
backend.  JS runs on random-access-memory (``memory``) and random-access-file (``file``); JS has no LMDB
backend, so the Python ``lmdb`` rows are compared with JS ``file`` (both persist to disk).  Ratio =
Python rate / JS rate (>= 1.0 means Python is at least as fast).

JS uses bench/js/node_modules (sodium-native, see bench/setup-native.sh) when installed, else the interop
harness's packages (sodium-javascript); the backend in use is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hyperparty.feeds.hypercore import Hypercore
from hyperparty.storage import open_storage

HERE = Path(__file__).resolve().parent
BACKENDS = ("memory", "file", "lmdb")
JS_BACKEND = {"memory": "memory", "file": "file", "lmdb": "file"}


def counts(size: int, batch: int, quick: bool) -> int:
    """Blocks per row, tuned so each row takes about a second."""
    if size >= 65536:
        n = 2_000 if batch > 1 else 1_000
    else:
        n = 100_000 if batch > 1 else 20_000
    if quick:
        n = max(batch, n // 20)
    return n - n % batch


async def python_row(backend: str, size: int, count: int, batch: int) -> float:
    with tempfile.TemporaryDirectory(prefix="hp-bench-") as tmp:
        spec = "memory" if backend == "memory" else f"{backend}:{tmp}/feed"
        core = Hypercore(open_storage(spec))
        await core.ready()
        block = b"x" * size
        blocks = [block] * batch
        started = time.perf_counter()
        if batch == 1:
            for _ in range(count):
                await core.append(block)
        else:
            for _ in range(count // batch):
                await core.append(blocks)
        seconds = time.perf_counter() - started
        assert core.length == count
        await core.close()
        return seconds


def js_row(backend: str, size: int, count: int, batch: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="hp-bench-js-") as tmp:
        result = subprocess.run(
            ["node", str(HERE / "js" / "append.js"), "--storage", backend, "--dir", tmp, "--size", str(size),
             "--count", str(count), "--batch", str(batch)],
            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"JS append run failed: {result.stderr.strip()[-500:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small counts (smoke run)")
    p.add_argument("--python-only", action="store_true", help="skip the JS side")
    p.add_argument("--backend", choices=BACKENDS, action="append", help="only these backends")
    p.add_argument("--json", action="store_true", help="also print all rows as one JSON line")
    a = p.parse_args()
    rows = []
    sodium = None
    header = f"{'backend':<8} {'block':>6} {'mode':>10} | {'py blocks/s':>12} {'py MB/s':>8} | {'js blocks/s':>12} {'js MB/s':>8} | {'ratio':>5}"
    print(header)
    print("-" * len(header))
    for backend in a.backend or BACKENDS:
        for size in (1024, 65536):
            for batch in (1, 1000):
                count = counts(size, batch, a.quick)
                py = asyncio.run(python_row(backend, size, count, batch))
                row = {"backend": backend, "size": size, "batch": batch, "blocks": count,
                       "python_blocks_per_s": count / py, "python_mb_per_s": count * size / py / 1e6}
                line = (f"{backend:<8} {size // 1024:>4}Ki {'single' if batch == 1 else 'batch1000':>10} | "
                        f"{row['python_blocks_per_s']:12.0f} {row['python_mb_per_s']:8.1f} |")
                if not a.python_only:
                    js = js_row(JS_BACKEND[backend], size, count, batch)
                    sodium = js.get("sodium")
                    row.update(js_backend=JS_BACKEND[backend], js_blocks_per_s=count / js["seconds"],
                               js_mb_per_s=count * size / js["seconds"] / 1e6, ratio=js["seconds"] / py)
                    line += f" {row['js_blocks_per_s']:12.0f} {row['js_mb_per_s']:8.1f} | {row['ratio']:5.2f}"
                print(line, flush=True)
                rows.append(row)
    if sodium:
        print(f"(JS on {sodium}; python lmdb rows are compared with JS random-access-file)")
    if a.json:
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
