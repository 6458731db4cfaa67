"""``MdnsDiscovery``: the sans-IO :class:`~hyperparty.discovery.mdns.MulticastDiscovery` on a real
:class:`~hyperparty.discovery.transport.MulticastSocket`, with an asyncio timer for re-queries.

    d = MdnsDiscovery()                 # Dat naming; PLAIN for discovery-swarm's own
    await d.start()
    d.on("peer", lambda peer: ...)      # a PeerFound(discovery_key, host, port, via) per answer
    d.join(discovery_key, port=3282)    # announce (port=None: look up only)
    d.leave(discovery_key, port=3282)
    await d.close()

Every answer is reported, repeats included: de-duplicating is the consumer's job (the swarm does it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Callable

from ..clock import Clock, default_clock
from ..events import EventEmitter
from .mdns import DAT, MulticastDiscovery, Naming
from .transport import GROUP, PORT, MulticastSocket

__all__ = ["MdnsDiscovery"]

log = logging.getLogger(__name__)


class MdnsDiscovery(EventEmitter):
    """LAN discovery on one multicast socket for any number of keys.  Event: ``peer`` (PeerFound)."""

    def __init__(
        self,
        naming: Naming = DAT,
        *,
        group: str = GROUP,
        port: int = PORT,
        interfaces: Callable[[], list[str]] | list[str] | None = None,
        send_interface: str | None = None,
        clock: Clock | None = None,
        **state_options: Any,
    ) -> None:
        super().__init__()
        self.state = MulticastDiscovery(naming, **state_options)
        self.socket = MulticastSocket(self._on_datagram, group=group, port=port, interfaces=interfaces,
                                      send_interface=send_interface)
        self.clock = clock or default_clock()
        self._wake: asyncio.Event | None = None
        self._timer: asyncio.Task | None = None
        self.started = False
        self.closed = False

    def _now(self) -> float:
        return self.clock.now()

    @property
    def stats(self):
        return self.state.stats

    async def start(self) -> "MdnsDiscovery":
        if not self.started:
            self.started = True
            await self.socket.open()
            self._wake = asyncio.Event()
            self._timer = asyncio.ensure_future(self._timer_loop())
            self._flush()
        return self

    async def __aenter__(self) -> "MdnsDiscovery":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def join(self, key: bytes, port: int | None = None) -> None:
        """Announce ``key`` at TCP ``port`` (None: only look it up); queries at once."""
        self.state.join(key, port, self._now())
        self._flush()

    def leave(self, key: bytes, port: int | None = None) -> None:
        self.state.leave(key, port)
        self._flush()

    def _on_datagram(self, data: bytes, source: tuple[str, int]) -> None:
        if self.closed:
            return
        self.state.receive(data, source, self._now())
        self._flush()

    def _flush(self) -> None:
        if not self.started or self.closed:
            return  # what was queued before start() goes out when it opens the socket
        for d in self.state.datagrams_to_send():
            self.socket.send(d.data, d.port)
        for peer in self.state.events():
            self.emit("peer", peer)
        if self._wake is not None:
            self._wake.set()

    async def _timer_loop(self) -> None:
        assert self._wake is not None
        while not self.closed:
            deadline = self.state.next_deadline()
            self._wake.clear()
            waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(self._wake.wait())]
            if deadline is not None:
                waits.append(asyncio.ensure_future(self.clock.sleep(max(0.0, deadline - self._now()))))
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for w in waits:
                    w.cancel()
            if self.closed:
                return
            self.state.tick(self._now())
            for d in self.state.datagrams_to_send():
                self.socket.send(d.data, d.port)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(BaseException):
                await self._timer
        self.socket.close()
