"""``hyperparty chat``: the seed's "single party, multi-writer" example as a command.

``hyperparty chat --party KEY --storage STORAGE (--listen HOST:PORT | --connect HOST:PORT | --discover)
[--rules two-writers|multifeed|authorized]``

``--discover`` finds the other members on the LAN by the party's discovery key (no address needed): a
:class:`~hyperparty.discovery.Swarm` announces this peer, dials the ones it finds and keeps one connection
per peer; ``{"peer": DISCOVERY_KEY, "host", "port"}`` is printed for each peer found.

* stdin: each line is appended to this peer's own feed; ``/eph TEXT`` sends an ephemeral message to the
  connected peers; ``/auth KEY`` authorizes another writer (``authorized`` rules).  End of input ends the
  chat (after a short grace period so the last lines replicate).
* stdout (JSON lines): ``{"local": KEY, "party": KEY}`` first; ``{"port"}`` once listening (with
  ``--discover`` too);
  ``{"connected": "HOST:PORT"}`` once connected; ``{"feed", "seq", "data"}`` for every block received from
  another feed; ``{"ephemeral", "from"}`` for every ephemeral message; ``{"authorized", "length"}`` after
  ``/auth``.

``--party`` may be left out with the ``multifeed`` rules (multifeed's default key) and with ``authorized``
when this peer creates the party (its own feed's key becomes the party key).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
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
    from .app import CommandLine

__all__ = ["register"]

EOF_GRACE = 1.0


async def _chat(args: argparse.Namespace) -> int:
    from ..party.chat import ChatNode

    party_key = parse_key(args.party, "--party")
    storage = parse_storage(args.storage)
    if party_key is None and args.rules == "two-writers":
        raise CommandError("--party KEY is required with the two-writers rules")
    if sum((args.listen is not None, args.connect is not None, bool(args.discover))) != 1:
        raise CommandError("give exactly one of --listen HOST:PORT, --connect HOST:PORT and --discover")

    def on_message(feed_key: bytes, seq: int, data: bytes) -> None:
        emit({"feed": feed_key.hex(), "seq": seq, "data": block_text(data)})

    def on_ephemeral(text: str, peer_id: bytes | None) -> None:
        emit({"ephemeral": text, "from": peer_id.hex() if peer_id else None})

    node = ChatNode(storage, party_key=party_key, rules=args.rules, on_message=on_message, on_ephemeral=on_ephemeral)
    await node.start()
    swarm = None
    try:
        assert node.local is not None and node.party is not None  # set by start()
        party = node.party
        emit({"local": node.local.key.hex(), "party": party.key.hex()})
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
        loop = asyncio.get_running_loop()
        while True:
            raw = await loop.run_in_executor(None, sys.stdin.buffer.readline)
            if not raw:
                break
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
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
        await asyncio.sleep(EOF_GRACE)
    finally:
        if swarm is not None:
            await swarm.close()
        await node.close()
    return 0


def register(cli: "CommandLine") -> None:
    """Add ``chat``."""

    def chat_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--party", metavar="KEY", help="party key (hex)")
        add_storage_argument(p)
        p.add_argument("--listen", metavar="HOST:PORT")
        p.add_argument("--connect", metavar="HOST:PORT")
        p.add_argument("--rules", choices=("two-writers", "multifeed", "authorized"), default="two-writers")
        add_discover_arguments(p, "party")

    cli.add(("chat",), _chat, help="chat in a party: stdin lines are appended, received blocks printed",
            arguments=chat_args)
