"""Python side of bench/replicate.py and bench/scale.py: one replication peer per process, JSON on stdout.

    python bench/replicate_peer.py serve --blocks N --size S
        -> {"port", "key", "appendSeconds", "appendCpu", "rss"}; serves (non-live) until killed
    python bench/replicate_peer.py fetch --key HEX --port P [--max-requests R] [--storage memory|lmdb --dir D]
        -> {"seconds", "cpu", "blocks", "bytes", "peakRss"}

The server appends in batches of 1 000 into memory storage; ``cpu`` is the CPU time of the fetch only
(``time.process_time``, every thread), ``peakRss`` the process's ``ru_maxrss``.  Same protocol as
bench/js/replicate.js: non-live replication over loopback TCP.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time

from hyperparty.feeds.hypercore import Hypercore
from hyperparty.protocol.transport import connect_tcp, serve_tcp
from hyperparty.storage import MemoryStorage, open_storage


def out(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


async def serve(blocks: int, size: int) -> None:
    core = Hypercore(MemoryStorage())
    await core.ready()
    block = b"x" * size
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(0, blocks, 1000):
        await core.append([block] * min(1000, blocks - i))
    append_seconds, append_cpu = time.perf_counter() - started, time.process_time() - cpu
    server = await serve_tcp("127.0.0.1", 0, lambda: core.replicate(live=False))
    out({"port": server.sockets[0].getsockname()[1], "key": core.key.hex(), "appendSeconds": append_seconds,
         "appendCpu": append_cpu, "rss": peak_rss()})
    await asyncio.Event().wait()


async def fetch(key: str, port: int, host: str, max_requests: int | None, storage: str, directory: str | None) -> None:
    spec = "memory" if storage == "memory" else f"{storage}:{directory}"
    core = Hypercore(open_storage(spec), key=bytes.fromhex(key), max_requests=max_requests)
    await core.ready()
    started, cpu = time.perf_counter(), time.process_time()
    task = await connect_tcp(host, port, core.replicate(live=False))
    error = await asyncio.wait_for(task, 3600)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if error is not None:
        raise SystemExit(f"replication failed: {error}")
    out({"seconds": seconds, "cpu": cpu, "blocks": core.length, "downloaded": core.downloaded(),
         "bytes": core.byte_length, "peakRss": peak_rss()})
    await core.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("serve", "fetch"))
    p.add_argument("--blocks", type=int, default=0)
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--key")
    p.add_argument("--port", type=int)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--max-requests", type=int, default=None, help="request pipeline depth (default: ours)")
    p.add_argument("--storage", choices=("memory", "lmdb", "file"), default="memory")
    p.add_argument("--dir", help="directory of file/lmdb storage")
    a = p.parse_args()
    if a.mode == "serve":
        asyncio.run(serve(a.blocks, a.size))
    else:
        asyncio.run(fetch(a.key, a.port, a.host, a.max_requests, a.storage, a.dir))


if __name__ == "__main__":
    main()
