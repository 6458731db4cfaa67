"""``Admission``: which introduced feed keys a party stores, so one peer's keys never lock out the others.

A rule set that opens replicas for keys a remote names (an ``IntroduceFeeds``, a multifeed
``REPLICATE_FEEDS``) asks :meth:`Admission.admit` instead of calling ``store.add`` itself:

* a message naming more than ``per_message`` keys (:data:`MAX_KEYS_PER_MESSAGE`), or more than the peer's
  :attr:`~hyperparty.party.peer.Peer.key_limit` when that is higher (a connection that negotiated many
  feeds), is refused whole;
* a key the store already has is admitted (it costs nothing new);
* a new key is admitted while the introducing peer has fewer than ``per_peer`` *unproven* feeds (created
  for its introductions, no verified block yet; :data:`MAX_UNPROVEN_PER_PEER`) and the store is not full
  (:attr:`FeedStore.max_feeds <hyperparty.party.feed_store.FeedStore.max_feeds>`); otherwise it is refused
  and nothing is stored for it;
* when a peer leaves (:meth:`Admission.release`, from the rules' ``on_peer_removed``), the feeds created
  for introductions that are still unproven — and that no connected peer introduced too, and that no
  open connection replicates — are discarded from the store (``FeedStore.discard``), so random keys do
  not stay behind, in memory or on disk across a restart.  Admitting and releasing take turns (one
  lock), so a key introduced again while its feed is being given up is created anew, never lost.

Refusals are logged (logger ``hyperparty.net``), one line per message.  A feed is *proven* once it holds a
block (a verified signature by its key: whoever introduced it can write it, or has it) or is ours.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ...protocol import limits
from ..feed_store import FeedStore, StoreFull

if TYPE_CHECKING:  # pragma: no cover
    from ...feeds import Feed
    from ..peer import Peer

__all__ = ["Admission", "proven"]

netlog = logging.getLogger("hyperparty.net")


def proven(feed: "Feed") -> bool:
    """True when ``feed`` is ours or holds at least one verified block."""
    return any(core.writable or core.length > 0 for core in feed.cores())


class Admission:
    """Admits introduced keys into ``store`` within limits (see the module docstring)."""

    def __init__(self, store: FeedStore, *, per_message: int | None = None, per_peer: int | None = None) -> None:
        self.store = store
        self.per_message = limits.MAX_KEYS_PER_MESSAGE if per_message is None else per_message
        self.per_peer = limits.MAX_UNPROVEN_PER_PEER if per_peer is None else per_peer
        self._introducers: dict[bytes, set["Peer"]] = {}  # unproven feed key -> peers that introduced it
        self._lock = asyncio.Lock()

    def unproven_of(self, peer: "Peer") -> list[bytes]:
        """Keys of the unproven feeds created for ``peer``'s introductions (proven ones are forgotten)."""
        out = []
        for key, peers in list(self._introducers.items()):
            feed = self.store.get(key)
            if feed is None or proven(feed):
                del self._introducers[key]
                continue
            if peer in peers:
                out.append(key)
        return out

    async def admit(self, peer: "Peer", keys: list[bytes], *, what: str = "introduced") -> list["Feed"]:
        """The feeds to replicate for ``keys`` introduced by ``peer`` (refused ones left out)."""
        if len(keys) > self.per_message and len(keys) > peer.key_limit:
            netlog.warning("refused %d feeds %s by %r at once (at most %d per message)",
                           len(keys), what, peer, max(self.per_message, peer.key_limit))
            return []
        async with self._lock:
            return await self._admit(peer, keys, what)

    async def _admit(self, peer: "Peer", keys: list[bytes], what: str) -> list["Feed"]:
        feeds: list["Feed"] = []
        refused = 0
        reason = ""
        unproven = len(self.unproven_of(peer))
        for key in keys:
            key = bytes(key)
            if len(key) != 32:
                continue
            feed = self.store.get(key)
            if feed is None:
                if unproven >= self.per_peer:
                    refused += 1
                    reason = f"{self.per_peer} feeds without a block from this peer"
                    continue
                try:
                    feed = await self.store.add(key)
                except StoreFull:
                    refused += 1
                    reason = f"the party holds {self.store.max_feeds} feeds"
                    continue
                unproven += 1
                self._introducers[key] = {peer}
            elif key in self._introducers:
                self._introducers[key].add(peer)
            if feed not in feeds:
                feeds.append(feed)
        if refused:
            netlog.warning("refused %d of %d feeds %s by %r: %s", refused, len(keys), what, peer, reason)
        return feeds

    async def release(self, peer: "Peer") -> None:
        """``peer`` left: discard the unproven feeds nobody connected introduced or replicates."""
        async with self._lock:
            self.unproven_of(peer)  # forget the feeds that proved themselves meanwhile
            for key, peers in list(self._introducers.items()):
                peers.discard(peer)
                if any(not p.closed for p in peers):
                    continue
                feed = self.store.get(key)
                if feed is None or proven(feed):
                    del self._introducers[key]
                    continue
                if feed.attachments():
                    continue  # an open connection replicates it: decided when that one leaves
                del self._introducers[key]
                await self.store.discard(feed)
