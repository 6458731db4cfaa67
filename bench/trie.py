"""hypertrie benchmark: Python beside JS hypertrie 3.8.0 in the same run, interleaved pair by pair.

Figures (each measured in a fresh process, Python then JS, ``--pairs`` times; min / median / max printed,
and the same for the ratio JS time / Python time, so >= 1.0 means Python is at least as fast):

* ``puts/s``: ``--count`` (100 000) awaited single puts of generated keys (``bench/<i % 100>/<i>``);
* ``gets/s``: as many gets of those keys in a fixed scattered order, on the trie just written;
  both on memory (JS random-access-memory) and on disk (Python LMDB beside JS random-access-file);
  also per second of process CPU time (``/CPU-s``), which other load on the machine disturbs less;
* ``sparse``: a sparse reader connects over loopback TCP to a server holding the ``--count``-key trie
  (built once per side, in batches of 1 000) and runs 100 gets spread over the keys: the time they take
  and the data blocks they download (the same walk on both sides, so the same block count is expected).

JS runs from bench/js/node_modules (sodium-native, built by bench/setup-native.sh) or else the interop
harness's packages (sodium-javascript, far slower at signing); the backend in use is printed.

Usage: ``python bench/trie.py [--quick] [--pairs N] [--count N] [--python-only] [--json]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
JS = ["node", str(HERE / "js" / "trie.js")]
PY = [sys.executable, str(Path(__file__).resolve())]
SPARSE_GETS = 100


# ------------------------------------------------------------------------------------------------
# the Python side (run as `trie.py --peer MODE ...` in a fresh process)


def key(i: int) -> str:
    return f"bench/{i % 100}/{i}"


def value(i: int) -> bytes:
    return b"value %d" % i


def lookup(j: int, n: int) -> int:
    return (j * 7919) % n


def out(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


async def peer_local(storage: str, count: int) -> None:
    from hyperparty.feeds.hypertrie import Hypertrie

    trie = Hypertrie(storage)
    await trie.ready()
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        await trie.put(key(i), value(i))
    put_seconds, put_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    for j in range(count):
        i = lookup(j, count)
        e = await trie.get(key(i))
        if e is None or e.value != value(i):
            raise SystemExit(f"wrong value for {key(i)}")
    get_seconds, get_cpu = time.perf_counter() - started, time.process_time() - cpu
    out({"putSeconds": put_seconds, "getSeconds": get_seconds, "putCpu": put_cpu, "getCpu": get_cpu,
         "length": trie.version})
    await trie.close()


async def build(trie, count: int) -> None:
    for start in range(0, count, 1000):
        await trie.batch([{"type": "put", "key": key(i), "value": value(i)} for i in range(start, min(count, start + 1000))])


async def peer_serve(count: int) -> None:
    from hyperparty.feeds.hypertrie import Hypertrie
    from hyperparty.protocol.transport import serve_tcp

    trie = Hypertrie("memory")
    await trie.ready()
    await build(trie, count)
    server = await serve_tcp("127.0.0.1", 0, lambda: trie.replicate(live=True))
    out({"port": server.sockets[0].getsockname()[1], "key": trie.key.hex(), "length": trie.version})
    await asyncio.Event().wait()


async def peer_fetch(key_hex: str, port: int, count: int, gets: int) -> None:
    from hyperparty.feeds.hypertrie import Hypertrie
    from hyperparty.protocol.transport import connect_tcp

    trie = Hypertrie("memory", bytes.fromhex(key_hex), sparse=True)
    await trie.ready()
    stream = trie.replicate(live=True)
    await connect_tcp("127.0.0.1", port, stream)
    await trie.update(timeout=30)
    stats = trie.core.stats
    before = stats["downloaded_blocks"]
    found = 0
    started = time.perf_counter()
    for j in range(gets):
        i = lookup(j * (count // gets) + 1, count)
        e = await trie.get(key(i))
        found += e is not None and e.value == value(i)
    seconds = time.perf_counter() - started
    out({"seconds": seconds, "blocks": stats["downloaded_blocks"] - before, "found": found})
    stream.destroy()


def run_peer(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="trie.py --peer")
    p.add_argument("mode", choices=["local", "serve", "fetch"])
    p.add_argument("--storage", default="memory")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--key")
    p.add_argument("--port", type=int)
    p.add_argument("--gets", type=int, default=SPARSE_GETS)
    a = p.parse_args(argv)
    if a.mode == "local":
        with tempfile.TemporaryDirectory(prefix="hp-trie-bench-") as tmp:
            spec = "memory" if a.storage == "memory" else f"{a.storage}:{tmp}/trie"
            asyncio.run(peer_local(spec, a.count))
    elif a.mode == "serve":
        asyncio.run(peer_serve(a.count))
    else:
        asyncio.run(peer_fetch(a.key, a.port, a.count, a.gets))
    return 0


# ------------------------------------------------------------------------------------------------
# the driver


STALLED = 3  # bench/js/trie.js: no progress for a while (seen with random-access-file on a loaded machine)


def run_json(cmd: list[str], timeout: float = 4 * 3600, retries: int = 2) -> dict:
    for attempt in range(retries + 1):
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if result.returncode == STALLED and attempt < retries:
            print(f"{' '.join(cmd[:3])}: {result.stderr.strip()[-300:]}; running it again", file=sys.stderr, flush=True)
            continue
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(cmd[:3])} failed: {result.stderr.strip()[-800:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])
    raise AssertionError("unreachable")


def start_server(cmd: list[str]) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line:
        proc.kill()
        raise SystemExit(f"server {' '.join(cmd[:3])} failed to start")
    return proc, json.loads(line)


def local_pair(storage_py: str, storage_js: str, count: int, python_only: bool) -> dict:
    py = run_json(PY + ["--peer", "local", "--storage", storage_py, "--count", str(count)])
    row = {"py_puts": count / py["putSeconds"], "py_gets": count / py["getSeconds"],
           "py_cpu_puts": count / py["putCpu"], "py_cpu_gets": count / py["getCpu"]}
    if not python_only:
        with tempfile.TemporaryDirectory(prefix="hp-trie-bench-js-") as tmp:
            js = run_json(JS + ["local", "--storage", storage_js, "--dir", tmp, "--count", str(count)])
        row.update(js_puts=count / js["putSeconds"], js_gets=count / js["getSeconds"], sodium=js["sodium"])
        row.update(ratio_puts=js["putSeconds"] / py["putSeconds"], ratio_gets=js["getSeconds"] / py["getSeconds"])
        row.update(js_cpu_puts=count / js["putCpu"], js_cpu_gets=count / js["getCpu"],
                   ratio_cpu_puts=js["putCpu"] / py["putCpu"], ratio_cpu_gets=js["getCpu"] / py["getCpu"])
    return row


def sparse_pair(servers: dict, count: int, python_only: bool) -> dict:
    info = servers["py"][1]
    py = run_json(PY + ["--peer", "fetch", "--key", info["key"], "--port", str(info["port"]), "--count", str(count)])
    row = {"py_sparse_s": py["seconds"], "py_blocks": py["blocks"]}
    if py["found"] != SPARSE_GETS:
        raise SystemExit(f"Python sparse reader found {py['found']} of {SPARSE_GETS}")
    if not python_only:
        info = servers["js"][1]
        js = run_json(JS + ["fetch", "--key", info["key"], "--port", str(info["port"]), "--count", str(count),
                            "--gets", str(SPARSE_GETS)])
        if js["found"] != SPARSE_GETS:
            raise SystemExit(f"JS sparse reader found {js['found']} of {SPARSE_GETS}")
        row.update(js_sparse_s=js["seconds"], js_blocks=js["blocks"], ratio_sparse=js["seconds"] / py["seconds"])
    return row


def spread(values: list[float], fmt: str) -> str:
    return f"{format(min(values), fmt):>9} {format(statistics.median(values), fmt):>9} {format(max(values), fmt):>9}"


def report(rows: list[dict], python_only: bool) -> None:
    figures = [
        ("memory puts/s", "mem", "puts", ",.0f"),
        ("memory gets/s", "mem", "gets", ",.0f"),
        ("disk puts/s", "disk", "puts", ",.0f"),
        ("disk gets/s", "disk", "gets", ",.0f"),
        ("memory puts/CPU-s", "mem", "cpu_puts", ",.0f"),
        ("memory gets/CPU-s", "mem", "cpu_gets", ",.0f"),
        ("disk puts/CPU-s", "disk", "cpu_puts", ",.0f"),
        ("disk gets/CPU-s", "disk", "cpu_gets", ",.0f"),
        (f"sparse {SPARSE_GETS} gets, s", "sparse", "sparse_s", ".3f"),
        ("sparse blocks fetched", "sparse", "blocks", ".0f"),
    ]
    head = f"{'figure':<24} | {'python min':>9} {'median':>9} {'max':>9} |"
    if not python_only:
        head += f" {'js min':>9} {'median':>9} {'max':>9} | {'ratio min':>9} {'median':>9} {'max':>9}"
    print(head)
    print("-" * len(head))
    for title, group, name, fmt in figures:
        got = [r[group] for r in rows]
        line = f"{title:<24} | {spread([g['py_' + name] for g in got], fmt)} |"
        if not python_only:
            line += f" {spread([g['js_' + name] for g in got], fmt)} |"
            rname = "ratio_" + ("sparse" if name == "sparse_s" else name)
            if rname in got[0] and name != "blocks":
                line += f" {spread([g[rname] for g in got], '.2f')}"
        print(line)
    if not python_only:
        print(f"(JS on {rows[0]['mem'].get('sodium', '?')}; disk = Python LMDB beside JS random-access-file; "
              "ratio = JS time / Python time; /CPU-s rows count process CPU time, not wall time: steadier on "
              "a shared machine)")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--peer":
        return run_peer(sys.argv[2:])
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="10 000 keys, one pair (a smoke run)")
    p.add_argument("--pairs", type=int, help="Python/JS pairs per figure (default 5; --quick: 1)")
    p.add_argument("--count", type=int, help="keys (default 100 000; --quick: 10 000)")
    p.add_argument("--python-only", action="store_true", help="skip the JS side")
    p.add_argument("--json", action="store_true", help="also print every pair as one JSON line")
    a = p.parse_args()
    count = a.count or (10_000 if a.quick else 100_000)
    pairs = a.pairs or (1 if a.quick else 5)
    servers = {"py": start_server(PY + ["--peer", "serve", "--count", str(count)])}
    if not a.python_only:
        servers["js"] = start_server(JS + ["serve", "--count", str(count)])
    rows = []
    try:
        for n in range(pairs):
            row = {
                "mem": local_pair("memory", "memory", count, a.python_only),
                "disk": local_pair("lmdb", "file", count, a.python_only),
                "sparse": sparse_pair(servers, count, a.python_only),
            }
            rows.append(row)
            print(f"pair {n + 1}/{pairs} done", file=sys.stderr, flush=True)
    finally:
        for proc, _ in servers.values():
            proc.kill()
            proc.wait()
    print(f"hypertrie: {count:,} keys, {pairs} pair(s)")
    report(rows, a.python_only)
    if a.json:
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
