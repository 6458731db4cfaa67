"""The seed's "single party, multi-writer" rules: every peer owns one writable feed and reads the others'.

* ``handshake``: introduce the keys of the feeds we hold that are proven (ours, or with a verified block)
  (a transaction), then replicate the local feed;
* ``on_introduce_feeds``: open the introduced keys the :class:`~.admission.Admission` admits as read-only
  replicas and replicate them (per message, per peer and per party limits; refused keys store nothing);
* ``find_feed``: the local feed or a known replica with that discovery key;
* ``on_peer_removed``: the replicas created for that peer's introductions that never got a block are
  discarded.

Every peer's feeds are kept in a :class:`~hyperparty.party.feed_store.FeedStore`, so a restart finds the
replicas again.  With more than two peers, keys learned from one peer are introduced to the others once
their feed proved itself (its first block arrived), so every real feed reaches everyone and random keys
reach nobody.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..feed_store import FeedStore
from .admission import Admission, proven
from .base import Rules

if TYPE_CHECKING:  # pragma: no cover
    from ...feeds import Feed
    from ..peer import Peer


class TwoWritersRules(Rules):
    """Share and replicate every writer's feed (the seed's README rule set)."""

    name = "two-writers"

    def __init__(self, store: FeedStore, local: "Feed", *, transaction_timeout: float | None = 10.0) -> None:
        self.store = store
        self.local = local
        self.transaction_timeout = transaction_timeout
        self.admission = Admission(store)

    async def handshake(self, peer: "Peer") -> None:
        keys = [core.key for core in self.store.feeds() if proven(core)]
        await peer.introduce_feeds(keys)
        await peer.replicate(self.local)

    async def on_introduce_feeds(self, peer: "Peer", keys: list[bytes]) -> None:
        known = {bytes(k) for k in keys if self.store.get(k) is not None}
        for core in await self.admission.admit(peer, keys):
            if peer.closed:
                return
            await peer.replicate(core)
            if core.key not in known:
                self._spread_when_proven(core, source=peer)
        return None

    async def on_peer_removed(self, peer: "Peer") -> None:
        await self.admission.release(peer)

    def _spread_when_proven(self, core: "Feed", source: "Peer") -> None:
        """Introduce a newly learned feed to the other connected peers once it holds a block."""
        if proven(core):
            self._spread(core, source)
            return
        first = core.cores()[0]

        def on_download(*_args: object) -> None:
            first.off("download", on_download)
            self._spread(core, source)

        first.on("download", on_download)

    def _spread(self, core: "Feed", source: "Peer") -> None:
        for other in list(source.party.peers):
            if other is source or other.closed:
                continue
            other.spawn(self._introduce_and_replicate(other, core))

    @staticmethod
    async def _introduce_and_replicate(peer: "Peer", core: "Feed") -> None:
        await peer.replicate(core)
        await peer.introduce_feeds([core.key])

    async def find_feed(self, peer: "Peer", discovery_key: bytes) -> "Feed | None":
        return self.store.by_discovery_key(discovery_key)
