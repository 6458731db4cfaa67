"""The content feed's key pair, derived from the metadata secret key (hyperdrive 9.16.0 ``contentKeyPair``).

``seed = crypto_kdf_derive_from_key(32, subkey_id=1, context="hyperdri", key=secret_key[:32])`` and the
key pair is ``crypto_sign_seed_keypair(seed)``.  libsodium keys the KDF with the first 32 bytes of the
64-byte Ed25519 secret key (its seed), which is what JS passes without trimming.
"""

from __future__ import annotations

from hyperparty import crypto

__all__ = ["content_key_pair", "CONTEXT", "SUBKEY_ID"]

CONTEXT = b"hyperdri"
SUBKEY_ID = 1


def content_key_pair(metadata_secret_key: bytes) -> tuple[bytes, bytes]:
    """``(public_key, secret_key)`` of the content feed of the drive whose metadata secret key is given."""
    if len(metadata_secret_key) != 64:
        raise ValueError("a metadata secret key is 64 bytes (seed || public key)")
    seed = crypto.kdf_derive_from_key(32, SUBKEY_ID, CONTEXT, bytes(metadata_secret_key[:32]))
    return crypto.key_pair(seed)
