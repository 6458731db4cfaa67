"""hyperdb benchmark: puts/s and gets/s with one writer, Python hyperdb beside JS hyperdb 3.5.0 in one run.

Workload (identical on both sides, bench/js/db.js): ``count`` awaited ``put("k/<i>", 32-byte value)``, then
``count`` awaited ``get("k/<i>")`` in a fixed shuffled order (``i * 7919 mod count``), each result checked.
Python and JS runs are interleaved (Python, JS, Python, JS, ...) for ``--pairs`` pairs per backend, so
load on a shared machine hits both alike; each figure is reported as min / median / max over the pairs,
and so is the ratio Python / JS of each pair (>= 1.0: Python at least as fast).

Backends: ``memory`` (JS random-access-memory) and ``file`` (JS random-access-file); Python ``lmdb`` rows
are compared with JS ``file`` (JS has no LMDB backend).  JS uses bench/js/node_modules (sodium-native, see
bench/setup-native.sh) when installed, else the interop packages (sodium-javascript); the backend in use
is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hyperparty.feeds.hyperdb import HyperDB
from hyperparty.storage import open_storage

HERE = Path(__file__).resolve().parent
BACKENDS = ("memory", "file", "lmdb")
JS_BACKEND = {"memory": "memory", "file": "file", "lmdb": "file"}
VALUE = b"x" * 32


def order(n: int) -> list[int]:
    return [(i * 7919) % n for i in range(n)]


async def python_run(backend: str, count: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="hp-bench-db-") as tmp:
        spec = "memory" if backend == "memory" else f"{backend}:{tmp}/db"
        db = HyperDB(open_storage(spec))
        await db.ready()
        gc.collect()
        started = time.perf_counter()
        for i in range(count):
            await db.put(f"k/{i}", VALUE)
        put_seconds = time.perf_counter() - started
        started = time.perf_counter()
        for i in order(count):
            nodes = await db.get(f"k/{i}")
            if len(nodes) != 1 or nodes[0].value != VALUE:
                raise SystemExit(f"wrong value for k/{i}")
        get_seconds = time.perf_counter() - started
        await db.close()
        db._storage.close()
    return {"puts": count / put_seconds, "gets": count / get_seconds}


def js_run(backend: str, count: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="hp-bench-db-js-") as tmp:
        result = subprocess.run(
            ["node", str(HERE / "js" / "db.js"), "--storage", backend, "--dir", tmp, "--count", str(count)],
            capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise SystemExit(f"JS db run failed: {result.stderr.strip()[-500:]}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    return {"puts": count / out["putSeconds"], "gets": count / out["getSeconds"], "sodium": out.get("sodium")}


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    lo, med, hi = min(values), statistics.median(values), max(values)
    if hi >= 100:
        return f"{lo:7.0f} {med:7.0f} {hi:7.0f}"
    return f"{lo:7.2f} {med:7.2f} {hi:7.2f}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=100_000, help="keys (default 100000)")
    p.add_argument("--pairs", type=int, default=3, help="interleaved Python/JS runs per backend (default 3)")
    p.add_argument("--quick", action="store_true", help="2 000 keys, one pair (smoke run)")
    p.add_argument("--python-only", action="store_true", help="skip the JS side")
    p.add_argument("--backend", choices=BACKENDS, action="append", help="only these backends")
    p.add_argument("--json", action="store_true", help="also print all runs as one JSON line")
    a = p.parse_args()
    count, pairs = (2_000, 1) if a.quick else (a.count, a.pairs)
    sodium = None
    runs = []
    header = f"{'backend':<7} {'figure':<6} | {'python min/med/max':>23} | {'js min/med/max':>23} | {'ratio min/med/max':>23}"
    print(f"hyperdb, one writer, {count} keys, {pairs} interleaved pair(s) per backend")
    print(header)
    print("-" * len(header))
    for backend in a.backend or ("memory", "file"):
        py_runs, js_runs = [], []
        for _ in range(pairs):
            py_runs.append(asyncio.run(python_run(backend, count)))
            if not a.python_only:
                js = js_run(JS_BACKEND[backend], count)
                sodium = js.get("sodium")
                js_runs.append(js)
        for figure in ("puts", "gets"):
            py = [r[figure] for r in py_runs]
            js = [r[figure] for r in js_runs]
            ratios = [x / y for x, y in zip(py, js)]
            print(f"{backend:<7} {figure + '/s':<6} | {spread(py):>23} | {spread(js):>23} | {spread(ratios):>23}", flush=True)
        runs.append({"backend": backend, "count": count, "python": py_runs, "js": js_runs})
    if sodium:
        print(f"(JS on {sodium}; python lmdb rows are compared with JS random-access-file)")
    if a.json:
        print(json.dumps(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
