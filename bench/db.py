"""hyperdb benchmark: Python hyperdb beside JS hyperdb 3.5.0 in the same run.

Rows, per backend: puts/s and gets/s with one writer and with three writers, and the seconds a second peer
takes to replicate the whole db (every writer) in one non-live session (in-memory transport on both sides:
a Python stream pipe, a JS stream pipe).  Workload (identical on both sides, bench/js/db.js): ``count``
awaited ``put("k/<i>", 32-byte value)`` — with three writers (the source authorizes two clones) each
writes a third of the keys in turn, the writers syncing after each turn (not timed) — then ``count``
awaited ``get("k/<i>")`` on the source in a fixed shuffled order (``i * 7919 mod count``), each checked.

Python and JS runs are interleaved (Python, JS, Python, JS, ...) for ``--pairs`` pairs per row, so load on
a shared machine hits both alike; each figure is reported as min / median / max over the pairs, and so is
the ratio of each pair (Python / JS for rates, JS / Python for seconds: >= 1.0 means Python is at least as
fast).  Backends: ``memory`` (JS random-access-memory) and ``file`` (JS random-access-file); Python
``lmdb`` rows are compared with JS ``file``.  JS uses bench/js/node_modules (sodium-native, see
bench/setup-native.sh) when installed, else the interop packages (sodium-javascript); the backend in use is
printed.
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
from hyperparty.protocol.transport import pipe, wait_closed
from hyperparty.storage import open_storage

HERE = Path(__file__).resolve().parent
BACKENDS = ("memory", "file", "lmdb")
JS_BACKEND = {"memory": "memory", "file": "file", "lmdb": "file"}
VALUE = b"x" * 32


def order(n: int) -> list[int]:
    return [(i * 7919) % n for i in range(n)]


async def _sync(a: HyperDB, b: HyperDB) -> None:
    s1, s2 = a.replicate(live=False), b.replicate(live=False)
    pipe(s1, s2)
    errors = [await wait_closed(s) for s in (s1, s2)]
    if any(errors):
        raise SystemExit(f"replication failed: {errors}")


async def python_run(backend: str, count: int, writers: int, replicate: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="hp-bench-db-") as tmp:
        storages: list = []

        def storage(name: str):
            st = open_storage("memory" if backend == "memory" else f"{backend}:{tmp}/{name}")
            storages.append(st)
            return st

        a = HyperDB(storage("a"))
        await a.ready()
        dbs = [a]
        for w in range(1, writers):
            db = HyperDB(storage(f"w{w}"), a.key)
            await db.ready()
            await a.authorize(db.local_key)
            dbs.append(db)
        for db in dbs[1:]:
            await _sync(a, db)
        gc.collect()
        put_seconds = 0.0
        per = -(-count // writers)
        for w, db in enumerate(dbs):
            started = time.perf_counter()
            for i in range(w * per, min(count, (w + 1) * per)):
                await db.put(f"k/{i}", VALUE)
            put_seconds += time.perf_counter() - started
            for other in dbs:
                if other is not db:
                    await _sync(db, other)
        started = time.perf_counter()
        for i in order(count):
            nodes = await a.get(f"k/{i}")
            if len(nodes) != 1 or nodes[0].value != VALUE:
                raise SystemExit(f"wrong value for k/{i}")
        out = {"puts": count / put_seconds, "gets": count / (time.perf_counter() - started)}
        if replicate:
            fresh = HyperDB(storage("fresh"), a.key)
            await fresh.ready()
            started = time.perf_counter()
            await _sync(a, fresh)
            out["replicate"] = time.perf_counter() - started
            if len(await fresh.get(f"k/{count - 1}")) != 1:
                raise SystemExit("the replica is incomplete")
            dbs.append(fresh)
        for db in dbs:
            await db.close()
        for st in storages:
            st.close()
    return out


def js_run(backend: str, count: int, writers: int, replicate: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="hp-bench-db-js-") as tmp:
        argv = ["node", str(HERE / "js" / "db.js"), "--storage", backend, "--dir", tmp, "--count", str(count),
                "--writers", str(writers)] + (["--replicate"] if replicate else [])
        result = subprocess.run(argv, capture_output=True, text=True, timeout=7200)
    if result.returncode != 0:
        raise SystemExit(f"JS db run failed: {result.stderr.strip()[-500:]}")
    out = json.loads(result.stdout.strip().splitlines()[-1])
    row = {"puts": count / out["putSeconds"], "gets": count / out["getSeconds"], "sodium": out.get("sodium")}
    if "replicateSeconds" in out:
        row["replicate"] = out["replicateSeconds"]
    return row


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    lo, med, hi = min(values), statistics.median(values), max(values)
    if hi >= 100:
        return f"{lo:7.0f} {med:7.0f} {hi:7.0f}"
    return f"{lo:7.2f} {med:7.2f} {hi:7.2f}"


FIGURES = (("puts", "puts/s", False), ("gets", "gets/s", False), ("replicate", "repl s", True))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=100_000, help="keys (default 100000)")
    p.add_argument("--pairs", type=int, default=3, help="interleaved Python/JS runs per row (default 3)")
    p.add_argument("--writers", type=int, action="append", choices=(1, 3), help="only these writer counts")
    p.add_argument("--quick", action="store_true", help="2 000 keys, one pair (smoke run)")
    p.add_argument("--python-only", action="store_true", help="skip the JS side")
    p.add_argument("--backend", choices=BACKENDS, action="append", help="only these backends")
    p.add_argument("--json", action="store_true", help="also print all runs as one JSON line")
    a = p.parse_args()
    count, pairs = (2_000, 1) if a.quick else (a.count, a.pairs)
    sodium = None
    runs = []
    header = (f"{'backend':<7} {'writers':>7} {'figure':<7} | {'python min/med/max':>23} | {'js min/med/max':>23} | "
              f"{'ratio min/med/max':>23}")
    print(f"hyperdb, {count} keys, {pairs} interleaved pair(s) per row")
    print(header)
    print("-" * len(header))
    for backend in a.backend or ("memory", "file"):
        for writers in a.writers or (1, 3):
            py_runs, js_runs = [], []
            for _ in range(pairs):
                py_runs.append(asyncio.run(python_run(backend, count, writers, True)))
                if not a.python_only:
                    js = js_run(JS_BACKEND[backend], count, writers, True)
                    sodium = js.get("sodium")
                    js_runs.append(js)
            for figure, label, lower_is_better in FIGURES:
                py = [r[figure] for r in py_runs]
                js_values = [r[figure] for r in js_runs if figure in r]
                ratios = [(y / x) if lower_is_better else (x / y) for x, y in zip(py, js_values)]
                print(f"{backend:<7} {writers:>7} {label:<7} | {spread(py):>23} | {spread(js_values):>23} | "
                      f"{spread(ratios):>23}", flush=True)
            runs.append({"backend": backend, "writers": writers, "count": count, "python": py_runs, "js": js_runs})
    if sodium:
        print(f"(JS on {sodium}; python lmdb rows are compared with JS random-access-file)")
    if a.json:
        print(json.dumps(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
