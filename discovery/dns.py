"""A small DNS message codec (RFC 1035), byte-compatible with dns-packet 4.2.0 / 5.6.1 as multicast-dns uses it.

Only what LAN discovery needs, with the standard library:

* Header: ``id`` (u16), ``flags`` (u16; QR = 0x8000 marks a response, AA = 0x0400), four section counts.
* Question: name, type (u16), class (u16, kept raw: the mDNS "QU" bit 0x8000 stays in it).
* Resource record: name, type, class (raw; the mDNS cache-flush bit stays in it), ttl (u32), rdata.
  TXT rdata = a sequence of ``<len u8><bytes>`` strings; SRV rdata = priority, weight, port (u16 each)
  and a target name.  Records of any other type keep their raw rdata.

Encoding writes names without compression, like dns-packet (a 68-byte query for a Dat name).  Decoding
follows compression pointers, but only backwards (each pointer must point before the label that holds
it, as dns-packet 5 demands), so a hostile packet cannot loop; names longer than 254 bytes, labels with
the reserved 0x40/0x80 prefixes, truncated sections, TXT strings running past their record and SRV records
too short for their fixed fields raise :class:`DnsError` (the whole packet is dropped, as multicast-dns
drops a packet dns-packet cannot decode).  Labels are decoded as UTF-8 with replacement characters and
joined with ``.`` (dns-packet's behaviour).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

__all__ = [
    "DnsError",
    "Question",
    "Record",
    "Srv",
    "Packet",
    "decode",
    "encode",
    "encode_name",
    "TYPE_A",
    "TYPE_TXT",
    "TYPE_SRV",
    "CLASS_IN",
    "FLAG_RESPONSE",
    "FLAG_AUTHORITATIVE",
]

TYPE_A = 1
TYPE_TXT = 16
TYPE_SRV = 33
CLASS_IN = 1
FLAG_RESPONSE = 0x8000
FLAG_AUTHORITATIVE = 0x0400

MAX_NAME = 254  # dns-packet: the sum of (label length + 1) may not exceed 254


class DnsError(ValueError):
    """The bytes are not a DNS message this codec can read."""


@dataclass(frozen=True)
class Question:
    name: str
    type: int = TYPE_TXT
    klass: int = CLASS_IN


@dataclass(frozen=True)
class Srv:
    priority: int
    weight: int
    port: int
    target: str


@dataclass(frozen=True)
class Record:
    """A resource record.  ``data``: list of bytes strings (TXT), :class:`Srv` (SRV) or raw rdata bytes."""

    name: str
    type: int
    data: object
    klass: int = CLASS_IN
    ttl: int = 0


@dataclass
class Packet:
    id: int = 0
    flags: int = 0
    questions: list[Question] = field(default_factory=list)
    answers: list[Record] = field(default_factory=list)
    authorities: list[Record] = field(default_factory=list)
    additionals: list[Record] = field(default_factory=list)

    @property
    def is_response(self) -> bool:
        return bool(self.flags & FLAG_RESPONSE)


# -- encoding -----------------------------------------------------------------------------------------


def encode_name(name: str) -> bytes:
    """Labels of ``name`` (leading/trailing dots stripped), each ``<len><bytes>``, then a zero byte."""
    stripped = name.strip(".")
    out = bytearray()
    if stripped:
        for label in stripped.split("."):
            raw = label.encode()
            if not 0 < len(raw) <= 63:
                raise ValueError(f"bad DNS label {label!r} in {name!r}")
            out.append(len(raw))
            out += raw
    out.append(0)
    if len(out) > MAX_NAME + 1:
        raise ValueError(f"DNS name too long: {name!r}")
    return bytes(out)


def _encode_rdata(record: Record) -> bytes:
    if record.type == TYPE_TXT and isinstance(record.data, (list, tuple)):
        out = bytearray()
        for s in record.data:
            s = s.encode() if isinstance(s, str) else bytes(s)
            if len(s) > 255:
                raise ValueError("a TXT string is at most 255 bytes")
            out.append(len(s))
            out += s
        return bytes(out)
    if record.type == TYPE_SRV and isinstance(record.data, Srv):
        d = record.data
        return struct.pack(">HHH", d.priority, d.weight, d.port) + encode_name(d.target)
    if isinstance(record.data, (bytes, bytearray, memoryview)):
        return bytes(record.data)
    raise ValueError(f"cannot encode rdata {record.data!r} for type {record.type}")


def _encode_record(record: Record) -> bytes:
    rdata = _encode_rdata(record)
    if len(rdata) > 0xFFFF:
        raise ValueError("rdata too long")
    return encode_name(record.name) + struct.pack(">HHIH", record.type, record.klass, record.ttl, len(rdata)) + rdata


def encode(packet: Packet) -> bytes:
    """The wire bytes of ``packet`` (no name compression)."""
    out = bytearray(struct.pack(
        ">HHHHHH", packet.id, packet.flags, len(packet.questions), len(packet.answers),
        len(packet.authorities), len(packet.additionals)))
    for q in packet.questions:
        out += encode_name(q.name) + struct.pack(">HH", q.type, q.klass)
    for section in (packet.answers, packet.authorities, packet.additionals):
        for r in section:
            out += _encode_record(r)
    return bytes(out)


# -- decoding -----------------------------------------------------------------------------------------


def _decode_name(buf: bytes, offset: int) -> tuple[str, int]:
    """Name at ``offset``; returns (name, offset after it in the original position)."""
    labels: list[str] = []
    total = 0
    end: int | None = None
    floor = offset  # a pointer must point strictly before the position it was found at
    n = len(buf)
    while True:
        if offset >= n:
            raise DnsError("name runs past the end of the packet")
        length = buf[offset]
        if length == 0:
            offset += 1
            break
        kind = length & 0xC0
        if kind == 0:
            start = offset + 1
            if start + length > n:
                raise DnsError("label runs past the end of the packet")
            total += length + 1
            if total > MAX_NAME:
                raise DnsError("name too long")
            labels.append(buf[start:start + length].decode("utf-8", "replace"))
            offset = start + length
        elif kind == 0xC0:
            if offset + 1 >= n:
                raise DnsError("truncated compression pointer")
            target = ((length & 0x3F) << 8) | buf[offset + 1]
            if target >= floor:
                raise DnsError("compression pointer does not point backwards")
            if end is None:
                end = offset + 2
            offset = floor = target
        else:
            raise DnsError("reserved label type")
    return (".".join(labels) if labels else "."), (end if end is not None else offset)


def _decode_txt(rdata: bytes) -> list[bytes]:
    strings = []
    i = 0
    while i < len(rdata):
        length = rdata[i]
        i += 1
        if i + length > len(rdata):
            raise DnsError("TXT string runs past its record")
        strings.append(rdata[i:i + length])
        i += length
    return strings


def _decode_record(buf: bytes, offset: int) -> tuple[Record, int]:
    name, offset = _decode_name(buf, offset)
    if offset + 10 > len(buf):
        raise DnsError("truncated record header")
    rtype, klass, ttl, rdlen = struct.unpack_from(">HHIH", buf, offset)
    offset += 10
    if offset + rdlen > len(buf):
        raise DnsError("rdata runs past the end of the packet")
    rdata = buf[offset:offset + rdlen]
    data: object
    if rtype == TYPE_TXT:
        data = _decode_txt(rdata)
    elif rtype == TYPE_SRV:
        if rdlen < 7:
            raise DnsError("SRV record too short")
        priority, weight, port = struct.unpack_from(">HHH", buf, offset)
        target, _ = _decode_name(buf, offset + 6)
        data = Srv(priority, weight, port, target)
    else:
        data = bytes(rdata)
    return Record(name, rtype, data, klass, ttl), offset + rdlen


def decode(data: bytes) -> Packet:
    """Parse one DNS message; raises :class:`DnsError` on anything malformed."""
    buf = bytes(data)
    if len(buf) < 12:
        raise DnsError("shorter than a DNS header")
    ident, flags, qd, an, ns, ar = struct.unpack_from(">HHHHHH", buf, 0)
    # every question takes at least 5 bytes and every record 11: reject impossible counts up front
    if 12 + 5 * qd + 11 * (an + ns + ar) > len(buf):
        raise DnsError("section counts exceed the packet")
    packet = Packet(ident, flags)
    offset = 12
    for _ in range(qd):
        name, offset = _decode_name(buf, offset)
        if offset + 4 > len(buf):
            raise DnsError("truncated question")
        qtype, qclass = struct.unpack_from(">HH", buf, offset)
        offset += 4
        packet.questions.append(Question(name, qtype, qclass))
    for count, section in ((an, packet.answers), (ns, packet.authorities), (ar, packet.additionals)):
        for _ in range(count):
            record, offset = _decode_record(buf, offset)
            section.append(record)
    return packet
