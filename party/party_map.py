"""``PartyMap``: one listener serving many parties.

A stream made by :meth:`PartyMap.replicate` has no key of its own.  The remote's first channel (sent in
plaintext, before encryption starts) names a discovery key; the map looks it up among its parties and that
party takes the stream over (opening its own channel with the party key, which starts decryption).  A
connection for a party the map does not serve is destroyed with :class:`UnknownParty`.
"""

from __future__ import annotations

from typing import Any

from ..protocol.stream import ProtocolStream
from .errors import UnknownParty
from ..events import EventEmitter
from .party import Party
from .peer import EXTENSION


class PartyMap(EventEmitter):
    """Parties by discovery key.  Events: ``error`` (exception) for refused connections."""

    def __init__(self, **stream_options: Any) -> None:
        super().__init__()
        self._parties: dict[bytes, Party] = {}
        self._options = stream_options

    def add(self, party: Party) -> Party:
        self._parties[party.discovery_key] = party
        return party

    def remove(self, party: Party) -> None:
        self._parties.pop(party.discovery_key, None)

    def get(self, discovery_key: bytes) -> Party | None:
        return self._parties.get(bytes(discovery_key))

    @property
    def parties(self) -> list[Party]:
        return list(self._parties.values())

    def replicate(self, *, live: bool = False) -> ProtocolStream:
        """A stream for one incoming connection; the remote's first channel picks the party."""
        extensions = {EXTENSION}
        for party in self._parties.values():
            extensions |= set(party.rules.extensions)
        stream = ProtocolStream(live=live, extensions=sorted(extensions), **self._options)
        state = {"done": False}

        def on_feed(discovery_key: bytes) -> None:
            if state["done"]:
                return
            state["done"] = True
            stream.off("feed", on_feed)
            party = self.get(discovery_key)
            if party is None:
                error = UnknownParty(f"no party with discovery key {bytes(discovery_key).hex()}")
                self.emit("error", error)
                stream.destroy(error)
                return
            party.attach(stream, live=live)

        stream.on("feed", on_feed)
        return stream
