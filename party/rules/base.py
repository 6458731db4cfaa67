"""``Rules``: the policy object a :class:`~hyperparty.party.Party` runs for every peer.

The hooks mirror the JS @wirelineio/party 0.1.x rules (``ready``, ``handshake``, ``findFeed``,
``onIntroduceFeeds``, ``onRequest``, ``onEphemeralMessage``) in Python naming.  All hooks are coroutines
and receive the :class:`~hyperparty.party.peer.Peer` they run for.

Beyond the JS model, a rule set may speak its own protocol extensions (the multifeed-compatible rules
speak multifeed's ``MANIFEST``/``REQUEST_FEEDS``/``REPLICATE_FEEDS``): list them in :attr:`extensions`,
set :attr:`uses_party_extension` to ``False`` if the remote will not speak ``party``, and handle the
payloads in :meth:`on_extension`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from ...feeds import Feed
    from ..peer import Peer


class Rules:
    """Base class for rule sets.  ``handshake`` and ``find_feed`` must be overridden."""

    #: A short name used in logs and by the CLI.
    name: str = "rules"
    #: Seconds a transaction (``introduce_feeds``/``request``) waits for its answer; ``None`` waits forever.
    transaction_timeout: float | None = 10.0
    #: Protocol extensions besides ``party`` that this rule set sends or receives.
    extensions: Sequence[str] = ()
    #: When true, a remote that does not advertise the ``party`` extension is refused.
    uses_party_extension: bool = True
    #: When true, the rules set the stream's ``expected_feeds`` themselves (multifeed does); otherwise a
    #: non-live connection expects exactly the cores attached with ``peer.replicate``.
    manages_expected_feeds: bool = False

    def stream_options(self) -> dict[str, Any]:
        """Extra :class:`~hyperparty.protocol.stream.ProtocolStream` options (e.g. ``user_data``)."""
        return {}

    async def ready(self, peer: "Peer") -> None:
        """Called once per connection, before :meth:`handshake`."""

    async def handshake(self, peer: "Peer") -> None:
        """Called once per connection after the protocol handshake: introduce and replicate feeds."""
        raise NotImplementedError(f"{type(self).__name__} must implement handshake()")

    async def find_feed(self, peer: "Peer", discovery_key: bytes) -> "Feed | None":
        """The remote opened a channel for ``discovery_key``: name the local feed to replicate, or None."""
        raise NotImplementedError(f"{type(self).__name__} must implement find_feed()")

    async def on_introduce_feeds(self, peer: "Peer", keys: list[bytes]) -> Sequence[bytes] | None:
        """The remote introduced ``keys``.  The returned keys (if any) travel back in the answer."""
        return None

    async def on_request(
        self, peer: "Peer", type: str | None, value: bytes | None
    ) -> tuple[str | None, bytes | None] | None:
        """Answer a request: return ``(type, value)`` for the answer, or None for an empty answer."""
        return None

    async def on_ephemeral_message(self, peer: "Peer", type: str | None, value: bytes | None) -> None:
        """A fire-and-forget message from the remote."""

    async def on_extension(self, peer: "Peer", name: str, payload: bytes) -> None:
        """A payload for one of :attr:`extensions` arrived on the party channel."""

    async def on_peer_removed(self, peer: "Peer") -> None:
        """The connection to ``peer`` ended (clean up per-peer state)."""
