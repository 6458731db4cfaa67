"""Multifeed-compatible rules: share every feed, replicate every feed — on multifeed 4.3.0's own wire.

A party with these rules talks to a real JS multifeed 4.3.0 peer (shared/spec/multifeed-4.md):

* the party key is multifeed's "encryption key" (default :data:`DEFAULT_ENCRYPTION_KEY`), opened as
  channel 0; the handshake carries ``userData = {"client":"MULTIFEED","version":"3.0.0"}`` and the
  extensions ``MANIFEST``, ``REPLICATE_FEEDS``, ``REQUEST_FEEDS`` (no ``party`` extension);
* a remote whose userData is not JSON, whose major version differs or whose client is not ``MULTIFEED``
  is dropped (``ERR_VERSION_MISMATCH`` / ``ERR_CLIENT_MISMATCH`` messages);
* each side sends ``MANIFEST {"keys": [...]}`` with every feed it has; the receiver asks for all of them
  (``REQUEST_FEEDS [...]``); the owner answers with the offered subset, sorted (``REPLICATE_FEEDS``), and
  both sides open a channel per feed;
* in a non-live connection ``expected_feeds`` is managed exactly as multifeed's ``_replicateFeeds``
  does, so the stream ends when every feed is done — or at once when neither side had anything;
* a feed added while connected is offered with another ``MANIFEST``.

Feeds live in a :class:`~hyperparty.party.feed_store.FeedStore`, which uses multifeed's directory layout.

Bounds (beyond JS, which keeps whatever it is offered): one connection offers and accepts at most as many
feeds as its channels can carry beside the encryption key's (:meth:`MultifeedRules._room`: 255 with a JS
peer or any peer without the ``hyperparty/many-feeds`` extension — JS destroys the whole stream past 256
channels — and up to 16 383 between Python peers that negotiated it; never more than the store's
``max_feeds``).  Our ``MANIFEST`` names our first
feeds up to that room; of a remote's ``MANIFEST`` (a JS multifeed offers all its feeds in one) the first
keys up to the room left (our own offer counts against it) are kept and requested.  Feeds left out either
way are never a silent zero: they are reported (:meth:`Peer.report_overflow`: the party's ``overflow``
event and a warning).  Which feeds is decided by store order, so another connection to the same peer
leaves out the same ones (multifeed has no way to ask for "the others").  A ``REQUEST_FEEDS`` or ``REPLICATE_FEEDS``
naming more than the peer's :attr:`~hyperparty.party.peer.Peer.key_limit` keys
(:data:`~hyperparty.protocol.limits.MAX_KEYS_PER_MESSAGE`, or the channel limit after negotiating many
feeds) is refused, and the keys to replicate go through an :class:`~.admission.Admission` (the store's
``max_feeds``; a peer's feeds that never got a block are discarded when it leaves).
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

from ..feed_store import FeedStore
from .admission import Admission
from .base import Rules

if TYPE_CHECKING:  # pragma: no cover
    from ...feeds import Feed
    from ..peer import Peer

#: multifeed's public default root key (gives no secrecy; pass your own to keep a party private).
DEFAULT_ENCRYPTION_KEY = bytes.fromhex("bee80ff3a4ee5e727dc44197cb9d25bf8f19d50b0f3ad2984cfe5b7d14e75de7")
PROTOCOL_VERSION = "3.0.0"
CLIENT = "MULTIFEED"
MANIFEST, REPLICATE_FEEDS, REQUEST_FEEDS = "MANIFEST", "REPLICATE_FEEDS", "REQUEST_FEEDS"
_HEX_KEY = re.compile(r"^[0-9a-fA-F]{64}$")
netlog = logging.getLogger("hyperparty.net")


class MultifeedError(Exception):
    """A multifeed peer sent something this side cannot accept."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


def _json(value: Any) -> bytes:
    """JSON exactly as JS ``JSON.stringify`` writes lists/objects of strings."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _major(version: str) -> int | None:
    match = re.match(r"\s*([+-]?\d+)", version.split(".")[0])
    return int(match.group(1)) if match else None


class MultifeedRules(Rules):
    """Share every feed of ``store`` with every peer and replicate every feed they offer."""

    name = "multifeed"
    uses_party_extension = False
    manages_expected_feeds = True
    extensions = (MANIFEST, REPLICATE_FEEDS, REQUEST_FEEDS)
    transaction_timeout = None

    def __init__(self, store: FeedStore, user_data: Any = None) -> None:
        self.store = store
        self.user_data = user_data
        self._peers: list["Peer"] = []
        # multifeed shares every feed: a peer may name as many new feeds as the store can take
        self.admission = Admission(store, per_peer=store.max_feeds)
        store.on("feed", self._on_new_feed)

    def stream_options(self) -> dict[str, Any]:
        header: dict[str, Any] = {"client": CLIENT, "version": PROTOCOL_VERSION}
        if self.user_data is not None:
            header["userData"] = self.user_data
        return {"user_data": _json(header), "expected_feeds": 0}

    # -- connection set-up ---------------------------------------------------------------------------

    async def ready(self, peer: "Peer") -> None:
        raw = peer.stream.remote_user_data
        try:
            header = json.loads(bytes(raw or b"").decode("utf-8"))
            version = header["version"]
            client = header.get("client")
            if not isinstance(version, str):
                raise TypeError("version is not a string")
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise MultifeedError(f"invalid multifeed handshake userData: {exc}") from exc
        if _major(version) != _major(PROTOCOL_VERSION):
            raise MultifeedError(
                f"protocol version mismatch! us={PROTOCOL_VERSION} them={version}", "ERR_VERSION_MISMATCH"
            )
        if client != CLIENT:
            raise MultifeedError(f"Client mismatch! expected {CLIENT} but got {client}", "ERR_CLIENT_MISMATCH")
        peer.state.update(local_offer=[], remote_offer=[], requested=[], pending=2)
        self._peers.append(peer)
        await self.store.ready()

    async def handshake(self, peer: "Peer") -> None:
        keys = [core.key.hex() for core in self.store.feeds()]
        room = self._room(peer)
        keys, left = keys[:room], keys[room:]
        peer.state["local_offer"].extend(keys)
        peer.channel.extension(MANIFEST, _json({"keys": keys}))
        if left:
            peer.report_overflow([bytes.fromhex(k) for k in left], f"offered the first {room} feeds only")

    def _room(self, peer: "Peer") -> int:
        """Feeds one connection to ``peer`` offers and accepts: what its channels can carry beside the
        encryption key's channel (255 with a JS peer, which destroys the whole stream past 256 channels),
        at most the peer's key limit (16 384 between peers that negotiated many feeds) and at most what
        the store may hold (its ``max_feeds``: keeping offers of feeds we could never store is pointless,
        and a remote's offer is memory it makes us hold)."""
        return min(peer.key_limit, peer.feed_room, self.store.max_feeds)

    async def on_peer_removed(self, peer: "Peer") -> None:
        if peer in self._peers:
            self._peers.remove(peer)
        await self.admission.release(peer)

    async def find_feed(self, peer: "Peer", discovery_key: bytes) -> "Feed | None":
        # multifeed opens channels only for keys exchanged through REPLICATE_FEEDS; both sides open
        # them, so a channel opened first by the remote is matched here.
        core = self.store.by_discovery_key(discovery_key)
        if core is None:
            return None
        known = set(peer.state.get("local_offer", ())) | set(peer.state.get("requested", ()))
        return core if core.key.hex() in known else None

    # -- the feed-list exchange ------------------------------------------------------------------------

    async def on_extension(self, peer: "Peer", name: str, payload: bytes) -> None:
        try:
            data = json.loads(bytes(payload).decode("utf-8"))
        except ValueError as exc:
            peer.stream.destroy(MultifeedError(f"bad {name} payload: {exc}"))
            return
        if name == MANIFEST:
            keys = data.get("keys", []) if isinstance(data, dict) else []
            if not isinstance(keys, list):
                return
            offer = peer.state["remote_offer"]
            known = set(offer)
            # every key offered either way may take a channel: ours count against the room too
            used = known | set(peer.state["local_offer"])
            named = list(dict.fromkeys(k for k in keys if isinstance(k, str)))
            fresh = [k for k in named if _HEX_KEY.match(k) and k not in known]
            free = [k for k in fresh if k in used]  # keys we offered ourselves take no more channels
            costly = [k for k in fresh if k not in used]
            room = max(0, self._room(peer) - len(used))
            fresh, left = free + costly[:room], costly[room:]
            if left:  # a JS multifeed offers all its feeds at once: take what the connection can carry
                peer.report_overflow([bytes.fromhex(k) for k in left],
                                     f"its {name} offered more than the {self._room(peer)} feeds it can carry")
            offer[:] = sorted(known | set(fresh))
            kept = set(offer)
            # like JS, request every key of the manifest (those we keep), even with none: the remote's
            # non-live end waits for our REQUEST_FEEDS and answers it with REPLICATE_FEEDS
            await self._request_feeds(peer, [k for k in named if k in kept])
        elif name == REQUEST_FEEDS:
            if not isinstance(data, list) or not self._few(peer, data, name):
                return
            local = set(peer.state["local_offer"])
            keys = sorted({k for k in data if isinstance(k, str) and k in local})
            peer.channel.extension(REPLICATE_FEEDS, _json(keys))
            await self._replicate_feeds(peer, keys)
        elif name == REPLICATE_FEEDS:
            if not isinstance(data, list) or not self._few(peer, data, name):
                return
            requested = set(peer.state["requested"])
            keys = [k for k in data if isinstance(k, str) and k in requested]
            await self._replicate_feeds(peer, keys)

    @staticmethod
    def _few(peer: "Peer", keys: list[Any], name: str) -> bool:
        if len(keys) <= peer.key_limit:
            return True
        netlog.warning("ignored a %s from %r naming %d feeds (at most %d)", name, peer, len(keys), peer.key_limit)
        return False

    async def _request_feeds(self, peer: "Peer", keys: list[Any]) -> None:
        wanted = [k for k in keys if isinstance(k, str) and k]
        requested = peer.state["requested"]
        already = set(requested)
        requested.extend(k for k in wanted if k not in already)
        peer.channel.extension(REQUEST_FEEDS, _json(wanted))

    async def _replicate_feeds(self, peer: "Peer", keys: list[str]) -> None:
        stream = peer.stream
        keys = sorted(set(keys))
        stream.expected_feeds += 1
        # JS would crash on an invalid key; we skip it instead
        feeds = await self.admission.admit(peer, [bytes.fromhex(k) for k in keys if _HEX_KEY.match(k)],
                                           what="offered")
        peer.state["pending"] -= 1
        stream.expected_feeds += len(feeds) - 1
        if peer.state["pending"] == 0 and stream.expected_feeds == 0:
            stream.expected_feeds = 1
            peer.channel.close()  # nothing to sync: closing channel 0 ends the stream
            return
        for core in feeds:
            if core.key in peer.replicated_keys:
                stream.expected_feeds -= 1
                continue
            await peer.replicate(core)

    def _on_new_feed(self, core: "Feed") -> None:
        key = core.key.hex()
        for peer in list(self._peers):
            if peer.closed:
                continue
            offered = set(peer.state["local_offer"]) | set(peer.state["remote_offer"])
            if key in offered:
                continue
            if len(offered) >= self._room(peer):
                peer.report_overflow([core.key], "no room left for a new feed")
                continue
            peer.state["local_offer"].append(key)
            peer.channel.extension(MANIFEST, _json({"keys": [key]}))
