"""``hyperparty core ...``: plain hypercores.

Local (no network):

* ``core init --storage S [--key HEX]``: create a feed (new key pair; with ``--key``, an empty read-only
  replica of that key), or open the existing one -> ``{"key", "discoveryKey"}``.
* ``core append --storage S [DATA ...]``: append the arguments as one batch (no arguments: one block per
  line of stdin, without its line ending) -> ``{"length", "byteLength"}``.
* ``core info --storage S`` -> ``{"key", "discoveryKey", "length", "byteLength", "writable"}``.
* ``core cat --storage S [--start N] [--end M]`` -> one ``{"seq", "data"}`` per stored block; ``data`` is
  the block as text when it is valid UTF-8, else ``"hex:<hex>"``.  Blocks that are not stored locally or
  are damaged are reported on stderr (the others are printed) and make the exit status 1; a range outside
  ``0 <= N <= M <= length`` is an error that says the valid range.
* ``core audit --storage S`` -> one ``{"file", "problem", ...}`` per thing that is bad (``"block"`` or
  ``"node"`` when it is one), then ``{"length", "valid", "invalid", "ok"}``; exit 1 when anything is bad.
* ``core repair --storage S [--key KEY] [--connect HOST:PORT]`` -> ``{"action"}`` per change, then
  ``{"length", "byteLength", "missing"}``: keeps what verifies, drops what cannot be verified back to the
  longest signed length that verifies (a writer whose blocks all verify signs its length again), restores
  a lost ``key`` file; ``--connect`` fetches the blocks that are missing from a peer.

``info``, ``cat`` and ``audit`` only read: they open the storage read-only (read-only mounts work, and
nothing is created or written) and show a damaged feed up to the length that verifies, with the damage on
stderr.  Every command that writes refuses a damaged feed, saying what is wrong (nothing is written).

Over TCP (thin wrappers of :mod:`hyperparty.feeds.porcelain`):

* ``core serve --storage S [--listen HOST:PORT] [--discover] [--live] [--append-stdin]``: serve the feed in ``S`` (a
  new one is created when ``S`` is empty); prints ``{"key", "discoveryKey", "port", "length"}`` once
  listening and serves until interrupted.  ``--append-stdin`` appends each stdin line as a block (live
  peers receive them as they are written) and prints ``{"length", "byteLength"}`` after each.
  ``--discover`` also announces the feed's discovery key on the LAN (listening on 0.0.0.0 unless
  ``--listen`` says otherwise) and prints ``{"peer", "host", "port"}`` for other peers of the key.
  Connections, refusals and drops are reported on stderr (``hyperparty: ...``, at most 5 lines a second).
* ``core fetch KEY (--connect HOST:PORT | --discover) [--storage S] [--live] [--start N] [--end M] [--timeout T]``:
  replicate and verify; non-live prints ``{"length", "byteLength", "sha256", "seconds"}`` (sha256 of the
  blocks fetched, concatenated: ``[start, end)`` or the whole feed); ``--live`` prints ``{"seq", "data"}``
  for every block as it arrives, until the connection ends.  Progress goes to stderr (a bar on a
  terminal, else a line a second) on long downloads.  ``--discover`` looks the key up on the LAN instead of
  connecting to an address: each peer found is printed (``{"peer", "host", "port"}``) and tried in turn
  until one connects (``--timeout`` also bounds the wait for the first peer).  A fetch never waits
  without a word: a peer that has only part of the feed (or of ``--start``/``--end``) ends it with the
  missing blocks named (what it had is stored), ``--end`` past the peer's length says the valid range,
  a storage holding the writable feed itself is refused, a silent peer ends it after ``--timeout``
  seconds; Ctrl-C or SIGTERM say how much is stored.  Every early stop exits non-zero, and running the
  same command again resumes from what was stored.

Keys are lowercase hex.  ``STORAGE`` is ``memory``, ``file:DIR`` or ``lmdb:DIR``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import signal
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


async def _open(spec: str, *, create: bool = False, key: bytes | None = None, sparse: bool = False,
                read_only: bool = False, allow_damaged: bool = False) -> "Hypercore":
    """Open the feed in ``spec``.  ``read_only``: create and write nothing (commands that only read);
    ``allow_damaged``: open a damaged feed too (``core.damage`` says what is wrong)."""
    from ..feeds.hypercore import Hypercore

    core = Hypercore(parse_storage(spec), key=key, create_if_missing=create, sparse=sparse, read_only=read_only,
                     allow_damaged=allow_damaged)
    try:
        await core.ready()
    except BaseException:
        await core.close()
        raise
    return core


def _warn_damage(core: "Hypercore", storage: str) -> None:
    """Say on stderr what is wrong with a damaged feed, and the way out."""
    from ..feeds.hypercore.integrity import storage_damage

    for problem in core.damage:
        warn(f"damaged feed: {problem}")
    if storage_damage(core.damage):
        warn(f"only the first {core.length} blocks verify; see `hyperparty core audit --storage {storage}`, "
             f"and `hyperparty core repair --storage {storage}` to keep what verifies")
    if core.recovered is not None:
        old, new = core.recovered
        warn(f"the feed's last write was interrupted: it reads as {new} blocks (the tree bits say {old})")


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
    core = await _open(args.storage, read_only=True, allow_damaged=True)
    try:
        info = {
            "key": core.key.hex(),
            "discoveryKey": core.discovery_key.hex(),
            "length": core.length,
            "byteLength": core.byte_length,
            "writable": core.writable,
        }
        if core.damage:
            info["damaged"] = [str(p) for p in core.damage]
        emit(info)
        _warn_damage(core, args.storage)
    finally:
        await core.close()
    return 0


def _cat_range(start: int, end: int | None, length: int) -> int:
    """The end of ``[start, end)`` (``end`` None: the length); a clear error for a range outside the feed."""
    stop = length if end is None else end
    if start < 0 or stop < 0 or start > stop or stop > length:
        given = f"--start {start}" + (f" --end {end}" if end is not None else "")
        raise CommandError(f"invalid range ({given}): the feed has {length} blocks, so the valid range is "
                           f"0 <= --start <= --end <= {length}")
    return stop


async def _cat(args: argparse.Namespace) -> int:
    from ..feeds.hypercore import BlockChecksumError

    core = await _open(args.storage, read_only=True, allow_damaged=True)
    status = 0
    bad: list[int] = []
    try:
        _warn_damage(core, args.storage)
        end = _cat_range(args.start, args.end, core.length)
        for seq in range(args.start, end):
            if not core.has(seq):
                warn(f"block {seq} is not stored locally")
                status = 1
                continue
            try:
                data = core.read_block(seq)
            except BlockChecksumError as exc:
                warn(f"block {seq} is damaged: {exc}; skipped")
                bad.append(seq)
                continue
            emit({"seq": seq, "data": block_text(data)})
        if bad:
            shown = ", ".join(map(str, bad[:20])) + (" ..." if len(bad) > 20 else "")
            warn(f"{len(bad)} damaged blocks could not be printed ({shown}); the others were printed. "
                 f"`hyperparty core audit --storage {args.storage}` checks the whole feed")
            status = 1
    finally:
        await core.close()
    return status


async def _audit(args: argparse.Namespace) -> int:
    core = await _open(args.storage, read_only=True, allow_damaged=True)
    try:
        report = await core.audit()
        for problem in report["problems"]:
            emit(problem.as_dict())
        for seq in report["invalid_blocks"]:
            emit({"file": "data", "block": seq, "problem": "the stored block does not match its tree node"})
        for node in report["bad_nodes"]:
            emit({"file": "tree", "node": node, "problem": "the node is not the hash of its two children"})
        for seq in report["cleared_bits"]:
            emit({"file": "bitfield", "block": seq, "problem": "the block is stored and verifies, but its bit "
                  "in the bitfield is cleared"})
        if not report["signature_ok"]:
            emit({"file": "signatures", "problem": f"the signature of length {core.length} does not verify"})
        ok = not (report["problems"] or report["invalid_blocks"] or report["bad_nodes"] or report["cleared_bits"]
                  or not report["signature_ok"])
        emit({"length": core.length, "valid": report["valid"], "invalid": report["invalid"], "ok": ok})
        if not ok:
            warn(f"the feed has damage; `hyperparty core repair --storage {args.storage}` keeps what verifies")
    finally:
        await core.close()
    return 0 if ok else 1


async def _repair(args: argparse.Namespace) -> int:
    from ..feeds import porcelain

    key = parse_key(args.key, "--key")
    core = await _open(args.storage, key=key, allow_damaged=True)
    try:
        report = await core.repair()
        for action in report["actions"]:
            emit({"action": action})
        missing = report["missing"]
        if missing and args.connect:
            reporter = ProgressReporter()
            try:
                result = await porcelain.fetch(core, *parse_host_port(args.connect), timeout=args.timeout,
                                               progress=reporter, download=True,
                                               until=lambda: core.download(0, core.length))
            except porcelain.FetchError as exc:
                raise CommandError(f"{exc}; what arrived is kept: run the repair again to resume") from None
            finally:
                reporter.finish()
            emit({"action": f"fetched {result.blocks} missing blocks from {args.connect}"})
            missing = [i for i in missing if not core.has(i)]
        emit({"length": core.length, "byteLength": core.byte_length, "missing": len(missing)})
        for problem in core.damage:
            warn(f"cannot be repaired: {problem}")
        if missing:
            shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
            warn(f"{len(missing)} blocks below the length are not stored ({shown})"
                 + ("" if args.connect else "; fetch them from a peer with --connect HOST:PORT"))
    finally:
        await core.close()
    return 0


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


async def _serve_logging_connections(args: argparse.Namespace) -> int:
    """``core serve`` with connections, refusals and drops on stderr (one line each, rate-limited)."""
    from .netlog import connection_log

    with connection_log():
        return await _serve(args)


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
    with contextlib.suppress(NotImplementedError, RuntimeError):  # SIGTERM: stop like Ctrl-C, saying so
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, signal.raise_signal, signal.SIGINT)
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
        except porcelain.PeerIncomplete as exc:
            raise CommandError(_incomplete(exc, core, start, args.end)) from None
        except porcelain.FetchError as exc:
            raise CommandError(str(exc)) from None
        except asyncio.CancelledError:  # Ctrl-C (asyncio.run cancels us) or SIGTERM
            reporter.finish()
            warn(f"fetch interrupted: {_stored(core, start, end)}; run the same command again to resume")
            raise
        finally:
            reporter.finish()
        if args.live:
            return 0
        if end is None:
            end = core.length
        digest = hashlib.sha256()
        for seq in range(start, end):
            if not core.has(seq):
                raise CommandError(f"block {seq} was not downloaded ({_stored(core, start, end)}; run again to "
                                   "resume)")
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


def _stored(core: "Hypercore", start: int, end: int | None) -> str:
    """How much of ``[start, end)`` (end None: the feed) is stored, for a user."""
    stop = core.length if end is None else min(end, max(core.length, start))
    have = core.downloaded(start, stop) if stop > start else 0
    return f"{have} of {max(stop - start, 0)} blocks are stored"


def _incomplete(exc: "porcelain.PeerIncomplete", core: "Hypercore", start: int, end: int | None) -> str:
    """The message for a peer that had only part of what was asked."""
    remote = max(exc.remote_length, core.length)  # the signed length a proof told, or what the peer announced
    if end is not None and end > remote and core.downloaded(start, min(end, remote)) >= max(0, min(end, remote) - start):
        return (f"--end {end} is past the end of the feed: the peer has {remote} blocks, so the valid range is "
                f"0 <= --start <= --end <= {remote} (blocks {start}-{remote - 1} are stored)" if remote > start else
                f"--end {end} is past the end of the feed: the peer has {remote} blocks")
    if remote == 0 and core.length == 0:
        return f"{exc}: the peer's copy of the feed is empty"
    return f"{exc}; what it had is stored ({_stored(core, start, end)}): fetch the rest from another peer"


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
    """Add the ``core`` group: ``init``, ``append``, ``info``, ``cat``, ``serve``, ``fetch``, ``audit``,
    ``repair``."""
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
    cli.add(("core", "serve"), _serve_logging_connections, help="serve a feed over TCP", arguments=serve_args)
    cli.add(("core", "fetch"), _fetch, help="download a feed from a peer", arguments=fetch_args)

    def repair_args(p: argparse.ArgumentParser) -> None:
        add_storage_argument(p)
        p.add_argument("--key", help="public key (hex) of the feed, when its key file is lost and there is no "
                       "secret_key to take it from")
        p.add_argument("--connect", metavar="HOST:PORT", help="fetch the blocks that are lost from this peer")
        p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                       help="with --connect: give up when nothing arrives for this long (default 10)")

    cli.add(("core", "audit"), _audit, help="verify every stored block and node; print what is bad (read-only)",
            arguments=add_storage_argument)
    cli.add(("core", "repair"), _repair, help="keep what verifies, drop the rest back to the longest signed length "
            "that verifies (--connect: fetch lost blocks from a peer)", arguments=repair_args)
