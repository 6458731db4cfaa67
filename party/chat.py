"""``ChatNode``: one peer of a party running a chat over its own feed (what ``hyperparty chat`` drives).

Each line said is appended to the node's own writable feed; every block that arrives from another
member's feed is reported to ``on_message(feed_key, seq, data)``, each feed's blocks in seq order (blocks
arrive in any order; one that comes early waits for those before it); ephemeral messages travel with the
party extension and are reported to ``on_ephemeral(text, peer_id)`` (type ``chat``) and, of every type,
to ``on_any_ephemeral(type, value, peer_id)``.  The rule set picks who replicates what:

* ``two-writers`` (default): the seed's example — every peer shares its feed with every other;
* ``multifeed``: multifeed 4.3.0's wire (talks to a JS multifeed peer; no ephemeral messages);
* ``authorized``: only feeds authorized from the party creator's feed replicate (``/auth KEY``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Callable

from ..feeds.hypercore import Hypercore, HypercoreError
from ..storage import Storage, open_storage
from .feed_store import FeedStore
from .party import Party
from .party_map import PartyMap
from .rules import Rules
from .rules.authorized import AuthorizedWritersRules, parse_authorization
from .rules.multifeed import DEFAULT_ENCRYPTION_KEY, MultifeedRules
from .rules.two_writers import TwoWritersRules

if TYPE_CHECKING:  # pragma: no cover
    from ..feeds import Feed
    from ..protocol.transport import TCPServer

RULE_SETS = ("two-writers", "multifeed", "authorized")
EPHEMERAL_TYPE = "chat"

MessageCallback = Callable[[bytes, int, bytes], Any]
EphemeralCallback = Callable[[str, bytes | None], Any]
AnyEphemeralCallback = Callable[[str | None, bytes, bytes | None], Any]


class ChatNode:
    """A party member with one writable feed.  Use ``async with`` or ``start()``/``close()``."""

    def __init__(
        self,
        storage: Storage | str,
        *,
        party_key: bytes | None = None,
        rules: str = "two-writers",
        live: bool = True,
        on_message: MessageCallback | None = None,
        on_ephemeral: EphemeralCallback | None = None,
        on_any_ephemeral: AnyEphemeralCallback | None = None,
        transaction_timeout: float | None = 10.0,
    ) -> None:
        if rules not in RULE_SETS:
            raise ValueError(f"unknown rule set {rules!r}; choose one of {', '.join(RULE_SETS)}")
        self.storage = open_storage(storage) if isinstance(storage, str) else storage
        self.rules_name = rules
        self.live = live
        self.party_key = party_key
        self.on_message = on_message
        self.on_ephemeral = on_ephemeral
        self.on_any_ephemeral = on_any_ephemeral
        self.transaction_timeout = transaction_timeout
        self.store = FeedStore(self.storage)
        self.local: Hypercore | None = None
        self.rules: Rules | None = None
        self.party: Party | None = None
        self._servers: list[TCPServer] = []
        # key -> the core object watched for it: a feed the store discarded (an unproven replica whose
        # introducer left) and created anew for another connection is a new object, watched again
        self._watched: dict[bytes, "Feed"] = {}

    async def __aenter__(self) -> "ChatNode":
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the store and the local feed, build the rules and the party."""
        await self.store.ready()
        local = await self.store.writer("local")
        if not isinstance(local, Hypercore):  # a store made by something else than a chat node
            raise TypeError(f"the store's feed 'local' is a {local.KIND}, not the hypercore a chat writes to")
        self.local = local
        if self.rules_name == "multifeed":
            key = self.party_key or DEFAULT_ENCRYPTION_KEY
            self.rules = MultifeedRules(self.store)
        elif self.rules_name == "authorized":
            key = self.party_key or local.key  # no key given: this node creates the party
            rules = AuthorizedWritersRules(self.store, local, key, transaction_timeout=self.transaction_timeout)
            await rules.load()
            self.rules = rules
        else:
            if self.party_key is None:
                raise ValueError("the two-writers rules need a party key")
            key = self.party_key
            self.rules = TwoWritersRules(self.store, local, transaction_timeout=self.transaction_timeout)
        self.party = Party(key, self.rules)
        self.party.on("ephemeral", self._ephemeral)
        for core in self.store.feeds():
            self._watch(core)
        self.store.on("feed", self._watch)

    # -- messages ------------------------------------------------------------------------------------

    def _watch(self, core: "Feed") -> None:
        if not isinstance(core, Hypercore) or core is self.local or self._watched.get(core.key) is core:
            return  # chat messages are blocks of plain hypercores
        self._watched[core.key] = core
        # report this session's blocks in seq order: from the first block not stored yet, each one once
        # every block before it is stored (blocks stored in an earlier session are not reported again)
        first = core.bitfield.first_missing(0, core.length) if core.length else 0
        state = {"next": core.length if first == -1 else first}

        def on_download(index: int, data: bytes) -> None:
            while core.has(state["next"]):
                seq = state["next"]
                state["next"] = seq + 1
                try:
                    block = bytes(data) if seq == index else core.read_block(seq)
                except HypercoreError:  # a damaged stored block: skip it, go on with the next
                    continue
                if self.on_message is not None and parse_authorization(block) is None:
                    self.on_message(core.key, seq, block)

        core.on("download", on_download)

    def _ephemeral(self, peer: Any, type: str | None, value: bytes | None) -> None:
        if type == EPHEMERAL_TYPE and self.on_ephemeral is not None:
            self.on_ephemeral((value or b"").decode("utf-8", "replace"), peer.peer_id)
        if self.on_any_ephemeral is not None:
            self.on_any_ephemeral(type, bytes(value or b""), peer.peer_id)

    async def say(self, text: str | bytes) -> int:
        """Append a message to the local feed; returns its seq."""
        assert self.local is not None, "start() first"
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        return await self.local.append(data)

    def send_ephemeral(self, text: str | bytes, type: str = EPHEMERAL_TYPE) -> int:
        """Send an ephemeral message (of ``type``, default ``chat``) to every connected peer; returns how
        many got it."""
        assert self.party is not None, "start() first"
        if not self.rules or not self.rules.uses_party_extension:
            raise ValueError(f"the {self.rules_name} rules carry no ephemeral messages")
        sent = 0
        for peer in list(self.party.peers):
            if not peer.closed:
                peer.send_ephemeral_message(type, text.encode("utf-8") if isinstance(text, str) else bytes(text))
                sent += 1
        return sent

    async def authorize(self, key: bytes) -> int:
        """Authorize another writer (``authorized`` rules only)."""
        if not isinstance(self.rules, AuthorizedWritersRules):
            raise ValueError("only the authorized rules have writers to authorize")
        return await self.rules.authorize(key)

    # -- connections -----------------------------------------------------------------------------------

    async def listen(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Accept connections on ``host:port``; returns the bound port."""
        from ..protocol.transport import serve_tcp

        assert self.party is not None, "start() first"
        parties = PartyMap()
        parties.add(self.party)
        server = await serve_tcp(host, port, lambda: self._make_stream(parties))
        self._servers.append(server)
        return server.sockets[0].getsockname()[1]

    def _make_stream(self, parties: PartyMap):
        assert self.party is not None, "start() first"
        if self.rules is not None and not self.rules.uses_party_extension:
            return self.party.replicate(live=self.live)  # multifeed: one party per listener
        return parties.replicate(live=self.live)

    async def connect(self, host: str, port: int, *, timeout: float = 10.0):
        """Connect to a peer; returns the stream once the TCP connection is up."""
        from ..protocol.transport import connect_tcp

        assert self.party is not None, "start() first"
        stream = self.party.replicate(live=self.live)
        await asyncio.wait_for(connect_tcp(host, port, stream), timeout)
        return stream

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        if self.party is not None:
            await self.party.close()
        for server in self._servers:
            try:
                await asyncio.wait_for(server.wait_closed(), 2)
            except asyncio.TimeoutError:
                pass
        self._servers.clear()
        await self.store.close()
