"""Python side of the clone rows of bench/drive.py: one drive peer per process, JSON lines on stdout.

    python bench/drive_peer.py serve --dir STORE   -> {"port", "key"}; serves (non-live) until killed
    python bench/drive_peer.py fetch --key HEX --port P --dir DST
                                                   -> {"seconds", "cpu", "blocks", "bytes", "peakRss"}

The drive lives on the file backend (the layout JS uses); the fetcher replicates both feeds non-live
into an empty directory, like bench/js/drive-peer.js.  ``cpu`` is the process CPU time of the fetch
(``time.process_time``), ``peakRss`` the process's ``ru_maxrss`` in bytes; the driver reads the server's
CPU and peak RSS from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time

from hyperparty.feeds import porcelain
from hyperparty.feeds.hyperdrive import Hyperdrive


def out(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


async def serve(store: str) -> None:
    drive = Hyperdrive(f"file:{store}")
    server = await porcelain.serve(drive, "127.0.0.1", 0, live=False)
    out({"port": server.port, "key": drive.key.hex()})
    await asyncio.Event().wait()


async def fetch(key: str, port: int, dst: str) -> None:
    drive = Hyperdrive(f"file:{dst}", key=bytes.fromhex(key))
    started, cpu = time.perf_counter(), time.process_time()
    result = await porcelain.fetch(drive, "127.0.0.1", port, live=False, timeout=120)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert drive.content is not None and drive.content.downloaded() == drive.content.length
    out({"seconds": seconds, "cpu": cpu, "blocks": result.blocks, "bytes": drive.content.byte_length,
         "peakRss": peak_rss()})
    await drive.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("serve", "fetch"))
    p.add_argument("--dir", required=True)
    p.add_argument("--key")
    p.add_argument("--port", type=int)
    a = p.parse_args()
    asyncio.run(serve(a.dir) if a.mode == "serve" else fetch(a.key, a.port, a.dir))


if __name__ == "__main__":
    main()
