"""The XSalsa20 key stream that encrypts a hypercore-protocol 6 connection.

Each direction is ``crypto_stream_xsalsa20_xor(key, nonce)`` as one continuous key stream (position kept
across writes, partial 64-byte blocks included): key = the first channel's 32-byte public key, nonce =
the sender's 24-byte nonce from its first Feed message, block counter from 0.  No MAC.

XSalsa20 = Salsa20 keyed with ``HSalsa20(key, nonce[:16])`` and nonce ``nonce[16:]``.  PyNaCl exposes
neither ``crypto_stream_xsalsa20_xor`` nor ``crypto_core_hsalsa20``, so:

* the Salsa20 stream comes from PyCryptodome (``Crypto.Cipher.Salsa20``, C, maintained; it keeps the
  stream position across calls, which is exactly the JS behaviour), and
* HSalsa20 is written here (20 rounds of the Salsa20 core over constants, key and the first 16 nonce
  bytes, output words 0, 5, 10, 15, 6, 7, 8, 9).  It runs once per connection direction, so pure Python
  costs nothing measurable; it is checked against key streams recorded from JS (tests/test_protocol_*).
"""

from __future__ import annotations

import struct

from Crypto.Cipher import Salsa20

__all__ = ["hsalsa20", "XSalsa20", "NONCE_BYTES", "KEY_BYTES"]

NONCE_BYTES = 24
KEY_BYTES = 32
_SIGMA = struct.unpack("<4I", b"expand 32-byte k")
_M = 0xFFFFFFFF


def _rotl(v: int, c: int) -> int:
    return ((v << c) & _M) | (v >> (32 - c))


def hsalsa20(key: bytes, nonce16: bytes) -> bytes:
    """HSalsa20: derive the 32-byte XSalsa20 subkey from ``key`` and the first 16 bytes of the nonce."""
    if len(key) != 32 or len(nonce16) != 16:
        raise ValueError("hsalsa20 needs a 32-byte key and a 16-byte nonce")
    k = struct.unpack("<8I", key)
    n = struct.unpack("<4I", nonce16)
    x = [_SIGMA[0], k[0], k[1], k[2], k[3], _SIGMA[1], n[0], n[1],
         n[2], n[3], _SIGMA[2], k[4], k[5], k[6], k[7], _SIGMA[3]]
    for _ in range(10):
        # column round
        x[4] ^= _rotl((x[0] + x[12]) & _M, 7); x[8] ^= _rotl((x[4] + x[0]) & _M, 9)
        x[12] ^= _rotl((x[8] + x[4]) & _M, 13); x[0] ^= _rotl((x[12] + x[8]) & _M, 18)
        x[9] ^= _rotl((x[5] + x[1]) & _M, 7); x[13] ^= _rotl((x[9] + x[5]) & _M, 9)
        x[1] ^= _rotl((x[13] + x[9]) & _M, 13); x[5] ^= _rotl((x[1] + x[13]) & _M, 18)
        x[14] ^= _rotl((x[10] + x[6]) & _M, 7); x[2] ^= _rotl((x[14] + x[10]) & _M, 9)
        x[6] ^= _rotl((x[2] + x[14]) & _M, 13); x[10] ^= _rotl((x[6] + x[2]) & _M, 18)
        x[3] ^= _rotl((x[15] + x[11]) & _M, 7); x[7] ^= _rotl((x[3] + x[15]) & _M, 9)
        x[11] ^= _rotl((x[7] + x[3]) & _M, 13); x[15] ^= _rotl((x[11] + x[7]) & _M, 18)
        # row round
        x[1] ^= _rotl((x[0] + x[3]) & _M, 7); x[2] ^= _rotl((x[1] + x[0]) & _M, 9)
        x[3] ^= _rotl((x[2] + x[1]) & _M, 13); x[0] ^= _rotl((x[3] + x[2]) & _M, 18)
        x[6] ^= _rotl((x[5] + x[4]) & _M, 7); x[7] ^= _rotl((x[6] + x[5]) & _M, 9)
        x[4] ^= _rotl((x[7] + x[6]) & _M, 13); x[5] ^= _rotl((x[4] + x[7]) & _M, 18)
        x[11] ^= _rotl((x[10] + x[9]) & _M, 7); x[8] ^= _rotl((x[11] + x[10]) & _M, 9)
        x[9] ^= _rotl((x[8] + x[11]) & _M, 13); x[10] ^= _rotl((x[9] + x[8]) & _M, 18)
        x[12] ^= _rotl((x[15] + x[14]) & _M, 7); x[13] ^= _rotl((x[12] + x[15]) & _M, 9)
        x[14] ^= _rotl((x[13] + x[12]) & _M, 13); x[15] ^= _rotl((x[14] + x[13]) & _M, 18)
    return struct.pack("<8I", x[0], x[5], x[10], x[15], x[6], x[7], x[8], x[9])


class XSalsa20:
    """One direction's continuous XSalsa20 key stream: ``xor(data)`` en/decrypts the next bytes."""

    __slots__ = ("_cipher",)

    def __init__(self, key: bytes, nonce: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError("XSalsa20 key must be 32 bytes")
        if len(nonce) != NONCE_BYTES:
            raise ValueError("XSalsa20 nonce must be 24 bytes")
        self._cipher = Salsa20.new(key=hsalsa20(bytes(key), bytes(nonce[:16])), nonce=bytes(nonce[16:]))

    def xor(self, data) -> bytes:
        """XOR ``data`` with the next ``len(data)`` key-stream bytes."""
        if not data:
            return b""
        return self._cipher.encrypt(data)
