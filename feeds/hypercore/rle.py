"""bitfield-rle 2.2.1: the run-length encoding of bitfields in ``Have.bitfield``.

Stream of varint-led chunks (varint = protobuf unsigned LEB128):

* ``v & 1 == 0``: literal, the next ``v >> 1`` bytes are copied;
* ``v & 1 == 1``: run of ``v >> 2`` bytes, each ``0xFF`` if ``v & 2`` else ``0x00``.

The encoder reproduces the JS encoder's choices exactly (trailing zero bytes trimmed, a run is only
emitted when it is cheaper than leaving it inside a literal), so encoded bytes are identical.  Decoding
pads the output with zeros to a multiple of ``align`` (hypercore's replicator uses 4).

Hand-written: there is no Python package of this format, and it is ~60 lines.
"""

from __future__ import annotations

from ... import varint
from ...storage.base import Buffer

__all__ = ["encode", "decode", "RLEError"]


class RLEError(ValueError):
    """Malformed RLE input (message as in JS: ``Invalid RLE bitfield``)."""

    def __init__(self, message: str = "Invalid RLE bitfield") -> None:
        super().__init__(message)


def _varint_len(n: int) -> int:
    length = 1
    while n > 0x7F:
        n >>= 7
        length += 1
    return length


def encode(bitfield: Buffer) -> bytes:
    """RLE-encode ``bitfield`` exactly like bitfield-rle 2.2.1."""
    data = bytes(bitfield)
    n = len(data.rstrip(b"\x00"))
    if n == 0:
        return b""
    out = bytearray()
    in_off = 0
    run_len = 0
    run_byte = 0

    def maybe_emit_run(i: int, length: int, bit: int) -> None:
        nonlocal in_off
        head = i - length - in_off
        head_cost = _varint_len(2 * head) + head if head else 0
        code = 4 * length + (2 if bit else 0) + 1
        enc_cost = head_cost + _varint_len(code)
        base_cost = _varint_len(2 * (i - in_off)) + i - in_off
        if enc_cost >= base_cost:
            return
        if head:
            out.extend(varint.encode(2 * head))
            out.extend(data[in_off : i - length])
        out.extend(varint.encode(code))
        in_off = i

    i = 0
    while i < n:
        byte = data[i]
        if byte == run_byte:
            # fast-forward over the rest of the run
            j = i + 1
            while j < n and data[j] == run_byte:
                j += 1
            run_len += j - i
            i = j
            continue
        if run_len:
            maybe_emit_run(i, run_len, run_byte)
        if byte == 0 or byte == 0xFF:
            run_byte = byte
            run_len = 1
        else:
            run_len = 0
        i += 1
    if run_len:
        maybe_emit_run(n, run_len, run_byte)
    if in_off < n:
        out += varint.encode(2 * (n - in_off))
        out += data[in_off:n]
    return bytes(out)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    try:
        return varint.decode(buf, pos)
    except varint.VarintError:
        raise RLEError() from None


def decode(buf: bytes, align: int = 1, max_length: int | None = None) -> bytes:
    """Decode an RLE bitfield; pad with zeros to a multiple of ``align``.

    ``max_length`` (bytes) bounds the output so a hostile peer cannot make us allocate gigabytes;
    exceeding it raises :class:`RLEError`.
    """
    out = bytearray()
    pos = 0
    n = len(buf)
    while pos < n:
        v, pos = _read_varint(buf, pos)
        if v & 1:
            length = v >> 2
            if max_length is not None and len(out) + length > max_length:
                raise RLEError("RLE bitfield too large")
            out += (b"\xff" if v & 2 else b"\x00") * length
        else:
            length = v >> 1
            if pos + length > n:
                raise RLEError()
            if max_length is not None and len(out) + length > max_length:
                raise RLEError("RLE bitfield too large")
            out += buf[pos : pos + length]
            pos += length
    rem = len(out) % align if align > 1 else 0
    if rem:
        out += bytes(align - rem)
    return bytes(out)
