"""``hyperparty core ...``: plain hypercores.

Local (no network):

* ``core init --storage S [--key HEX]``: create a feed (new key pair; with ``--key``, an empty read-only
  replica of that key), or open the existing one -> ``{"key", "discoveryKey"}``.
* ``core append --storage S [DATA ...]``: append the arguments as one batch (no arguments: one block per
  line of stdin, without its line ending) -> ``{"length", "byteLength"}``.
* ``core info --storage S`` -> ``{"key", "discoveryKey", "length", "byteLength", "writable"}``.
* ``core cat --storage S [--start N] [--end M]`` -> one ``{"seq", "data"}`` per stored block; ``data`` is
  the block as text when it is valid UTF-8, else ``"hex:<hex>"``.  Blocks that are not stored locally are
  reported on stderr and make the exit status 1.

Over TCP (thin wrappers of :mod:`hyperparty.feeds.porcelain`):

* ``core serve --storage S [--listen HOST:PORT] [--discover] [--live] [--append-stdin]``: serve the feed in ``S`` (a
  new one is created when ``S`` is empty); prints ``{"key", "discoveryKey", "port", "length"}`` once
  listening and serves until interrupted.  ``--append-stdin`` appends each stdin line as a block (live
  peers receive them as they are written) and prints ``{"length", "byteLength"}`` after each.
  ``--discover`` also announces the feed's discovery key on the LAN (listening on 0.0.0.0 unless
  ``--listen`` says otherwise) and prints ``{"peer", "host", "port"}`` for other peers of the key.
* ``core fetch KEY (--connect HOST:PORT | --discover) [--storage S] [--live] [--start N] [--end M] [--timeout T]``:
  replicate and verify; non-live prints ``{"length", "byteLength", "sha256", "seconds"}`` (sha256 of the
  blocks fetched, concatenated: ``[start, end)`` or the whole feed); ``--live`` prints ``{"seq", "data"}``
  for every block as it arrives, until the connection ends.  Progress goes to stderr (a bar on a
  terminal, else a line a second) on long downloads.  ``--discover`` looks the key up on the LAN instead of
  connecting to an address: each peer found is printed (``{"peer", "host", "port"}``) and tried in turn
  until one connects (``--timeout`` also bounds the wait for the first peer).

Keys are lowercase hex.  ``STORAGE`` is ``memory``, ``file:DIR`` or ``lmdb:DIR``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import sys
from typing import TYPE_CHECKING, Awaitable, Callable

from .common import (
    CommandError,
    ProgressReporter,
    add_storage_argument,
    block_text,
    emit,
    parse_host_port,
    parse_key,
    parse_storage,
    warn,
)
from .discovering import add_discover_arguments, lan_peers

if TYPE_CHECKING:  # pragma: no cover
    from ..feeds import porcelain
    from ..feeds.hypercore import Hypercore
    from .app import CommandLine

__all__ = ["register"]


async def _open(spec: str, *, create: bool = False, key: bytes | None = None, sparse: bool = False) -> "Hypercore":
    from ..feeds.hypercore import Hypercore

    core = Hypercore(parse_storage(spec), key=key, create_if_missing=create, sparse=sparse)
    try:
        await core.ready()
    except BaseException:
        await core.close()
        raise
    return core


async def _init(args: argparse.Namespace) -> int:
    core = await _open(args.storage, create=True, key=parse_key(args.key, "--key"))
    try:
        emit({"key": core.key.hex(), "discoveryKey": core.discovery_key.hex()})
    finally:
        await core.close()
    return 0


async def _append(args: argparse.Namespace) -> int:
    if args.data:
        blocks = [d.encode("utf-8") for d in args.data]
    else:
        blocks = [line.rstrip(b"\r\n") if line.endswith(b"\n") else line for line in sys.stdin.buffer]
    core = await _open(args.storage)
    try:
        if not core.writable:
            raise CommandError("This feed is not writable. Did you create it?")
        await core.append(blocks)
        emit({"length": core.length, "byteLength": core.byte_length})
    finally:
        await core.close()
    return 0


async def _info(args: argparse.Namespace) -> int:
    core = await _open(args.storage)
    try:
        emit(
            {
                "key": core.key.hex(),
                "discoveryKey": core.discovery_key.hex(),
                "length": core.length,
                "byteLength": core.byte_length,
                "writable": core.writable,
            }
        )
    finally:
        await core.close()
    return 0


async def _cat(args: argparse.Namespace) -> int:
    if args.start < 0:
        raise CommandError("--start must be >= 0")
    core = await _open(args.storage)
    status = 0
    try:
        end = core.length if args.end is None else min(args.end, core.length)
        for seq in range(args.start, end):
            if not core.has(seq):
                warn(f"block {seq} is not stored locally")
                status = 1
                continue
            emit({"seq": seq, "data": block_text(core.read_block(seq))})
    finally:
        await core.close()
    return status


async def _serve(args: argparse.Namespace) -> int:
    from ..feeds import porcelain

    listen = args.listen or ("0.0.0.0:0" if args.discover else "127.0.0.1:0")
    host, port = parse_host_port(listen)
    core = await _open(args.storage, create=True)
    try:
        if args.append_stdin and not core.writable:
            raise CommandError("--append-stdin needs a writable feed")
        try:
            server = await porcelain.serve(core, host, port, live=args.live)
        except porcelain.ServeFailed as exc:
            raise CommandError(str(exc)) from None
        try:
            emit({"key": core.key.hex(), "discoveryKey": core.discovery_key.hex(), "port": server.port,
                  "length": core.length})
            async with contextlib.AsyncExitStack() as stack:
                if args.discover:
                    await stack.enter_async_context(lan_peers(core.discovery_key, args, announce_port=server.port))
                if args.append_stdin:
                    loop = asyncio.get_running_loop()
                    while line := await loop.run_in_executor(None, sys.stdin.buffer.readline):
                        await core.append(line.rstrip(b"\r\n"))
                        emit({"length": core.length, "byteLength": core.byte_length})
                await server.serve_forever()  # until interrupted
        finally:
            server.close()
    finally:
        await core.close()
    return 0


async def _fetch(args: argparse.Namespace) -> int:
    from ..feeds import porcelain

    key = parse_key(args.key, "KEY")
    if (args.connect is None) == (not args.discover):
        raise CommandError("give exactly one of --connect HOST:PORT and --discover")
    ranged = args.start is not None or args.end is not None
    start = args.start or 0
    if start < 0 or (args.end is not None and args.end < start):
        raise CommandError("need 0 <= --start <= --end")
    if args.timeout <= 0:
        raise CommandError("--timeout must be > 0")
    core = await _open(args.storage, create=True, key=key, sparse=ranged)
    if args.live:
        core.on("download", lambda seq, data: emit({"seq": seq, "data": block_text(data)}))
    end = args.end

    async def download_range() -> None:
        nonlocal end
        if end is None:  # up to the remote's length: learn it first
            await core.update(1)
            end = core.length
        await core.download(start, end)

    reporter = ProgressReporter()

    async def fetch_from(host: str, port: int) -> "porcelain.FetchResult":
        return await porcelain.fetch(core, host, port, live=args.live, timeout=args.timeout,
                                     progress=reporter, until=download_range if ranged else None)

    try:
        try:
            if args.discover:
                result = await _fetch_discovered(core.discovery_key, args, fetch_from)
            else:
                result = await fetch_from(*parse_host_port(args.connect))
        except porcelain.FetchError as exc:
            raise CommandError(str(exc)) from None
        finally:
            reporter.finish()
        if args.live:
            return 0
        if end is None:
            end = core.length
        digest = hashlib.sha256()
        for seq in range(start, end):
            if not core.has(seq):
                raise CommandError(f"block {seq} was not downloaded")
            digest.update(core.read_block(seq))
        emit({
            "length": core.length,
            "byteLength": core.byte_length,
            "sha256": digest.hexdigest(),
            "seconds": round(result.seconds, 3),
        })
        return 0
    finally:
        await core.close()


async def _fetch_discovered(discovery_key: bytes, args: argparse.Namespace,
                            fetch_from: Callable[[str, int], Awaitable["porcelain.FetchResult"]]) -> "porcelain.FetchResult":
    """Look ``discovery_key`` up on the LAN; fetch from the first peer found that accepts a connection."""
    from ..feeds import porcelain

    async with lan_peers(discovery_key, args) as found:
        while True:
            try:
                peer = await asyncio.wait_for(found.get(), args.timeout)
            except asyncio.TimeoutError:
                raise CommandError(f"no peer found on the LAN for discovery key {discovery_key.hex()} "
                                   f"within {args.timeout:g} s") from None
            try:
                return await fetch_from(peer.host, peer.port)
            except porcelain.ConnectFailed as exc:
                warn(str(exc))


def register(cli: "CommandLine") -> None:
    """Add the ``core`` group: ``init``, ``append``, ``info``, ``cat``, ``serve``, ``fetch``."""
    cli.group(("core",), "plain hypercores: create, append, read, serve and fetch over TCP")

    def init_args(p: argparse.ArgumentParser) -> None:
        add_storage_argument(p)
        p.add_argument("--key", help="public key (hex) of a feed to replicate instead of a new one")

    def append_args(p: argparse.ArgumentParser) -> None:
        add_storage_argument(p)
        p.add_argument("data", nargs="*", metavar="DATA", help="blocks (default: one per stdin line)")

    def cat_args(p: argparse.ArgumentParser) -> None:
        add_storage_argument(p)
        p.add_argument("--start", type=int, default=0, metavar="N")
        p.add_argument("--end", type=int, default=None, metavar="M", help="exclusive (default: length)")

    def serve_args(p: argparse.ArgumentParser) -> None:
        add_storage_argument(p, default="memory")
        p.add_argument("--listen", default=None, metavar="HOST:PORT",
                       help="default 127.0.0.1:0 (any port); 0.0.0.0:0 with --discover")
        add_discover_arguments(p)
        p.add_argument("--live", action="store_true", help="keep connections open and push new blocks")
        p.add_argument("--append-stdin", action="store_true", help="append each stdin line while serving")

    def fetch_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("key", metavar="KEY", help="public key of the feed (hex)")
        p.add_argument("--connect", metavar="HOST:PORT")
        add_discover_arguments(p)
        add_storage_argument(p, default="memory")
        p.add_argument("--live", action="store_true", help="stay connected and print new blocks")
        p.add_argument("--start", type=int, default=None, metavar="N", help="first block (sparse range fetch)")
        p.add_argument("--end", type=int, default=None, metavar="M", help="end of the range, exclusive")
        p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                       help="give up connecting, or waiting for data when not live, after this long (default 10)")

    cli.add(("core", "init"), _init, help="create (or open) a feed", arguments=init_args)
    cli.add(("core", "append"), _append, help="append blocks as one batch", arguments=append_args)
    cli.add(("core", "info"), _info, help="key, length and size of a feed", arguments=add_storage_argument)
    cli.add(("core", "cat"), _cat, help="print blocks as JSON lines", arguments=cat_args)
    cli.add(("core", "serve"), _serve, help="serve a feed over TCP", arguments=serve_args)
    cli.add(("core", "fetch"), _fetch, help="download a feed from a peer", arguments=fetch_args)
