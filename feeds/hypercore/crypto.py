"""hypercore-crypto 1.0.0 in Python: key pairs, signatures, BLAKE2b tree hashes, discovery keys.

* leaf hash   = BLAKE2b-256(0x00 || u64be(len(block)) || block)
* parent hash = BLAKE2b-256(0x01 || u64be(left.size + right.size) || left.hash || right.hash)
* tree hash   = BLAKE2b-256(0x02 || for each root in ascending index: hash || u64be(index) || u64be(size))

Hashing uses :func:`hashlib.blake2b` directly (the hot path of appends).  Key pairs, signatures and the
discovery key are the shared primitives of :mod:`hyperparty.crypto`, used from here by the log.
"""

from __future__ import annotations

import hashlib
from typing import Iterable

from ...crypto import discovery_key, key_pair, random_bytes, sign, verify

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



