"""LAN peer discovery compatible with 2019 Dat (discovery-swarm 5.1.4, dns-discovery 6.2.3, multicast-dns).

Layers (shared/spec/discovery-swarm-5.md):

* :mod:`dns` — a small DNS message codec (stdlib only, the bytes dns-packet writes and reads).
* :mod:`mdns` — sans-IO multicast discovery state: datagrams and ``now`` in, datagrams and peers out.
* :mod:`transport` — the asyncio UDP multicast socket (224.0.0.251:5353, every IPv4 interface).
* :mod:`service` — the two joined: ``MdnsDiscovery`` announces / looks up discovery keys and emits peers.
* :mod:`swarm` — ``Swarm``: dials the peers found over TCP, accepts connections, one hypercore-protocol
  stream per connection from a user factory, discovery-swarm's self, duplicate and reconnect rules.

This package imports only the bottom layers (``hyperparty`` primitives and ``protocol``).
"""

from .mdns import DAT, PLAIN, Datagram, MulticastDiscovery, Naming, PeerFound
from .service import MdnsDiscovery
from .swarm import DuplicateConnection, PeerAddress, PeerInfo, SelfConnection, Swarm, discover

__all__ = [
    "DAT",
    "PLAIN",
    "Naming",
    "PeerFound",
    "Datagram",
    "MulticastDiscovery",
    "MdnsDiscovery",
    "Swarm",
    "PeerInfo",
    "PeerAddress",
    "SelfConnection",
    "DuplicateConnection",
    "discover",
]
