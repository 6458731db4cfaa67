"""Python side of bench/replicate.py: one replication peer per process, JSON on stdout.

    python bench/replicate_peer.py serve --blocks N --size S   -> {"port", "key"}; serves until killed
    python bench/replicate_peer.py fetch --key HEX --port P     -> {"seconds", "blocks", "bytes", "peakRss"}

Both sides use memory storage, non-live replication over loopback TCP, exactly like bench/js/replicate.js.
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
from hyperparty.storage import MemoryStorage


def out(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def serve(blocks: int, size: int) -> None:
    core = Hypercore(MemoryStorage())
    await core.ready()
    block = b"x" * size
    for i in range(0, blocks, 1000):
        await core.append([block] * min(1000, blocks - i))
    server = await serve_tcp("127.0.0.1", 0, lambda: core.replicate(live=False))
    out({"port": server.sockets[0].getsockname()[1], "key": core.key.hex()})
    await asyncio.Event().wait()


async def fetch(key: str, port: int, host: str) -> None:
    core = Hypercore(MemoryStorage(), key=bytes.fromhex(key))
    await core.ready()
    started = time.perf_counter()
    task = await connect_tcp(host, port, core.replicate(live=False))
    error = await asyncio.wait_for(task, 600)
    seconds = time.perf_counter() - started
    if error is not None:
        raise SystemExit(f"replication failed: {error}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    out({"seconds": seconds, "blocks": core.length, "bytes": core.byte_length, "peakRss": peak})


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("serve", "fetch"))
    p.add_argument("--blocks", type=int, default=0)
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--key")
    p.add_argument("--port", type=int)
    p.add_argument("--host", default="127.0.0.1")
    a = p.parse_args()
    if a.mode == "serve":
        asyncio.run(serve(a.blocks, a.size))
    else:
        asyncio.run(fetch(a.key, a.port, a.host))


if __name__ == "__main__":
    main()
