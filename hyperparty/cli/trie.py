"""``hyperparty trie ...``: hypertrie 3 key/value stores (one hypercore each, JS hypertrie 3.8.0's blocks).

Local (no network):

* ``trie put --storage S KEY VALUE``: store VALUE (UTF-8) under KEY (a new trie when ``S`` is empty)
  -> ``{"key", "seq"}``.
* ``trie get --storage S KEY`` -> ``{"key", "value", "seq"}``, or ``{"key", "value": null}`` when absent.
* ``trie del --storage S KEY`` -> ``{"key", "deleted", "seq"}``: ``deleted`` false (and ``seq`` null) when the
  key was not there; else ``seq`` is the block the delete appended (hypertrie deletes re-put a neighbour).
* ``trie list --storage S [PREFIX]`` -> one ``{"key", "value", "seq"}`` per key under PREFIX, sorted by key.
* ``trie info --storage S`` -> ``{"key", "discoveryKey", "length", "version"}``.

A value prints as ``"value"`` (text) when it is valid UTF-8, else as ``"valueHex"``.

Over TCP (thin wrappers of :mod:`hyperparty.feeds.porcelain`):

* ``trie serve --storage S [--listen HOST:PORT] [--live]``: serve the trie in ``S`` (a new one when empty);
  first line ``{"key", "discoveryKey", "port", "length", "version"}``, then serves until interrupted.
* ``trie fetch KEY --connect HOST:PORT [--storage S] [--sparse] [--get K]... [--list PREFIX]... [--timeout T]``:
  one line per ``--get`` (as ``trie get``) and per listed key (as ``trie list``), then
  ``{"length", "version", "downloadedBlocks", "seconds"}``.  Without ``--get``/``--list`` it clones the
  whole trie (non-live).  With ``--sparse`` only the blocks the lookups walk through are downloaded.

Keys of feeds are lowercase hex.  ``STORAGE`` is ``memory``, ``file:DIR`` or ``lmdb:DIR``.
"""

from __future__ import annotations

import argparse
import functools
from typing import TYPE_CHECKING, Any

from .common import (
    CommandError,
    add_storage_argument,
    emit,
    key_value_arguments,
    parse_host_port,
    parse_key,
    parse_storage,
    value_fields,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..feeds.hypertrie import Entry, Hypertrie
    from .app import CommandLine

__all__ = ["register"]


async def _open(spec: str, *, create: bool = False, key: bytes | None = None, sparse: bool = False) -> "Hypertrie":
    from ..feeds.hypercore import NoHypercoreError
    from ..feeds.hypertrie import Hypertrie

    trie = Hypertrie(parse_storage(spec), key=key, sparse=sparse, create_if_missing=create)
    try:
        await trie.ready()
    except NoHypercoreError:
        await trie.close()
        raise CommandError(f"no hypertrie is stored in {spec}") from None
    except BaseException:
        await trie.close()
        raise
    return trie


def _entry(key: str, entry: "Entry | None") -> dict[str, Any]:
    if entry is None:
        return {"key": key, "value": None}
    return {"key": entry.key, **value_fields(entry.value), "seq": entry.seq}


def _writable(trie: "Hypertrie") -> None:
    if not trie.writable:
        raise CommandError("This trie is not writable (a replica of someone else's key)")


async def _put(args: argparse.Namespace) -> int:
    trie = await _open(args.storage, create=True)
    try:
        _writable(trie)
        entry = await trie.put(args.key, args.value.encode("utf-8", "surrogateescape"))  # argv bytes as given
        assert entry is not None  # no condition given
        emit({"key": entry.key, "seq": entry.seq})
    finally:
        await trie.close()
    return 0


async def _get(args: argparse.Namespace) -> int:
    trie = await _open(args.storage)
    try:
        emit(_entry(args.key, await trie.get(args.key, wait=False)))
    finally:
        await trie.close()
    return 0


async def _del(args: argparse.Namespace) -> int:
    trie = await _open(args.storage)
    try:
        _writable(trie)
        written = await trie.delete(args.key)
        emit({"key": args.key, "deleted": written is not None, "seq": written.seq if written else None})
    finally:
        await trie.close()
    return 0


async def _sorted_entries(trie: "Hypertrie", prefix: str, *, wait: bool) -> list[dict[str, Any]]:
    entries = await trie.list(prefix, wait=wait)
    return [_entry(e.key, e) for e in sorted(entries, key=lambda e: e.key)]


async def _list(args: argparse.Namespace) -> int:
    trie = await _open(args.storage)
    try:
        for line in await _sorted_entries(trie, args.prefix, wait=False):
            emit(line)
    finally:
        await trie.close()
    return 0


async def _info(args: argparse.Namespace) -> int:
    trie = await _open(args.storage)
    try:
        emit({"key": trie.key.hex(), "discoveryKey": trie.discovery_key.hex(), "length": trie.length,
              "version": trie.version})
    finally:
        await trie.close()
    return 0


async def _serve(args: argparse.Namespace) -> int:
    from ..feeds import porcelain

    host, port = parse_host_port(args.listen)
    trie = await _open(args.storage, create=True)
    try:
        try:
            server = await porcelain.serve(trie, host, port, live=args.live)
        except porcelain.ServeFailed as exc:
            raise CommandError(str(exc)) from None
        try:
            emit({"key": trie.key.hex(), "discoveryKey": trie.discovery_key.hex(), "port": server.port,
                  "length": trie.length, "version": trie.version})
            await server.serve_forever()  # until interrupted
        finally:
            server.close()
    finally:
        await trie.close()
    return 0


async def _fetch(args: argparse.Namespace) -> int:
    from ..feeds import porcelain

    key = parse_key(args.key, "KEY")
    host, port = parse_host_port(args.connect)
    if args.timeout <= 0:
        raise CommandError("--timeout must be > 0")
    lookups = bool(args.get or args.list)
    if args.sparse and not lookups:
        raise CommandError("--sparse needs --get or --list (without them the whole trie is cloned)")
    trie = await _open(args.storage, create=True, key=key, sparse=args.sparse)
    lines: list[dict[str, Any]] = []

    async def look_up(wait: bool) -> None:
        for k in args.get:
            lines.append(_entry(k, await trie.get(k, wait=wait)))
        for prefix in args.list:
            lines.extend(await _sorted_entries(trie, prefix, wait=wait))

    async def sparse_lookups() -> None:
        await trie.update(1, timeout=args.timeout)  # learn the remote's length first
        await look_up(wait=True)

    try:
        try:
            result = await porcelain.fetch(trie, host, port, timeout=args.timeout,
                                           until=sparse_lookups if args.sparse else None)
        except porcelain.FetchError as exc:
            raise CommandError(str(exc)) from None
        if not args.sparse:
            await look_up(wait=False)
        for line in lines:
            emit(line)
        emit({"length": trie.length, "version": trie.version, "downloadedBlocks": result.blocks,
              "seconds": round(result.seconds, 3)})
    finally:
        await trie.close()
    return 0


def register(cli: "CommandLine") -> None:
    """Add the ``trie`` group: ``put``, ``get``, ``del``, ``list``, ``info``, ``serve``, ``fetch``."""
    cli.group(("trie",), "hypertrie key/value stores: put, get, delete, list, serve and fetch over TCP")

    put_args = functools.partial(key_value_arguments, kind="put")
    key_args = functools.partial(key_value_arguments, kind="key")
    list_args = functools.partial(key_value_arguments, kind="list")

    def serve_args(p: argparse.ArgumentParser) -> None:
        add_storage_argument(p, default="memory")
        p.add_argument("--listen", default="127.0.0.1:0", metavar="HOST:PORT", help="default 127.0.0.1:0 (any port)")
        p.add_argument("--live", action="store_true", help="keep connections open and push new entries")

    def fetch_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("key", metavar="KEY", help="public key of the trie (hex)")
        p.add_argument("--connect", required=True, metavar="HOST:PORT")
        add_storage_argument(p, default="memory")
        p.add_argument("--sparse", action="store_true", help="download only what the lookups walk through")
        p.add_argument("--get", action="append", default=[], metavar="KEY", help="look a key up (repeatable)")
        p.add_argument("--list", action="append", default=[], metavar="PREFIX", help="list a prefix (repeatable)")
        p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                       help="give up connecting, or waiting for data, after this long (default 10)")

    cli.add(("trie", "put"), _put, help="store a value under a key", arguments=put_args)
    cli.add(("trie", "get"), _get, help="the value of a key", arguments=key_args)
    cli.add(("trie", "del"), _del, help="delete a key", arguments=key_args)
    cli.add(("trie", "list"), _list, help="the keys under a prefix, sorted", arguments=list_args)
    cli.add(("trie", "info"), _info, help="key, length and version of a trie", arguments=add_storage_argument)
    cli.add(("trie", "serve"), _serve, help="serve a trie over TCP", arguments=serve_args)
    cli.add(("trie", "fetch"), _fetch, help="clone a trie, or look keys up sparsely, from a peer",
            arguments=fetch_args)
