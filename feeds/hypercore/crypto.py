"""hypercore-crypto 1.0.0 in Python: key pairs, signatures, BLAKE2b tree hashes, discovery keys.

* leaf hash   = BLAKE2b-256(0x00 || u64be(len(block)) || block)
* parent hash = BLAKE2b-256(0x01 || u64be(left.size + right.size) || left.hash || right.hash)
* tree hash   = BLAKE2b-256(0x02 || for each root in ascending index: hash || u64be(index) || u64be(size))
* discovery key = BLAKE2b-256(key=public key, message=b"hypercore")
* signatures are Ed25519 detached (libsodium via PyNaCl), keys in libsodium layout (secret key = seed || pk).

Hashing uses :func:`hashlib.blake2b` directly (the hot path of appends); Ed25519 uses PyNaCl's libsodium
bindings so that the set of accepted signatures is exactly sodium-native's.
"""

from __future__ import annotations

import hashlib
import os
from typing import Iterable

from nacl.bindings import (
    crypto_sign,
    crypto_sign_keypair,
    crypto_sign_open,
    crypto_sign_seed_keypair,
)
from nacl.exceptions import BadSignatureError, CryptoError

__all__ = [
    "LEAF_TYPE",
    "PARENT_TYPE",
    "ROOT_TYPE",
    "key_pair",
    "sign",
    "verify",
    "leaf_hash",
    "parent_hash",
    "tree_hash",
    "discovery_key",
    "random_bytes",
]

LEAF_TYPE = b"\x00"
PARENT_TYPE = b"\x01"
ROOT_TYPE = b"\x02"

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


def leaf_hash(data: bytes) -> bytes:
    """Hash of a block (merkle leaf)."""
    return _blake2b(LEAF_TYPE + len(data).to_bytes(8, "big") + data, digest_size=32).digest()


def parent_hash(left_hash: bytes, right_hash: bytes, size: int) -> bytes:
    """Hash of a parent whose children have ``left_hash``/``right_hash`` and ``size`` bytes in total."""
    return _blake2b(PARENT_TYPE + size.to_bytes(8, "big") + left_hash + right_hash, digest_size=32).digest()


def tree_hash(roots: Iterable) -> bytes:
    """The root hash (what is signed) of ``roots`` (objects with ``index``/``hash``/``size``, ascending)."""
    parts = [ROOT_TYPE]
    for root in roots:
        parts.append(root.hash)
        parts.append(root.index.to_bytes(8, "big"))
        parts.append(root.size.to_bytes(8, "big"))
    return _blake2b(b"".join(parts), digest_size=32).digest()


def discovery_key(public_key: bytes) -> bytes:
    """The discovery key announced on the wire instead of the public key."""
    return _blake2b(_HYPERCORE, digest_size=32, key=bytes(public_key)).digest()


def random_bytes(n: int) -> bytes:
    """``n`` cryptographically random bytes."""
    return os.urandom(n)
