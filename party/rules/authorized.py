"""Authorized writers (hyperdb-style): the party creator's feed is the root of trust.

* The party key *is* the creator's feed key, as a hyperdb's key is its source feed's key.
* An authorized writer authorizes another key by appending an authorization record to its own feed:
  the bytes ``AUTH_MAGIC || key`` (32-byte key).  The record is signed like every block, replicates with
  the feed, and survives restarts; authorization is transitive (an authorized writer's records count) and
  additive.
* Peers introduce and replicate only authorized feeds.  A key introduced before its authorization is
  known is not replicated (an :class:`~hyperparty.party.errors.UnauthorizedFeed` ``error`` event is
  emitted, one per message); it is introduced again and replicated once a record authorizing it arrives.
  A channel the remote opens for a feed that is not authorized is refused (``find_feed`` returns None) with
  the same error event.
* Bounds: an ``IntroduceFeeds`` naming more than the peer's
  :attr:`~hyperparty.party.peer.Peer.key_limit` keys (:data:`~hyperparty.protocol.limits.MAX_KEYS_PER_MESSAGE`,
  or the channel limit of a connection that negotiated many feeds) is refused whole, so introductions are
  sent in pieces of at most that many; authorized feeds are stored up to the store's ``max_feeds`` (the rest
  are logged and left out); feeds past the connection's channels are reported (the party's ``overflow``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Coroutine

from ...crypto import discovery_key as make_discovery_key
from ...feeds.hypercore import Hypercore
from ..errors import UnauthorizedFeed
from ..feed_store import FeedStore, StoreFull
from .base import Rules

if TYPE_CHECKING:  # pragma: no cover
    from ...feeds import Feed
    from ..party import Party
    from ..peer import Peer

log = logging.getLogger(__name__)
netlog = logging.getLogger("hyperparty.net")

AUTH_MAGIC = b"\x00hyperparty/authorize/v1\x00"


def authorization_record(key: bytes) -> bytes:
    """The block that authorizes ``key``."""
    if len(key) != 32:
        raise ValueError("a feed key is 32 bytes")
    return AUTH_MAGIC + bytes(key)


def parse_authorization(block: bytes) -> bytes | None:
    """The key a block authorizes, or None when it is not an authorization record."""
    if len(block) == len(AUTH_MAGIC) + 32 and block.startswith(AUTH_MAGIC):
        return bytes(block[len(AUTH_MAGIC) :])
    return None


class AuthorizedWritersRules(Rules):
    """Replicate only feeds reachable from the root feed (the party key) by authorization records."""

    name = "authorized"

    def __init__(self, store: FeedStore, local: "Hypercore", root_key: bytes, *,
                 transaction_timeout: float | None = 10.0) -> None:
        self.store = store
        self.local = local
        self.root_key = bytes(root_key)
        self.transaction_timeout = transaction_timeout
        self.authorized: list[bytes] = [self.root_key]
        self._scanned: dict[bytes, int] = {}
        self._party: "Party | None" = None
        self._watching: set[bytes] = set()
        self._tasks: set[asyncio.Task] = set()

    # -- the trust graph -----------------------------------------------------------------------------

    def is_authorized(self, key: bytes) -> bool:
        return bytes(key) in self.authorized

    @property
    def writable(self) -> bool:
        """True when the local feed may write for the party (it is authorized)."""
        return self.is_authorized(self.local.key)

    async def load(self) -> None:
        """Scan the stored authorized feeds for records (run once at start; the rest is incremental)."""
        await self.store.ready()
        changed = True
        while changed:
            changed = False
            for key in list(self.authorized):
                core = self.store.get(key)
                if core is not None:
                    self._watch(core)
                    changed |= await self._scan(core)

    async def _scan(self, core: "Feed") -> bool:
        """Read the records of an authorized core's new local blocks; True if the set grew."""
        if not isinstance(core, Hypercore):
            return False  # records are blocks of a writer's plain hypercore
        start = self._scanned.get(core.key, 0)
        grew = False
        for seq in range(start, core.length):
            if not core.has(seq):
                continue
            key = parse_authorization(await core.get(seq))
            if key is not None and key not in self.authorized:
                self.authorized.append(key)
                grew = True
        self._scanned[core.key] = core.length
        if grew:
            await self._on_new_authorizations()
        return grew

    def _watch(self, core: "Feed") -> None:
        if not isinstance(core, Hypercore) or core.key in self._watching:
            return  # records are blocks of a writer's plain hypercore
        self._watching.add(core.key)

        def on_download(index: int, data: bytes) -> None:
            key = parse_authorization(bytes(data))
            if key is not None and key not in self.authorized and self.is_authorized(core.key):
                self.authorized.append(key)
                self._background(self._on_new_authorizations())

        core.on("download", on_download)

    def _background(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` in a task we keep a reference to; its failure is logged, never lost."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                exc = t.exception()
                log.error("sharing new authorizations failed: %r", exc, exc_info=exc)

        task.add_done_callback(done)

    async def _add(self, key: bytes) -> "Feed | None":
        """The stored feed of an authorized ``key``, a new replica, or None when the store is full."""
        try:
            return await self.store.add(key)
        except StoreFull as exc:
            netlog.warning("authorized feed %s left out: %s", key.hex()[:16], exc)
            return None

    async def authorize(self, key: bytes) -> int:
        """Authorize ``key`` (the local feed must be authorized); returns the record's seq."""
        key = bytes(key)
        if not self.writable:
            raise UnauthorizedFeed("the local feed is not authorized, so it cannot authorize others")
        seq = await self.local.append(authorization_record(key))
        if key not in self.authorized:
            self.authorized.append(key)
            await self._on_new_authorizations()
        return seq

    async def _on_new_authorizations(self) -> None:
        for key in list(self.authorized):
            core = self.store.get(key)
            if core is not None:
                self._watch(core)
        party = self._party
        if party is None:
            return
        for peer in list(party.peers):
            if not peer.closed:
                peer.spawn(self._share(peer))

    async def _share(self, peer: "Peer") -> None:
        """Introduce and replicate every authorized feed this peer has not been given yet."""
        fresh: list[bytes] = []
        for key in list(self.authorized):
            core = self.store.get(key)
            if core is None:
                # an authorized writer we have no blocks of yet: keep an (empty) replica anyway, so its
                # blocks flow through us as soon as any peer that has them connects (hyperdb does the
                # same with the writers it learns from authorizations)
                core = await self._add(key)
                if core is None:
                    continue
            if core.key in peer.replicated_keys:
                continue
            self._watch(core)
            await peer.replicate(core)
            fresh.append(core.key)
        step = peer.key_limit  # what one message may name for this peer (the remote refuses more)
        for start in range(0, len(fresh), step):
            await peer.introduce_feeds(fresh[start:start + step])

    # -- hooks -----------------------------------------------------------------------------------------

    async def ready(self, peer: "Peer") -> None:
        self._party = peer.party
        if not self._scanned:
            await self.load()

    async def handshake(self, peer: "Peer") -> None:
        await self._share(peer)

    async def on_introduce_feeds(self, peer: "Peer", keys: list[bytes]) -> None:
        if len(keys) > peer.key_limit:
            netlog.warning("refused %d feeds introduced by %r at once (at most %d per message)",
                           len(keys), peer, peer.key_limit)
            return None
        refused = [bytes(k) for k in keys if len(k) == 32 and not self.is_authorized(k)]
        if refused:
            more = f" and {len(refused) - 1} more" if len(refused) > 1 else ""
            peer.party.emit("error", UnauthorizedFeed(f"feed {refused[0].hex()}{more} not authorized"), peer)
        for key in keys:
            if len(key) != 32 or not self.is_authorized(key) or peer.closed:
                continue
            core = await self._add(key)
            if core is None:
                continue
            self._watch(core)
            await peer.replicate(core)
            await self._scan(core)
        return None

    async def find_feed(self, peer: "Peer", discovery_key: bytes) -> "Feed | None":
        core = self.store.by_discovery_key(discovery_key)
        if core is None:
            for key in self.authorized:
                if make_discovery_key(key) == discovery_key:
                    core = await self._add(key)
                    break
        if core is None or not self.is_authorized(core.key):
            peer.party.emit(
                "error", UnauthorizedFeed(f"refused a channel for unauthorized feed {discovery_key.hex()}"), peer
            )
            return None
        self._watch(core)
        return core
