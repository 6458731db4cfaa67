"""``--discover``: find peers on the LAN by discovery key (2019 Dat's multicast DNS) instead of an address.

Shared by the commands that take ``--listen``/``--connect`` (``chat``, ``core serve``, ``core fetch``):

* :func:`add_discover_arguments`: ``--discover`` and ``--discovery-naming dat|plain`` (Dat's
  ``<dk[0:20] hex>.dat.local``, or plain discovery-swarm's ``sha1(dk).hex()`` in ``dns-discovery.local``).
* :class:`PeerPrinter`: prints ``{"peer": <discovery key hex>, "host", "port"}`` once per peer found.
* :func:`lan_peers`: announce and/or look up one key; found peers arrive on a queue (each once).
"""

from __future__ import annotations

import argparse
import asyncio
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, AsyncIterator

from .common import emit

if TYPE_CHECKING:  # pragma: no cover
    from ..discovery import Naming, PeerFound

__all__ = ["add_discover_arguments", "naming", "PeerPrinter", "lan_peers"]


def add_discover_arguments(parser: argparse.ArgumentParser, what: str = "feed") -> None:
    parser.add_argument("--discover", action="store_true",
                        help=f"find peers on the LAN by the {what}'s discovery key (multicast DNS, as 2019 Dat)")
    parser.add_argument("--discovery-naming", choices=("dat", "plain"), default="dat",
                        help="dat: <dk[0:20] hex>.dat.local (Dat, default); plain: sha1, dns-discovery.local "
                             "(discovery-swarm without dat-swarm-defaults)")


def naming(args: argparse.Namespace) -> "Naming":
    from ..discovery import DAT, PLAIN

    return PLAIN if args.discovery_naming == "plain" else DAT


class PeerPrinter:
    """Call it with anything that has ``discovery_key``, ``host``, ``port``: prints each peer once."""

    def __init__(self) -> None:
        self.seen: set[tuple[bytes, str, int]] = set()

    def __call__(self, peer: Any) -> bool:
        key = (bytes(peer.discovery_key), peer.host, peer.port)
        if key in self.seen:
            return False
        self.seen.add(key)
        emit({"peer": key[0].hex(), "host": peer.host, "port": peer.port})
        return True


@asynccontextmanager
async def lan_peers(discovery_key: bytes, args: argparse.Namespace, *,
                    announce_port: int | None = None) -> AsyncIterator["asyncio.Queue[PeerFound]"]:
    """Join ``discovery_key`` on the LAN (announcing ``announce_port`` when given); yields a queue of the
    peers found, each printed and queued once."""
    from ..discovery import MdnsDiscovery

    queue: asyncio.Queue = asyncio.Queue()
    printer = PeerPrinter()

    def on_peer(peer: "PeerFound") -> None:
        if printer(peer):
            queue.put_nowait(peer)

    async with MdnsDiscovery(naming(args)) as mdns:
        mdns.on("peer", on_peer)
        mdns.join(discovery_key, announce_port)
        yield queue
