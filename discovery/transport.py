"""The asyncio UDP multicast socket multicast-dns 7.2 opens (shared/spec/discovery-swarm-5.md §3).

* IPv4 UDP, ``SO_REUSEADDR`` (and ``SO_REUSEPORT`` where it exists, so a node peer's socket and ours share
  the port), bound to ``0.0.0.0:5353``.
* The group ``224.0.0.251`` is joined on the first IPv4 address of every interface, loopback included;
  the list is re-checked every 5 s (:meth:`MulticastSocket.update`) and new addresses are joined.
* Multicast TTL 255, loopback on.  Datagrams leave by one interface: ``0.0.0.0`` (the kernel's choice)
  when a non-loopback IPv4 address exists, else ``127.0.0.1``.

Group, port (0 = any free port, then also the port datagrams are sent to), the interface list and the
sending interface are injectable, for tests.  Errors sending or joining are logged and counted
(``stats``), never raised into the caller: discovery is best effort.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections import Counter
from typing import Callable, Iterable

__all__ = ["GROUP", "PORT", "MulticastSocket", "ipv4_interfaces", "default_send_interface"]

log = logging.getLogger(__name__)

GROUP = "224.0.0.251"
PORT = 5353
UPDATE_INTERVAL = 5.0
_SIOCGIFADDR = 0x8915


def ipv4_interfaces() -> list[str]:
    """The first IPv4 address of every interface (Linux: ``SIOCGIFADDR``; elsewhere just ``0.0.0.0``)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not Linux
        return ["0.0.0.0"]
    out: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            names = socket.if_nameindex()
        except OSError:  # pragma: no cover
            return ["0.0.0.0"]
        for _index, name in names:
            try:
                res = fcntl.ioctl(s.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue  # no IPv4 address on this interface
            addr = socket.inet_ntoa(res[20:24])
            if addr not in out:
                out.append(addr)
    return out


def default_send_interface(addresses: Iterable[str]) -> str:
    """``0.0.0.0`` if any non-loopback IPv4 address exists, else ``127.0.0.1`` (multicast-dns's choice)."""
    return "0.0.0.0" if any(not a.startswith("127.") for a in addresses) else "127.0.0.1"


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, owner: "MulticastSocket") -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr) -> None:
        self.owner._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        self.owner.stats["errors"] += 1
        log.debug("multicast socket error: %s", exc)


class MulticastSocket:
    """One multicast UDP socket; ``on_datagram(data, (host, port))`` is called for each datagram."""

    def __init__(
        self,
        on_datagram: Callable[[bytes, tuple[str, int]], None],
        *,
        group: str = GROUP,
        port: int = PORT,
        bind_host: str = "0.0.0.0",
        interfaces: Callable[[], list[str]] | list[str] | None = None,
        send_interface: str | None = None,
        ttl: int = 255,
        loopback: bool = True,
        update_interval: float = UPDATE_INTERVAL,
    ) -> None:
        self._on_datagram_cb = on_datagram
        self.group = group
        self.port = port
        self.bind_host = bind_host
        self._interfaces = interfaces
        self._send_interface = send_interface
        self.ttl = ttl
        self.loopback = loopback
        self.update_interval = update_interval
        self.memberships: set[str] = set()
        self.stats: Counter = Counter()
        self._sock: socket.socket | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._update_task: asyncio.Task | None = None
        self.closed = False

    def _interface_list(self) -> list[str]:
        if self._interfaces is None:
            return ipv4_interfaces()
        if callable(self._interfaces):
            return list(self._interfaces())
        return list(self._interfaces)

    async def open(self) -> None:
        """Bind, join the group on every interface, start the periodic membership check."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if hasattr(socket, "SO_REUSEPORT"):
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((self.bind_host, self.port))
            if not self.port:
                self.port = sock.getsockname()[1]
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, self.ttl)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1 if self.loopback else 0)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
        self.update()
        if self.update_interval:
            self._update_task = asyncio.ensure_future(self._update_loop())

    def update(self) -> bool:
        """Join the group on interfaces not joined yet; returns whether anything changed."""
        if self._sock is None or self.closed:
            return False
        addresses = self._interface_list()
        updated = False
        for addr in addresses:
            if addr in self.memberships:
                continue
            mreq = struct.pack("4s4s", socket.inet_aton(self.group), socket.inet_aton(addr))
            try:
                self._sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            except OSError as exc:
                self.stats["membership_errors"] += 1
                log.debug("could not join %s on %s: %s", self.group, addr, exc)
                continue
            self.memberships.add(addr)
            updated = True
        if updated:
            iface = self._send_interface or default_send_interface(addresses)
            try:
                self._sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(iface))
            except OSError as exc:
                self.stats["membership_errors"] += 1
                log.debug("could not send by %s: %s", iface, exc)
        return updated

    async def _update_loop(self) -> None:
        while not self.closed:
            await asyncio.sleep(self.update_interval)
            try:
                self.update()
            except Exception:  # never let a network change kill discovery
                log.exception("multicast membership update failed")

    def _on_datagram(self, data: bytes, addr) -> None:
        self.stats["received"] += 1
        self._on_datagram_cb(data, (addr[0], addr[1]))

    def send(self, data: bytes, port: int | None = None) -> None:
        """Multicast ``data`` to the group at ``port`` (default: the group port)."""
        if self._transport is None or self.closed:
            return
        try:
            self._transport.sendto(data, (self.group, port or self.port))
            self.stats["sent"] += 1
        except OSError as exc:
            self.stats["errors"] += 1
            log.debug("multicast send failed: %s", exc)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._update_task is not None:
            self._update_task.cancel()
        if self._sock is not None:
            for addr in self.memberships:
                mreq = struct.pack("4s4s", socket.inet_aton(self.group), socket.inet_aton(addr))
                with contextlib.suppress(OSError):
                    self._sock.setsockopt(socket.IPPROTO_IP, socket.IP_DROP_MEMBERSHIP, mreq)
        self.memberships.clear()
        if self._transport is not None:
            self._transport.close()
