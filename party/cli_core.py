"""``hyperparty core ...``: local hypercore commands (no network).

* ``core init --storage S [--key HEX]``: create a feed (new key pair; with ``--key``, an empty read-only
  replica of that key), or open the existing one -> ``{"key", "discoveryKey"}``.
* ``core append --storage S [DATA ...]``: append the arguments as one batch (no arguments: one block per
  line of stdin, without its line ending) -> ``{"length", "byteLength"}``.
* ``core info --storage S`` -> ``{"key", "discoveryKey", "length", "byteLength", "writable"}``.
* ``core cat --storage S [--start N] [--end M]`` -> one ``{"seq", "data"}`` per stored block; ``data`` is
  the block as text when it is valid UTF-8, else ``"hex:<hex>"``.  Blocks that are not stored locally are
  reported on stderr and make the exit status 1.

Keys are lowercase hex.  ``STORAGE`` is ``memory``, ``file:DIR`` or ``lmdb:DIR``.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from .cli import CommandError, emit

if TYPE_CHECKING:  # pragma: no cover
    from ..feeds.hypercore import Hypercore
    from .cli import CommandLine

__all__ = ["register", "block_text"]


def block_text(data: bytes) -> str:
    """A block as JSON-friendly text: itself when valid UTF-8, else ``hex:<hex>``."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "hex:" + data.hex()


def _storage_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", required=True, metavar="STORAGE", help="memory | file:DIR | lmdb:DIR")


async def _open(spec: str, *, create: bool, key: str | None = None) -> "Hypercore":
    from ..feeds.hypercore import Hypercore

    if key is not None:
        try:
            raw = bytes.fromhex(key)
        except ValueError:
            raise CommandError(f"--key is not hex: {key!r}") from None
        if len(raw) != 32:
            raise CommandError("--key must be 32 bytes (64 hex characters)")
    core = Hypercore(spec, key=key, create_if_missing=create)
    try:
        await core.ready()
    except BaseException:
        await core.close()
        raise
    return core


async def _init(args: argparse.Namespace) -> int:
    core = await _open(args.storage, create=True, key=args.key)
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
    core = await _open(args.storage, create=False)
    try:
        if not core.writable:
            raise CommandError("This feed is not writable. Did you create it?")
        await core.append(blocks)
        emit({"length": core.length, "byteLength": core.byte_length})
    finally:
        await core.close()
    return 0


async def _info(args: argparse.Namespace) -> int:
    core = await _open(args.storage, create=False)
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
    core = await _open(args.storage, create=False)
    status = 0
    try:
        end = core.length if args.end is None else min(args.end, core.length)
        for seq in range(args.start, end):
            if not core.has(seq):
                print(f"hyperparty: block {seq} is not stored locally", file=sys.stderr)
                status = 1
                continue
            emit({"seq": seq, "data": block_text(core.read_block(seq))})
    finally:
        await core.close()
    return status


def register(cli: "CommandLine") -> None:
    """Add the ``core init|append|info|cat`` commands."""

    def init_args(p: argparse.ArgumentParser) -> None:
        _storage_argument(p)
        p.add_argument("--key", help="public key (hex) of a feed to replicate instead of a new one")

    def append_args(p: argparse.ArgumentParser) -> None:
        _storage_argument(p)
        p.add_argument("data", nargs="*", metavar="DATA", help="blocks (default: one per stdin line)")

    def cat_args(p: argparse.ArgumentParser) -> None:
        _storage_argument(p)
        p.add_argument("--start", type=int, default=0, metavar="N")
        p.add_argument("--end", type=int, default=None, metavar="M", help="exclusive (default: length)")

    cli.add(("core", "init"), _init, help="create (or open) a feed", arguments=init_args)
    cli.add(("core", "append"), _append, help="append blocks as one batch", arguments=append_args)
    cli.add(("core", "info"), _info, help="key, length and size of a feed", arguments=_storage_argument)
    cli.add(("core", "cat"), _cat, help="print blocks as JSON lines", arguments=cat_args)
