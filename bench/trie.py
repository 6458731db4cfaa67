"""hypertrie benchmark: Python beside JS hypertrie 3.8.0 in the same run, interleaved pairs.

Figures (each run in a fresh process; ``--pairs`` interleaved Python/JS pairs per row, default 5,
``--quick``: 1 pair and 10 000 keys, the order alternating from pair to pair; every figure printed as
``median [min-max]`` over the pairs, and so is the per-pair ratio Python speed / JS speed = JS time /
Python time, so >= 1.0 means Python is at least as fast):

* ``puts/s``: ``--count`` (100 000) awaited single puts of generated keys (``bench/<i % 100>/<i>``);
* ``gets/s``: as many gets of those keys in a fixed scattered order, on the trie just written;
  both on memory (JS random-access-memory) and on disk (Python LMDB beside JS random-access-file);
  also the process CPU time per put and per get (``CPU µs/put``, ``CPU µs/get``, ratio JS CPU / Python
  CPU), which other load on the machine disturbs less;
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
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    HERE, Server, add_common_arguments, fmt, interleaved, machine_line, pair_count, print_table, ratios,
    run_json as _run_json,
)

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


def run_json(cmd: list[str]) -> dict:
    return _run_json(cmd, timeout=4 * 3600, retry_exit=STALLED)


def local_run(lang: str, storage: str, count: int) -> dict:
    if lang == "py":
        return run_json(PY + ["--peer", "local", "--storage", storage, "--count", str(count)])
    with tempfile.TemporaryDirectory(prefix="hp-trie-bench-js-") as tmp:
        return run_json(JS + ["local", "--storage", storage, "--dir", tmp, "--count", str(count)])


def sparse_run(lang: str, server: Server, count: int) -> dict:
    info = server.info
    args = ["fetch", "--key", info["key"], "--port", str(info["port"]), "--count", str(count)]
    r = run_json(PY + ["--peer"] + args if lang == "py" else JS + args + ["--gets", str(SPARSE_GETS)])
    if r["found"] != SPARSE_GETS:
        raise SystemExit(f"{lang} sparse reader found {r['found']} of {SPARSE_GETS}")
    return r


Line = tuple[str, str, str, str]


def figure(py: list[dict], js: list[dict], label: str, f: Callable[[dict], float], spec: str,
           cost: str | None = None) -> Line:
    """A table row: ``f`` of every run on each side; the ratio from the runs' ``cost`` (a time: JS / Python)."""
    side = [fmt([f(r) for r in runs], spec) if runs else "-" for runs in (py, js)]
    ratio = fmt(ratios([r[cost] for r in py], [r[cost] for r in js])) if cost and js else ""
    return (label, side[0], side[1], ratio)


def local_table(title: str, count: int, res: dict[str, list[dict]]) -> None:
    py, js = res["py"], res.get("js", [])
    print_table(title, [
        figure(py, js, "puts/s", lambda r: count / r["putSeconds"], ",.0f", "putSeconds"),
        figure(py, js, "gets/s", lambda r: count / r["getSeconds"], ",.0f", "getSeconds"),
        figure(py, js, "CPU µs/put", lambda r: r["putCpu"] / count * 1e6, ".1f", "putCpu"),
        figure(py, js, "CPU µs/get", lambda r: r["getCpu"] / count * 1e6, ".1f", "getCpu"),
    ])


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--peer":
        return run_peer(sys.argv[2:])
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(p)
    p.add_argument("--count", type=int, help="keys (default 100 000; --quick: 10 000)")
    a = p.parse_args()
    count = a.count or (10_000 if a.quick else 100_000)
    pairs = pair_count(a)
    langs = ["py"] if a.python_only else ["py", "js"]
    print(f"trie bench: {machine_line()}; {count:,} keys, {pairs} interleaved pair(s) per row")
    out: dict[str, dict[str, list[dict]]] = {}
    for group, title, storage in (("mem", "memory", {"py": "memory", "js": "memory"}),
                                  ("disk", "disk (Python LMDB, JS random-access-file)", {"py": "lmdb", "js": "file"})):
        out[group] = interleaved(pairs, {lang: partial(local_run, lang, storage[lang], count) for lang in langs})
        local_table(f"{title}: {count:,} keys  ({pairs} pair{'s' if pairs != 1 else ''})", count, out[group])
    servers = {"py": Server(PY + ["--peer", "serve", "--count", str(count)], timeout=4 * 3600)}
    try:
        if not a.python_only:
            servers["js"] = Server(JS + ["serve", "--count", str(count)], timeout=4 * 3600)
        out["sparse"] = res = interleaved(pairs, {lang: partial(sparse_run, lang, servers[lang], count)
                                                  for lang in langs})
    finally:
        for server in servers.values():
            server.stop()
    py, js = res["py"], res.get("js", [])
    print_table(f"sparse reader over loopback TCP: {SPARSE_GETS} gets in a {count:,}-key trie  "
                f"({pairs} pair{'s' if pairs != 1 else ''})", [
        figure(py, js, f"{SPARSE_GETS} gets, s", lambda r: r["seconds"], ".3f", "seconds"),
        figure(py, js, "blocks fetched", lambda r: r["blocks"], ".0f"),
    ])
    if a.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
