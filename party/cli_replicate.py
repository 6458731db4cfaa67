"""``hyperparty core serve`` / ``core fetch``: replicate one hypercore over TCP.

* ``core serve --storage S [--listen HOST:PORT] [--live] [--append-stdin]``: serve the feed in ``S`` (a
  new one is created when ``S`` is empty); prints ``{"key", "discoveryKey", "port", "length"}`` once
  listening and serves until interrupted.  ``--append-stdin`` appends each stdin line as a block (live
  peers receive them as they are written) and prints ``{"length", "byteLength"}`` after each.
* ``core fetch KEY --connect HOST:PORT [--storage S] [--live] [--start N] [--end M]``: replicate and
  verify; non-live prints ``{"length", "byteLength", "sha256", "seconds"}`` (sha256 of the blocks fetched,
  concatenated: ``[start, end)`` or the whole feed); ``--live`` prints ``{"seq", "data"}`` for every block
  as it arrives, until the connection ends.  Progress goes to stderr every second on long downloads.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import time
from typing import TYPE_CHECKING

from .cli import CommandError, emit
from .cli_core import block_text

if TYPE_CHECKING:  # pragma: no cover
    from .cli import CommandLine

__all__ = ["register", "parse_host_port"]

CONNECT_TIMEOUT = 10.0


def parse_host_port(text: str, *, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``HOST:PORT`` / ``:PORT`` / ``PORT`` -> (host, port)."""
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise CommandError(f"not HOST:PORT: {text!r}") from None
    if not 0 <= number <= 65535:
        raise CommandError(f"port out of range: {number}")
    return (host or default_host), number


class _Progress:
    """Prints ``downloaded N/M blocks, X MB, Y MB/s`` to stderr at most once a second."""

    def __init__(self, core, interval: float = 1.0) -> None:
        self.core = core
        self.start = time.monotonic()
        self.last = self.start
        self.interval = interval
        self.blocks = 0
        self.bytes = 0
        self.printed = False

    def __call__(self, index: int, data: bytes) -> None:
        self.blocks += 1
        self.bytes += len(data)
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            rate = self.bytes / (now - self.start) / 1e6
            total = max(self.core.length, self.core.remote_length)
            print(f"hyperparty: downloaded {self.blocks}/{total} blocks, {self.bytes / 1e6:.1f} MB, {rate:.1f} MB/s",
                  file=sys.stderr, flush=True)
            self.printed = True


async def _serve(args: argparse.Namespace) -> int:
    from ..feeds.hypercore import Hypercore
    from ..protocol.transport import serve_tcp

    host, port = parse_host_port(args.listen)
    core = Hypercore(args.storage)
    await core.ready()
    try:
        server = await serve_tcp(host, port, lambda: core.replicate(live=args.live))
    except OSError as exc:
        await core.close()
        raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound = server.sockets[0].getsockname()[1]
    emit({"key": core.key.hex(), "discoveryKey": core.discovery_key.hex(), "port": bound, "length": core.length})
    try:
        if args.append_stdin:
            if not core.writable:
                raise CommandError("--append-stdin needs a writable feed")
            loop = asyncio.get_running_loop()
            while True:
                line = await loop.run_in_executor(None, sys.stdin.buffer.readline)
                if not line:
                    break
                await core.append(line.rstrip(b"\r\n"))
                emit({"length": core.length, "byteLength": core.byte_length})
        await asyncio.Event().wait()  # serve until interrupted
    finally:
        server.close()
        await core.close()
    return 0


async def _fetch(args: argparse.Namespace) -> int:
    from ..feeds.hypercore import Hypercore
    from ..protocol.transport import connect_tcp

    try:
        key = bytes.fromhex(args.key)
    except ValueError:
        raise CommandError(f"KEY is not hex: {args.key!r}") from None
    if len(key) != 32:
        raise CommandError("KEY must be 32 bytes (64 hex characters)")
    host, port = parse_host_port(args.connect)
    ranged = args.start is not None or args.end is not None
    start = args.start or 0
    if start < 0 or (args.end is not None and args.end < start):
        raise CommandError("need 0 <= --start <= --end")
    core = Hypercore(args.storage, key=key, sparse=ranged)
    await core.ready()
    if core.key != key:
        await core.close()
        raise CommandError("the storage holds a different feed")
    began = time.monotonic()
    progress = _Progress(core)
    core.on("download", progress)
    if args.live:
        core.on("download", lambda seq, data: emit({"seq": seq, "data": block_text(data)}))
    stream = core.replicate(live=args.live or ranged)
    try:
        try:
            task = await asyncio.wait_for(connect_tcp(host, port, stream), CONNECT_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as exc:
            raise CommandError(f"cannot connect to {host}:{port}: {exc}") from None
        if ranged:
            end = args.end if args.end is not None else -1
            if end == -1:
                await core.update(1)
                end = core.length
            download = asyncio.ensure_future(core.download(start, end))
            done, _ = await asyncio.wait({download, task}, return_when=asyncio.FIRST_COMPLETED)
            if download not in done:
                download.cancel()
                error = task.result() if not task.cancelled() else None
                raise CommandError(f"the connection ended before blocks {start}..{end} arrived: {error}")
            download.result()
            stream.finalize()
            await asyncio.wait_for(task, 5)
        else:
            error = await task
            if error is not None:
                raise CommandError(f"replication failed: {error}")
            end = core.length
        if args.live:
            return 0
        digest = hashlib.sha256()
        for seq in range(start, end):
            if not core.has(seq):
                raise CommandError(f"block {seq} was not downloaded")
            digest.update(core.read_block(seq))
        emit({
            "length": core.length,
            "byteLength": core.byte_length,
            "sha256": digest.hexdigest(),
            "seconds": round(time.monotonic() - began, 3),
        })
        return 0
    finally:
        if not stream.destroyed:
            stream.destroy()
        await core.close()


def register(cli: "CommandLine") -> None:
    """Add ``core serve`` and ``core fetch``."""

    def serve_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--storage", default="memory", metavar="STORAGE", help="memory | file:DIR | lmdb:DIR")
        p.add_argument("--listen", default="127.0.0.1:0", metavar="HOST:PORT", help="default 127.0.0.1:0 (any port)")
        p.add_argument("--live", action="store_true", help="keep connections open and push new blocks")
        p.add_argument("--append-stdin", action="store_true", help="append each stdin line while serving")

    def fetch_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("key", metavar="KEY", help="public key of the feed (hex)")
        p.add_argument("--connect", required=True, metavar="HOST:PORT")
        p.add_argument("--storage", default="memory", metavar="STORAGE", help="memory | file:DIR | lmdb:DIR")
        p.add_argument("--live", action="store_true", help="stay connected and print new blocks")
        p.add_argument("--start", type=int, default=None, metavar="N", help="first block (sparse range fetch)")
        p.add_argument("--end", type=int, default=None, metavar="M", help="end of the range, exclusive")

    cli.add(("core", "serve"), _serve, help="serve a feed over TCP", arguments=serve_args)
    cli.add(("core", "fetch"), _fetch, help="download a feed from a peer", arguments=fetch_args)
