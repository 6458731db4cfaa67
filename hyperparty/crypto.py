"""The cryptographic primitives every layer shares (libsodium's, as sodium-universal 2 exposes them).

* Ed25519 key pairs and detached signatures (``crypto_sign``), keys in libsodium layout
  (secret key = 32-byte seed || 32-byte public key), through PyNaCl so that the set of accepted
  signatures is exactly sodium-native's;
* the **discovery key** of a public key: BLAKE2b-256 keyed by the key, of the ASCII bytes ``hypercore``
  (what the wire and peer discovery show instead of the key);
* ``crypto_kdf_derive_from_key`` (BLAKE2b-``n`` keyed by the master key, salt = little-endian subkey id
  padded to 16 bytes, personal = the 8-byte context padded to 16 bytes), which hyperdrive and hyperdb use
  to derive content key pairs;
* ``crypto_shorthash`` (SipHash-2-4, 8 bytes), which hypertrie and hyperdb hash key segments with.

hypercore's tree hashes (leaf, parent, root) live with the log in ``feeds/hypercore/crypto.py``.
"""

from __future__ import annotations

import hashlib
import os

from nacl.bindings import (
    crypto_shorthash_siphash24,
    crypto_sign,
    crypto_sign_keypair,
    crypto_sign_open,
    crypto_sign_seed_keypair,
)
from nacl.exceptions import BadSignatureError, CryptoError

__all__ = [
    "key_pair",
    "sign",
    "verify",
    "discovery_key",
    "random_bytes",
    "kdf_derive_from_key",
    "shorthash",
]

_blake2b = hashlib.blake2b
_HYPERCORE = b"hypercore"


def key_pair(seed: bytes | None = None) -> tuple[bytes, bytes]:
    """``(public_key 32 B, secret_key 64 B)``; deterministic when a 32-byte ``seed`` is given."""
    if seed is None:
        return crypto_sign_keypair()
    if len(seed) != 32:
        raise ValueError("seed must be 32 bytes")
    return crypto_sign_seed_keypair(bytes(seed))


def sign(message: bytes, secret_key: bytes) -> bytes:
    """Ed25519 detached signature (64 bytes) of ``message``."""
    return crypto_sign(message, secret_key)[:64]


def verify(message: bytes, signature: bytes, public_key: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``message`` under ``public_key``."""
    if len(signature) != 64 or len(public_key) != 32:
        return False
    try:
        crypto_sign_open(bytes(signature) + bytes(message), bytes(public_key))
    except (BadSignatureError, CryptoError, ValueError):
        return False
    return True


def discovery_key(public_key: bytes) -> bytes:
    """The discovery key announced on the wire instead of the public key."""
    return _blake2b(_HYPERCORE, digest_size=32, key=bytes(public_key)).digest()


def random_bytes(n: int) -> bytes:
    """``n`` cryptographically random bytes."""
    return os.urandom(n)


def kdf_derive_from_key(length: int, subkey_id: int, context: bytes, key: bytes) -> bytes:
    """libsodium ``crypto_kdf_derive_from_key(length, subkey_id, context, key)`` (BLAKE2b KDF).

    ``context`` is 8 bytes (e.g. ``b"hyperdri"``), ``key`` the 32-byte master key, ``length`` 16..64.
    """
    if len(context) != 8:
        raise ValueError("a KDF context is 8 bytes")
    if len(key) != 32:
        raise ValueError("a KDF master key is 32 bytes")
    if not 16 <= length <= 64:
        raise ValueError("a derived key is 16 to 64 bytes")
    salt = subkey_id.to_bytes(8, "little") + bytes(8)
    person = bytes(context) + bytes(8)
    return _blake2b(b"", digest_size=length, key=bytes(key), salt=salt, person=person).digest()


def shorthash(data: bytes, key: bytes) -> bytes:
    """libsodium ``crypto_shorthash`` (SipHash-2-4): 8 bytes of ``data`` keyed by a 16-byte ``key``."""
    return crypto_shorthash_siphash24(bytes(data), bytes(key))
