"""hyperdb benchmark: Python hyperdb beside JS hyperdb 3.5.0 in the same run.

Rows, per backend: puts/s and gets/s with one writer and with three writers, and the seconds a second peer
takes to replicate the whole db (every writer) in one non-live session (in-memory transport on both sides:
a Python stream pipe, a JS stream pipe).  Workload (identical on both sides, bench/js/db.js): ``count``
awaited ``put("k/<i>", 32-byte value)`` — with three writers (the source authorizes two clones) each
writes a third of the keys in turn, the writers syncing after each turn (not timed) — then ``count``
awaited ``get("k/<i>")`` on the source in a fixed shuffled order (``i * 7919 mod count``), each checked.

Python and JS runs are interleaved for ``--pairs`` pairs per row (default 5, ``--quick``: 1), the order
alternating from pair to pair, so load on a shared machine hits both alike; each figure is printed as
``median [min-max]`` over the pairs, and so is the ratio of each pair (Python speed / JS speed: >= 1.0
means Python is at least as fast), with the process CPU time per put and per get of each side (the
Python side runs in this process, so its CPU figures are ``time.process_time`` over the timed loops).
Backends: ``memory`` (JS random-access-memory) and ``file`` (JS random-access-file); Python
``lmdb`` rows are compared with JS ``file``.  JS uses bench/js/node_modules (sodium-native, see
bench/setup-native.sh) when installed, else the interop packages (sodium-javascript); the backend in use is
printed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import HERE, add_common_arguments, fmt, interleaved, machine_line, pair_count, print_table, ratios, run_json  # noqa: E402

from hyperparty.feeds.hyperdb import HyperDB  # noqa: E402
from hyperparty.protocol.transport import pipe, wait_closed  # noqa: E402
from hyperparty.storage import open_storage  # noqa: E402

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
        put_seconds = put_cpu = 0.0
        per = -(-count // writers)
        for w, db in enumerate(dbs):
            started, cpu = time.perf_counter(), time.process_time()
            for i in range(w * per, min(count, (w + 1) * per)):
                await db.put(f"k/{i}", VALUE)
            put_seconds += time.perf_counter() - started
            put_cpu += time.process_time() - cpu
            for other in dbs:
                if other is not db:
                    await _sync(db, other)
        started, cpu = time.perf_counter(), time.process_time()
        for i in order(count):
            nodes = await a.get(f"k/{i}")
            if len(nodes) != 1 or nodes[0].value != VALUE:
                raise SystemExit(f"wrong value for k/{i}")
        out = {"putSeconds": put_seconds, "getSeconds": time.perf_counter() - started, "putCpu": put_cpu,
               "getCpu": time.process_time() - cpu}
        if replicate:
            fresh = HyperDB(storage("fresh"), a.key)
            await fresh.ready()
            started = time.perf_counter()
            await _sync(a, fresh)
            out["replicateSeconds"] = time.perf_counter() - started
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
        return run_json(["node", str(HERE / "js" / "db.js"), "--storage", backend, "--dir", tmp, "--count", str(count),
                         "--writers", str(writers)] + (["--replicate"] if replicate else []), timeout=7200)


def report(backend: str, writers: int, count: int, py: list[dict], js: list[dict]) -> None:
    def speed(label: str, key: str, rate: bool) -> tuple[str, str, str, str]:
        p, j = [r[key] for r in py], [r[key] for r in js]
        show = (lambda xs: [count / x for x in xs]) if rate else (lambda xs: xs)
        spec = ".0f" if rate else ".2f"
        return (label, fmt(show(p), spec), fmt(show(j), spec) if js else "-", fmt(ratios(p, j)) if js else "")

    def line(label: str, f: Callable[[dict], float]) -> tuple[str, str, str, str]:
        return (label, fmt([f(r) for r in py], ".1f"), fmt([f(r) for r in js], ".1f") if js else "-", "")

    print_table(f"{backend}, {writers} writer{'s' if writers != 1 else ''}: {count} keys  "
                f"({len(py)} pair{'s' if len(py) != 1 else ''})", [
        speed("puts/s", "putSeconds", True),
        speed("gets/s", "getSeconds", True),
        speed("replicate s", "replicateSeconds", False),
        line("CPU µs/put", lambda r: r["putCpu"] / count * 1e6),
        line("CPU µs/get", lambda r: r["getCpu"] / count * 1e6),
    ])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(p)
    p.add_argument("--count", type=int, help="keys (default 100000; --quick: 2000)")
    p.add_argument("--writers", type=int, action="append", choices=(1, 3), help="only these writer counts")
    p.add_argument("--backend", choices=BACKENDS, action="append", help="only these backends")
    a = p.parse_args()
    count, pairs = a.count or (2_000 if a.quick else 100_000), pair_count(a)
    print(f"db bench: {machine_line()}; {pairs} interleaved pair(s) per row")
    print("python lmdb rows are compared with JS random-access-file (JS has no LMDB backend)")
    runs = []
    for backend in a.backend or ("memory", "file"):
        for writers in a.writers or (1, 3):
            sides = {"py": lambda: asyncio.run(python_run(backend, count, writers, True))}
            if not a.python_only:
                sides["js"] = lambda: js_run(JS_BACKEND[backend], count, writers, True)
            res = interleaved(pairs, sides)
            report(backend, writers, count, res["py"], res.get("js", []))
            runs.append({"backend": backend, "writers": writers, "count": count, "py": res["py"],
                         "js": res.get("js", [])})
    if a.json:
        print(json.dumps(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
