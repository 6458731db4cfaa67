"""``hyperparty chat``: the seed's "single party, multi-writer" example as a command.

``hyperparty chat --party KEY --storage STORAGE (--listen HOST:PORT | --connect HOST:PORT | --discover)
[--rules two-writers|multifeed|authorized]``

``--discover`` finds the other members on the LAN by the party's discovery key (no address needed): a
:class:`~hyperparty.discovery.Swarm` announces this peer, dials the ones it finds and keeps one connection
per peer; ``{"peer": DISCOVERY_KEY, "host", "port"}`` is printed for each peer found.

* stdin: each line is appended to this peer's own feed; ``/eph TEXT`` sends an ephemeral message to the
  connected peers; ``/auth KEY`` authorizes another writer (``authorized`` rules).
* Ending: Ctrl-C (SIGINT) or SIGTERM ends the chat at once, cleanly (exit 0); so does Ctrl-D on a
  terminal.  When stdin is not a terminal and ends: a listener (``--listen``, ``--discover``) keeps
  serving until interrupted; a ``--connect`` peer ends after a short grace period so its last lines
  replicate.
* stdout (JSON lines): ``{"local": KEY, "party": KEY}`` first (``"newParty": true`` when the key was just
  made); ``{"port"}`` once listening (with ``--discover`` too); ``{"connected": "HOST:PORT"}`` once
  connected; ``{"feed", "seq", "data"}`` for every block received from another feed, each feed's in seq
  order; ``{"ephemeral", "type", "from"}`` for every ephemeral message, whatever its type (the value as
  text, or ``hex:...``); ``{"authorized", "length"}`` after ``/auth``.

Without ``--party`` the two-writers rules make a new party key and print it (the other peers join with
``--party KEY``; ``hyperparty party new`` makes one too); the ``multifeed`` rules use multifeed's default
key, and with ``authorized`` this peer creates the party (its own feed's key becomes the party key).

Connections, refusals (feeds refused, ephemeral messages dropped) and drops are reported on stderr
(``hyperparty: ...``, at most 5 lines a second).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import sys
import threading
from typing import TYPE_CHECKING

from .common import (
    CommandError,
    add_storage_argument,
    block_text,
    emit,
    parse_host_port,
    parse_key,
    parse_storage,
    warn,
)
from .discovering import PeerPrinter, add_discover_arguments, naming

if TYPE_CHECKING:  # pragma: no cover
    from ..party.chat import ChatNode
    from .app import CommandLine

__all__ = ["register"]

EOF_GRACE = 1.0

IN_CHAT_HELP = """\
in the chat (type on stdin):
  TEXT          append TEXT to your feed (the other peers print it)
  /eph TEXT     send TEXT as an ephemeral message (type "chat") to the connected peers
  /auth KEY     authorize the writer KEY (authorized rules)

ending: Ctrl-C ends the chat at once, and so does Ctrl-D on a terminal.  When stdin is not a terminal and
ends, a listener (--listen, --discover) keeps serving until interrupted (Ctrl-C, SIGTERM); a --connect
peer ends after a short grace period so its last lines replicate.

without --party (two-writers rules) a new party key is made and printed: the other peers join with
--party KEY (`hyperparty party new` makes one too)."""


async def _chat(args: argparse.Namespace) -> int:
    from ..party.chat import ChatNode

    party_key = parse_key(args.party, "--party")
    storage = parse_storage(args.storage)
    if sum((args.listen is not None, args.connect is not None, bool(args.discover))) != 1:
        raise CommandError("give exactly one of --listen HOST:PORT, --connect HOST:PORT and --discover")
    new_party = party_key is None and args.rules == "two-writers"
    if new_party:
        party_key = secrets.token_bytes(32)

    def on_message(feed_key: bytes, seq: int, data: bytes) -> None:
        emit({"feed": feed_key.hex(), "seq": seq, "data": block_text(data)})

    def on_ephemeral(type: str | None, value: bytes, peer_id: bytes | None) -> None:
        emit({"ephemeral": block_text(value), "type": type, "from": peer_id.hex() if peer_id else None})

    node = ChatNode(storage, party_key=party_key, rules=args.rules, on_message=on_message,
                    on_any_ephemeral=on_ephemeral)
    stop = _stop_on_signals()
    await node.start()
    swarm = None
    try:
        assert node.local is not None and node.party is not None  # set by start()
        party = node.party
        emit({"local": node.local.key.hex(), "party": party.key.hex()} | ({"newParty": True} if new_party else {}))
        if new_party:
            warn(f"made a new party key; the other peers join with --party {party.key.hex()}")
        if args.discover:
            from ..discovery import Swarm

            swarm = Swarm(lambda info: party.replicate(live=node.live, id=info.id), naming=naming(args))
            swarm.on("peer", PeerPrinter())
            swarm.on("connection", lambda _stream, info: emit({"connected": f"{info.host}:{info.port}"}))
            await swarm.join(party.discovery_key)
            emit({"port": swarm.port})
        elif args.listen is not None:
            host, port = parse_host_port(args.listen)
            try:
                bound = await node.listen(host, port)
            except OSError as exc:
                raise CommandError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
            emit({"port": bound})
        else:
            host, port = parse_host_port(args.connect)
            try:
                await node.connect(host, port)
            except (OSError, asyncio.TimeoutError) as exc:
                raise CommandError(f"cannot connect to {host}:{port}: {exc}") from None
            emit({"connected": f"{host}:{port}"})
        await _read_input(node, stop, listening=args.connect is None)
    finally:
        if swarm is not None:
            await swarm.close()
        await node.close()
    return 0


def _stop_on_signals() -> asyncio.Event:
    """An event set by Ctrl-C (SIGINT) or SIGTERM: the chat then ends cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def _read_input(node: "ChatNode", stop: asyncio.Event, *, listening: bool) -> None:
    """Run the in-chat commands read from stdin until the chat should end (see the module docstring)."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[bytes | None] = asyncio.Queue()
    _start_stdin_reader(loop, lines)
    terminal = _stdin_is_terminal()
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while True:
            getting = asyncio.ensure_future(lines.get())
            await asyncio.wait({getting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                getting.cancel()
                return
            raw = getting.result()
            if raw is None:  # end of input
                if terminal:
                    return  # Ctrl-D
                if listening:
                    await stop.wait()  # a listener keeps serving until interrupted
                    return
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), EOF_GRACE)  # let the last lines replicate
                return
            await _command(node, raw.decode("utf-8", "replace").rstrip("\r\n"))
    finally:
        stopping.cancel()


async def _command(node: "ChatNode", line: str) -> None:
    """One line of input: a message, or ``/eph TEXT`` / ``/auth KEY``."""
    try:
        if line.startswith("/eph "):
            node.send_ephemeral(line[5:])
        elif line.startswith("/auth "):
            key = parse_key(line[6:].strip(), "/auth KEY")
            length = await node.authorize(key)
            emit({"authorized": key.hex(), "length": length})
        elif line:
            await node.say(line)
    except (ValueError, CommandError) as exc:
        warn(str(exc))


def _stdin_is_terminal() -> bool:
    with contextlib.suppress(OSError, ValueError):
        return os.isatty(0)
    return False


def _start_stdin_reader(loop: asyncio.AbstractEventLoop, lines: "asyncio.Queue[bytes | None]") -> None:
    """Read stdin lines in a daemon thread (never joined, so Ctrl-C does not wait for a line) with plain
    ``os.read`` (no buffered-reader lock for the interpreter to trip over at exit); None marks the end."""

    def put(item: bytes | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the chat has ended
            loop.call_soon_threadsafe(lines.put_nowait, item)

    def run() -> None:
        pending = b""
        try:
            while True:
                chunk = os.read(0, 65536)
                if not chunk:
                    break
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    put(line + b"\n")
        except OSError:
            pass
        if pending:
            put(pending)
        put(None)

    threading.Thread(target=run, name="hyperparty-chat-stdin", daemon=True).start()


async def _chat_logging_connections(args: argparse.Namespace) -> int:
    """``chat`` with connections, refusals and drops on stderr (one line each, rate-limited)."""
    from .netlog import connection_log

    with connection_log():
        return await _chat(args)


def register(cli: "CommandLine") -> None:
    """Add ``chat``."""

    def chat_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--party", metavar="KEY", help="party key (hex); without it a new one is made and printed")
        add_storage_argument(p)
        p.add_argument("--listen", metavar="HOST:PORT", help="accept peers here; serves until interrupted, "
                       "also after stdin ends")
        p.add_argument("--connect", metavar="HOST:PORT")
        p.add_argument("--rules", choices=("two-writers", "multifeed", "authorized"), default="two-writers")
        add_discover_arguments(p, "party")

    parser = cli.add(("chat",), _chat_logging_connections,
                     help="chat in a party: stdin lines are appended, received blocks printed", arguments=chat_args)
    parser.epilog = IN_CHAT_HELP
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
