"""``hyperparty db ...``: hyperdb 3 multi-writer key/value databases (JS hyperdb 3.5.0's blocks and wire).

Local (no network):

* ``db put --storage S KEY VALUE`` (a new db when ``S`` is empty) -> ``{"key", "seq", "feed"}``;
  ``db del --storage S KEY`` -> the same for the tombstone it writes.
* ``db get --storage S KEY`` -> one ``{"key", "value", "feed", "seq"}`` per value — several when writers
  put the key concurrently — or ``{"key", "value": null}``.
* ``db list --storage S [PREFIX]`` -> one ``{"key", "value", "feed", "seq"}`` per value, sorted by key.
* ``db authorize --storage S KEY`` -> ``{"authorized", "seq"}``: KEY's writer may now write.
* ``db info --storage S`` -> ``{"key", "discoveryKey", "localKey", "authorized", "writers"}``.

A value prints as ``"value"`` (text) when it is valid UTF-8, else as ``"valueHex"``; ``feed`` is the
writer's key (hex).

Over TCP:

* ``db serve --storage S [--listen HOST:PORT] [--live] [--authorize-remote]``: first line
  ``{"key", "discoveryKey", "localKey", "port"}``, then serves until interrupted.  With
  ``--authorize-remote`` the writer key a connecting peer sends as handshake user data (``db join`` does)
  is authorized, printing ``{"event": "authorized", "key"}``.
* ``db join KEY --connect HOST:PORT --storage S [--live] [--wait-authorized] [--put K=V]... [--timeout T]``:
  replicates the db, sending this storage's writer key as user data; prints ``{"key", "localKey"}`` first,
  ``{"event": "authorized"}`` once its writer is authorized, applies the ``--put``s after that (right away
  without ``--wait-authorized``), then ``{"event": "synced", "version"}`` once it holds everything the
  peer announced and the peer has fetched its puts.  It then ends, or with ``--live`` stays connected
  (printing ``synced`` again after every change) until interrupted or the peer goes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import time
from typing import TYPE_CHECKING, Any, AsyncIterator

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
    from ..feeds.hyperdb import HyperDB, Node
    from ..protocol.stream import ProtocolStream
    from .app import CommandLine

__all__ = ["register"]

POLL = 0.02


def _arg_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")  # argv bytes as given


async def _open(spec: str, *, key: bytes | None = None, existing: bool = False, timeout: float | None = None) -> "HyperDB":
    from ..feeds.hyperdb import HyperDB
    from ..storage import open_storage

    storage = open_storage(parse_storage(spec))
    if existing and not storage.sub("source").exists("key"):
        storage.close()
        raise CommandError(f"no hyperdb is stored in {spec}")
    db = HyperDB(storage, key, timeout=timeout)
    try:
        await db.ready()
    except BaseException:
        await db.close()
        storage.close()
        raise
    return db


async def _close(db: "HyperDB") -> None:
    await db.close()
    db._storage.close()


@contextlib.asynccontextmanager
async def _opened(spec: str, **options: Any) -> AsyncIterator["HyperDB"]:
    db = await _open(spec, **options)
    try:
        yield db
    finally:
        await _close(db)


def _node(n: "Node") -> dict[str, Any]:
    return {"key": n.key, **value_fields(n.value), "feed": (n.feed_key or b"").hex(), "seq": n.seq}


def _ref(n: "Node") -> dict[str, Any]:
    return {"key": n.key, "seq": n.seq, "feed": (n.feed_key or b"").hex()}


async def _put(args: argparse.Namespace) -> int:
    async with _opened(args.storage) as db:
        emit(_ref(await db.put(args.key, _arg_bytes(args.value))))
    return 0


async def _del(args: argparse.Namespace) -> int:
    async with _opened(args.storage, existing=True) as db:
        emit(_ref(await db.delete(args.key)))
    return 0


async def _get(args: argparse.Namespace) -> int:
    async with _opened(args.storage, existing=True, timeout=1.0) as db:
        nodes = await db.get(args.key, update=False)
        if not nodes:
            emit({"key": args.key, "value": None})
        for n in nodes:
            emit(_node(n))
    return 0


async def _list(args: argparse.Namespace) -> int:
    async with _opened(args.storage, existing=True, timeout=1.0) as db:
        for group in sorted(await db.list(args.prefix), key=lambda g: g[0].key):
            for n in group:
                emit(_node(n))
    return 0


async def _authorize(args: argparse.Namespace) -> int:
    key = parse_key(args.writer, "KEY")
    async with _opened(args.storage, existing=True) as db:
        node = await db.authorize(key)
        emit({"authorized": key.hex(), "seq": node.seq})
    return 0


async def _info(args: argparse.Namespace) -> int:
    async with _opened(args.storage, existing=True) as db:
        await db.heads(False)
        emit({
            "key": db.key.hex(),
            "discoveryKey": db.discovery_key.hex(),
            "localKey": db.local_key.hex(),
            "authorized": [k.hex() for k in db.authorized_keys()],
            "writers": [(w.key or b"").hex() for w in db.writers],
        })
    return 0


async def _serve(args: argparse.Namespace) -> int:
    from ..feeds import porcelain

    host, port = parse_host_port(args.listen)
    db = await _open(args.storage)
    tasks: set[asyncio.Future] = set()

    def on_connection(stream: "ProtocolStream") -> None:
        if not args.authorize_remote:
            return

        def on_handshake() -> None:
            key = db.remote_writer_key(stream)
            if key is None:
                return

            async def authorize() -> None:
                if not await db.authorized(key):
                    await db.authorize(key)
                    emit({"event": "authorized", "key": key.hex()})

            task = asyncio.ensure_future(authorize())
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        stream.on("handshake", on_handshake)

    try:
        try:
            server = await porcelain.serve(db, host, port, live=args.live, on_connection=on_connection)
        except porcelain.ServeFailed as exc:
            raise CommandError(str(exc)) from None
        try:
            emit({"key": db.key.hex(), "discoveryKey": db.discovery_key.hex(), "localKey": db.local_key.hex(),
                  "port": server.port})
            await server.serve_forever()
        finally:
            server.close()
    finally:
        for task in list(tasks):
            task.cancel()
        await _close(db)
    return 0


class _Uploads:
    """Which blocks of this peer's writer the remote has fetched in this session."""

    def __init__(self, db: "HyperDB") -> None:
        self.core = db.local
        self.sent: set[int] = set()
        self.core.on("upload", self._on_upload)

    def _on_upload(self, index: int, *_: Any) -> None:
        self.sent.add(index)

    def covers(self, start: int) -> bool:
        return all(i in self.sent for i in range(start, self.core.length))

    def close(self) -> None:
        self.core.off("upload", self._on_upload)


def _caught_up(db: "HyperDB") -> bool:
    """Every block every peer announced of every replicated writer is stored here."""
    return all(core.has(0, max(core.length, core.remote_length)) for core in db.cores())


async def _until(predicate: Any, deadline: float, what: str, connection: asyncio.Future) -> None:
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if connection.done():
            raise CommandError(f"the connection ended before {what}")
        if time.monotonic() > deadline:
            raise CommandError(f"timed out waiting for {what}")
        await asyncio.sleep(POLL)


async def _join(args: argparse.Namespace) -> int:
    from ..protocol.transport import connect_tcp, wait_closed

    key = parse_key(args.key, "KEY")
    host, port = parse_host_port(args.connect)
    if args.timeout <= 0:
        raise CommandError("--timeout must be > 0")
    puts = []
    for item in args.put:
        k, sep, v = item.partition("=")
        if not sep:
            raise CommandError(f"--put takes KEY=VALUE, not {item!r}")
        puts.append((k, _arg_bytes(v)))
    db = await _open(args.storage, key=key, timeout=args.timeout)
    uploads = _Uploads(db)
    stream = None
    try:
        if db.source.writable:
            raise CommandError(f"{args.storage} holds the db's source itself; join from another storage")
        emit({"key": db.key.hex(), "localKey": db.local_key.hex()})
        stream = db.replicate(live=True, user_data=db.local_key)
        try:
            connection = await asyncio.wait_for(connect_tcp(host, port, stream), args.timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            raise CommandError(f"cannot connect to {host}:{port}: {exc or 'no answer'}") from None
        deadline = time.monotonic() + args.timeout
        local_key = db.local_key
        said_authorized = False

        async def authorized() -> bool:
            return await db.authorized(local_key)

        if args.wait_authorized:
            await _until(authorized, deadline, "this writer to be authorized", connection)
        if await authorized():
            emit({"event": "authorized"})
            said_authorized = True
        first_put = db.local.length
        for k, v in puts:
            await db.put(k, v)

        def synced() -> bool:
            return _caught_up(db) and (not puts or db.local not in db.cores() or uploads.covers(first_put))

        await asyncio.sleep(POLL * 5)  # let the peer's first announcements arrive
        await _until(synced, deadline, "the replica to catch up", connection)
        emit({"event": "synced", "version": (await db.version()).hex()})
        if args.live:
            version = await db.version()
            while not connection.done():
                await asyncio.sleep(POLL * 5)
                if not said_authorized and await authorized():
                    emit({"event": "authorized"})
                    said_authorized = True
                if _caught_up(db) and (now := await db.version()) != version:
                    version = now
                    emit({"event": "synced", "version": version.hex()})
        else:
            stream.finalize()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wait_closed(stream), 5)
    finally:
        uploads.close()
        if stream is not None and not stream.destroyed:
            stream.destroy()
        await _close(db)
    return 0


def register(cli: "CommandLine") -> None:
    """Add the ``db`` group: put, get, del, list, authorize, info, serve, join."""
    cli.group(("db",), "hyperdb multi-writer databases: put, get, delete, list, authorize writers, serve, join")

    put_args = functools.partial(key_value_arguments, kind="put")
    key_args = functools.partial(key_value_arguments, kind="key")
    list_args = functools.partial(key_value_arguments, kind="list")

    def authorize_args(p: argparse.ArgumentParser) -> None:
        add_storage_argument(p)
        p.add_argument("writer", metavar="KEY", help="the writer's key (hex), e.g. another peer's localKey")

    def serve_args(p: argparse.ArgumentParser) -> None:
        add_storage_argument(p)
        p.add_argument("--listen", default="127.0.0.1:0", metavar="HOST:PORT", help="default 127.0.0.1:0 (any port)")
        p.add_argument("--live", action="store_true", help="keep connections open and push changes")
        p.add_argument("--authorize-remote", action="store_true",
                       help="authorize the writer key a connecting peer sends as handshake user data")

    def join_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("key", metavar="KEY", help="the db's key (hex)")
        p.add_argument("--connect", required=True, metavar="HOST:PORT")
        add_storage_argument(p)
        p.add_argument("--live", action="store_true", help="stay connected after the first sync")
        p.add_argument("--wait-authorized", action="store_true", help="apply the puts once authorized")
        p.add_argument("--put", action="append", default=[], metavar="KEY=VALUE", help="repeatable")
        p.add_argument("--timeout", type=float, default=20.0, metavar="SECONDS", help="default 20")

    cli.add(("db", "put"), _put, help="store VALUE under KEY", arguments=put_args)
    cli.add(("db", "get"), _get, help="the value(s) of KEY", arguments=key_args)
    cli.add(("db", "del"), _del, help="delete KEY", arguments=key_args)
    cli.add(("db", "list"), _list, help="every key under PREFIX", arguments=list_args)
    cli.add(("db", "authorize"), _authorize, help="let another writer write", arguments=authorize_args)
    cli.add(("db", "info"), _info, help="keys and writers", arguments=add_storage_argument)
    cli.add(("db", "serve"), _serve, help="serve the db over TCP", arguments=serve_args)
    cli.add(("db", "join"), _join, help="replicate a db from a peer and write to it", arguments=join_args)
