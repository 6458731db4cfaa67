"""The seed's "single party, multi-writer" rules: every peer owns one writable feed and reads the others'.

* ``handshake``: introduce the local feed's key (a transaction), then replicate the local feed;
* ``on_introduce_feeds``: open each introduced key as a read-only replica and replicate it;
* ``find_feed``: the local feed or a known replica with that discovery key.

Every peer's feeds are kept in a :class:`~hyperparty.party.feed_store.FeedStore`, so a restart finds the
replicas again.  With more than two peers, keys learned from one peer are introduced to the others, so
every feed reaches everyone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..feed_store import FeedStore
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

    async def handshake(self, peer: "Peer") -> None:
        keys = [core.key for core in self.store.feeds()]
        await peer.introduce_feeds(keys)
        await peer.replicate(self.local)

    async def on_introduce_feeds(self, peer: "Peer", keys: list[bytes]) -> None:
        for key in keys:
            if len(key) != 32:
                continue
            known = self.store.get(key) is not None
            core = await self.store.add(key)
            await peer.replicate(core)
            if not known:
                await self._spread(core, source=peer)
        return None

    async def _spread(self, core: "Feed", source: "Peer") -> None:
        """Introduce a newly learned feed to the other connected peers."""
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
