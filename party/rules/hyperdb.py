"""Authorized writers whose one record of trust is a hyperdb.

The party key is the db's key (its source writer, the party creator), and the party's authorized feeds
*are* the db's authorized writers: the source, and every writer listed — transitively — in an authorized
writer's feeds list (hyperdb's own authorization entries).  There is no second record of trust:
:meth:`HyperDBRules.authorize` writes the db's authorization entry, :meth:`HyperDBRules.is_authorized`
reads the db.  The interface is :class:`~.authorized.AuthorizedWritersRules`' (``authorized``,
``is_authorized``, ``writable``, ``authorize``), so a party can use either.

Each peer replicates the db as one feed: its authorized writers' cores, the source first (on the party
channel itself, whose key the source's is), and writers the db learns during the session join the
connection.  A channel the remote opens for a core that is not an authorized writer of the db is refused
(``find_feed`` returns None, an :class:`~hyperparty.party.errors.UnauthorizedFeed` ``error`` event); if
that writer becomes authorized later, the db attaches its core and the channel is answered then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...crypto import discovery_key as make_discovery_key
from ..errors import UnauthorizedFeed
from .base import Rules

if TYPE_CHECKING:  # pragma: no cover
    from ...feeds import Feed
    from ...feeds.hyperdb import HyperDB
    from ..peer import Peer

__all__ = ["HyperDBRules"]


class HyperDBRules(Rules):
    """Replicate the db's authorized writers; trust is what the db says (see the module docstring)."""

    name = "hyperdb"

    def __init__(self, db: "HyperDB", *, transaction_timeout: float | None = 10.0) -> None:
        self.db = db
        self.transaction_timeout = transaction_timeout

    @property
    def root_key(self) -> bytes:
        return self.db.key

    @property
    def authorized(self) -> list[bytes]:
        """The keys of the db's authorized writers, in the order they were authorized."""
        return self.db.authorized_keys()

    def is_authorized(self, key: bytes) -> bool:
        return bytes(key) in self.db.authorized_keys()

    @property
    def writable(self) -> bool:
        """True when this peer's own db writer is authorized (its writes reach the others)."""
        return self.is_authorized(self.db.local_key)

    async def authorize(self, key: bytes) -> int:
        """Authorize ``key`` in the db (an authorization entry); returns the entry's seq."""
        if not self.writable:
            raise UnauthorizedFeed("this peer's writer is not authorized, so it cannot authorize others")
        node = await self.db.authorize(bytes(key))
        return node.seq

    # -- hooks -----------------------------------------------------------------------------------------

    async def ready(self, peer: "Peer") -> None:
        await self.db.ready()

    async def handshake(self, peer: "Peer") -> None:
        await peer.replicate(self.db)

    async def on_introduce_feeds(self, peer: "Peer", keys: list[bytes]) -> None:
        for key in keys:
            if len(key) == 32 and not self.is_authorized(key):
                peer.party.emit("error", UnauthorizedFeed(f"feed {bytes(key).hex()} is not authorized"), peer)
        return None

    async def find_feed(self, peer: "Peer", discovery_key: bytes) -> "Feed | None":
        db = self.db
        await db.ready()
        if db.owns(discovery_key):
            return db
        if any(make_discovery_key(key) == discovery_key for key in db.authorized_keys()):
            return db  # authorized, its core not open yet: the db attaches it when it opens it
        peer.party.emit(
            "error", UnauthorizedFeed(f"refused a channel for unauthorized feed {discovery_key.hex()}"), peer
        )
        return None
