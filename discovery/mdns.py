"""Sans-IO LAN discovery speaking dns-discovery 6.2.3's multicast protocol (what 2019 Dat peers used).

No sockets and no clock of its own: datagrams come in through :meth:`MulticastDiscovery.receive`
(bytes, source address, ``now``), timers advance in :meth:`MulticastDiscovery.tick` (``now``); datagrams
to multicast are taken with :meth:`datagrams_to_send` and peers found with :meth:`events`.  The asyncio
side is :mod:`hyperparty.discovery.service`.  The protocol (shared/spec/discovery-swarm-5.md §2-§5):

* A discovery key ``dk`` is looked up as the TXT name ``<id>.<domain>``: Dat (``hash: false``) uses
  ``id = dk[0:20].hex()`` and ``dat.local``; plain discovery-swarm ``id = sha1(dk).hex()`` and
  ``dns-discovery.local`` (:data:`DAT`, :data:`PLAIN`).
* Joining multicasts a query with one TXT question for the name (announcing also remembers our own port,
  host ``0.0.0.0``), then again every 60-70 s.  Leaving sends nothing.
* A TXT question in our domain for an id we announce gets one multicast answer (to the group, at the
  querier's source port): TXT ``token=<base64 sha256(secret || querier host)>`` and
  ``peers=<base64 of 6-byte ip:port records>``; an SRV question gets SRV records (target ``0.0.0.0``).
  Questions for other domains, or for ids we do not announce, get nothing.
* Answers are read from responses and from queries (answer and additional sections).  Their domain is not
  checked, only their id against the ids joined.  A TXT answer whose token equals our own hash for its
  source host is our own echo and is skipped.  Host ``0.0.0.0`` means the datagram's source address;
  an SRV port 0 means its source port.

Limits: a malformed datagram is dropped and counted in ``stats["malformed"]`` (never raised); at most
``max_peers_per_packet`` peer records are read from one datagram (the rest counted in
``stats["peers_dropped"]``); answers for ids not joined are counted in ``stats["ignored"]``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import os
import random as _random
import re
import struct
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from . import dns

__all__ = [
    "Naming",
    "DAT",
    "PLAIN",
    "PeerFound",
    "Datagram",
    "MulticastDiscovery",
    "encode_peers",
    "decode_peers",
    "parse_txt",
]

REQUERY_BASE = 60.0
REQUERY_JITTER = 10.0
MAX_PEERS_PER_STRING = 31  # 6 + 4 * ceil(31 * 6 / 3) = 254 <= 255 bytes, the TXT string limit
MAX_SRV_ANSWERS = 10  # dns-discovery answers at most 10 records per SRV question


@dataclass(frozen=True)
class Naming:
    """How a discovery key becomes a lookup name."""

    domain: str
    sha1: bool

    def lookup_id(self, key: bytes) -> str:
        """The 40-hex-character id of ``key`` (the part of the name before the domain)."""
        key = bytes(key)
        digest = hashlib.sha1(key).digest() if self.sha1 else key
        return digest[:20].hex()

    def name(self, key: bytes) -> str:
        return f"{self.lookup_id(key)}.{self.domain}"


#: Dat's naming (dat-swarm-defaults + ``hash: false``): ``dk[0:20].hex() + ".dat.local"``.
DAT = Naming("dat.local", sha1=False)
#: Plain discovery-swarm's naming: ``sha1(dk).hex() + ".dns-discovery.local"``.
PLAIN = Naming("dns-discovery.local", sha1=True)


@dataclass(frozen=True)
class PeerFound:
    """A peer announced ``discovery_key`` at ``host:port`` (``via``: "txt" or "srv")."""

    discovery_key: bytes
    host: str
    port: int
    via: str = "txt"


@dataclass(frozen=True)
class Datagram:
    """A datagram to multicast to the group, at ``port`` (None: the group's own port)."""

    data: bytes
    port: int | None = None


def encode_peers(peers: list[tuple[str, int]]) -> bytes:
    """6 bytes per peer: IPv4 address, port (u16 big-endian)."""
    return b"".join(ipaddress.IPv4Address(host).packed + struct.pack(">H", port) for host, port in peers)


def decode_peers(buf: bytes, limit: int | None = None) -> list[tuple[str, int]]:
    """The ``(host, port)`` records of ``buf`` (a trailing partial record is ignored, as in JS)."""
    count = len(buf) // 6
    if limit is not None:
        count = min(count, limit)
    out = []
    for i in range(count):
        a, b, c, d, port = struct.unpack_from(">BBBBH", buf, 6 * i)
        out.append((f"{a}.{b}.{c}.{d}", port))
    return out


def parse_txt(strings: list[bytes]) -> dict[str, str | bool]:
    """TXT strings as ``key=value`` (split at the first ``=``; a string without one maps to True; last wins)."""
    data: dict[str, str | bool] = {}
    for s in strings:
        key, sep, value = s.partition(b"=")
        if sep:
            data[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
        else:
            data[key.decode("utf-8", "replace")] = True
    return data


_B64_JUNK = re.compile(r"[^A-Za-z0-9+/]")


def _lenient_b64decode(text: str) -> bytes:
    """Node's ``Buffer.from(text, 'base64')``: url-safe letters accepted, stops at '=', junk skipped."""
    text = text.replace("-", "+").replace("_", "/").split("=", 1)[0]
    text = _B64_JUNK.sub("", text)
    if len(text) % 4 == 1:
        text = text[:-1]
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return b""


def _split_name(name: str) -> tuple[str | None, str | None]:
    """(id, domain) as dns-discovery parses them: the domain is the last two labels."""
    i = name.rfind(".")
    if i == -1:
        return None, None
    j = name.rfind(".", 0, i)
    if j == -1:
        return None, name
    return name[:j], name[j + 1:]


def _ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


@dataclass
class _Topic:
    key: bytes
    name: str
    entries: Counter = field(default_factory=Counter)  # port (announce) or None (lookup) -> join count
    next_query: float = 0.0

    @property
    def ports(self) -> list[int]:
        return [p for p, n in self.entries.items() if p is not None and n > 0]


class MulticastDiscovery:
    """dns-discovery's multicast side for any number of discovery keys (see the module docstring)."""

    def __init__(
        self,
        naming: Naming = DAT,
        *,
        secret: bytes | None = None,
        rand: Callable[[], float] = _random.random,
        requery: tuple[float, float] = (REQUERY_BASE, REQUERY_JITTER),
        max_peers_per_packet: int = 100,
        ttl: int = 0,
    ) -> None:
        self.naming = naming
        self._secret = secret if secret is not None else os.urandom(32)
        self._rand = rand
        self._requery = requery
        self.max_peers_per_packet = max_peers_per_packet
        self.ttl = ttl
        self._topics: dict[str, _Topic] = {}
        self._out: list[Datagram] = []
        self._events: list[PeerFound] = []
        self.stats: Counter = Counter()

    # -- joining ----------------------------------------------------------------------------------

    def join(self, key: bytes, port: int | None, now: float) -> None:
        """Announce ``key`` at TCP ``port`` (None: look up only) and query for it now and every 60-70 s."""
        key = bytes(key)
        lookup_id = self.naming.lookup_id(key)
        topic = self._topics.get(lookup_id)
        if topic is None:
            topic = self._topics[lookup_id] = _Topic(key, f"{lookup_id}.{self.naming.domain}")
        topic.entries[port] += 1
        self._query(topic, now)

    def leave(self, key: bytes, port: int | None = None) -> None:
        """Undo one :meth:`join` with the same ``port``; nothing is sent (answers had TTL 0 anyway)."""
        topic = self._topics.get(self.naming.lookup_id(key))
        if topic is None or topic.entries[port] <= 0:
            return
        topic.entries[port] -= 1
        if topic.entries[port] == 0:
            del topic.entries[port]
        if not topic.entries:
            del self._topics[self.naming.lookup_id(key)]

    @property
    def keys(self) -> list[bytes]:
        return [t.key for t in self._topics.values()]

    def _query(self, topic: _Topic, now: float) -> None:
        packet = dns.Packet(questions=[dns.Question(topic.name, dns.TYPE_TXT, dns.CLASS_IN)])
        self._out.append(Datagram(dns.encode(packet)))
        base, jitter = self._requery
        topic.next_query = now + base + self._rand() * jitter

    # -- timers -----------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When :meth:`tick` has something to do next (None: nothing joined)."""
        return min((t.next_query for t in self._topics.values()), default=None)

    def tick(self, now: float) -> None:
        """Re-query every joined key whose 60-70 s are up."""
        for topic in list(self._topics.values()):
            if topic.next_query <= now:
                self._query(topic, now)

    # -- output -----------------------------------------------------------------------------------

    def datagrams_to_send(self) -> list[Datagram]:
        out, self._out = self._out, []
        return out

    def events(self) -> list[PeerFound]:
        out, self._events = self._events, []
        return out

    def token(self, host: str) -> str:
        """``base64(sha256(secret || host))``: our answers carry it; an answer with ours is our echo."""
        return base64.b64encode(hashlib.sha256(self._secret + host.encode()).digest()).decode()

    # -- input ------------------------------------------------------------------------------------

    def receive(self, data: bytes, source: tuple[str, int], now: float) -> None:
        """One datagram from ``source`` = (host, port).  Never raises on bad input (counted instead)."""
        try:
            packet = dns.decode(data)
        except dns.DnsError:
            self.stats["malformed"] += 1
            return
        self.stats["packets"] += 1
        host, port = source[0], source[1]
        budget = [self.max_peers_per_packet]
        if not packet.is_response:
            answers = [a for q in packet.questions for a in self._answer(q, host)]
            if answers:
                reply = dns.Packet(flags=dns.FLAG_RESPONSE | dns.FLAG_AUTHORITATIVE,
                                   questions=list(packet.questions), answers=answers)
                try:
                    self._out.append(Datagram(dns.encode(reply), port))
                except ValueError:  # a question we cannot echo (e.g. an over-long label)
                    self.stats["malformed"] += 1
        for record in packet.answers + packet.additionals:
            self._on_record(record, host, port, budget)

    def _answer(self, question: dns.Question, host: str) -> list[dns.Record]:
        lookup_id, domain = _split_name(question.name)
        if domain != self.naming.domain or not lookup_id:
            return []
        topic = self._topics.get(lookup_id)
        ports = topic.ports if topic is not None else []
        if not ports:
            return []
        if question.type == dns.TYPE_TXT:
            peers = encode_peers([("0.0.0.0", p) for p in ports[:MAX_PEERS_PER_STRING]])
            strings = [f"token={self.token(host)}".encode(), b"peers=" + base64.b64encode(peers)]
            return [dns.Record(question.name, dns.TYPE_TXT, strings, dns.CLASS_IN, self.ttl)]
        if question.type == dns.TYPE_SRV:
            return [dns.Record(question.name, dns.TYPE_SRV, dns.Srv(0, 0, p, "0.0.0.0"), dns.CLASS_IN, self.ttl)
                    for p in ports[:MAX_SRV_ANSWERS]]
        return []

    def _on_record(self, record: dns.Record, host: str, port: int, budget: list[int]) -> None:
        if record.type not in (dns.TYPE_TXT, dns.TYPE_SRV):
            return
        lookup_id, _domain = _split_name(record.name)
        if not lookup_id:
            self.stats["invalid"] += 1
            return
        topic = self._topics.get(lookup_id)
        if topic is None:
            self.stats["ignored"] += 1
            return
        if record.type == dns.TYPE_SRV:
            srv = record.data
            assert isinstance(srv, dns.Srv)
            if not _ipv4(srv.target):
                self.stats["invalid"] += 1
                return
            self._found(topic, host if srv.target == "0.0.0.0" else srv.target, srv.port or port, "srv", budget)
            return
        data = parse_txt(record.data)  # type: ignore[arg-type]
        if data.get("token") == self.token(host):
            self.stats["echo"] += 1
            return
        peers = data.get("peers")
        if not isinstance(peers, str):
            return
        raw = _lenient_b64decode(peers)
        records = decode_peers(raw, limit=max(budget[0], 0) + 1)
        for peer_host, peer_port in records:
            self._found(topic, host if peer_host == "0.0.0.0" else peer_host, peer_port, "txt", budget)
        if len(raw) // 6 > len(records):
            self.stats["peers_dropped"] += len(raw) // 6 - len(records)

    def _found(self, topic: _Topic, host: str, port: int, via: str, budget: list[int]) -> None:
        if budget[0] <= 0:
            self.stats["peers_dropped"] += 1
            return
        budget[0] -= 1
        if port == 0:
            self.stats["invalid"] += 1
            return
        self._events.append(PeerFound(topic.key, host, port, via))
