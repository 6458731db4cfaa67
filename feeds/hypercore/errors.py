"""Exceptions raised by the hypercore port.

Each class carries, as its default message, the exact error string hypercore 7.7.1 uses for the same
situation, so logs and cross-checks against the JS implementation read the same.  Code should test the
class, not the message.
"""

from __future__ import annotations


class HypercoreError(Exception):
    """Base class of every hypercore error."""

    default_message = "Hypercore error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message if message is not None else self.default_message)

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.default_message


# --- opening / state -----------------------------------------------------------------------------


class AnotherHypercoreError(HypercoreError):
    """The storage holds a feed with a different public key than the one given."""

    default_message = "Another hypercore is stored here"


class NoHypercoreError(HypercoreError):
    """``create_if_missing=False`` and the storage holds no feed."""

    default_message = "No hypercore is stored here"


class NotWritableError(HypercoreError):
    """Append on a feed without a secret key."""

    default_message = "This feed is not writable. Did you create it?"


class FeedNotWritableError(HypercoreError):
    """``writable=True`` was asked for, but there is no secret key."""

    default_message = "Feed is not writable"


class FeedClosedError(HypercoreError):
    """The feed was used after ``close()`` (also the error of pending ``get``/``download`` waits)."""

    default_message = "Feed is closed"


class NotOpenError(HypercoreError):
    """A synchronous call was made before ``await ready()``."""

    default_message = "Feed is not ready (await ready() first)"


class CorruptStorageError(HypercoreError):
    """A storage file has bytes that cannot be a hypercore file (bad header, impossible sizes)."""

    default_message = "Corrupt hypercore storage"


# --- reading --------------------------------------------------------------------------------------


class NodeNotFoundError(HypercoreError):
    """A tree node slot is blank (all zero)."""

    default_message = "No node found"


class SignatureNotFoundError(HypercoreError):
    """A signature slot is blank (all zero)."""

    default_message = "No signature found"


class BlockNotAvailable(HypercoreError):
    """``get(index, wait=False)`` for a block that is not stored locally."""

    default_message = "Block not downloaded"


class NoProofError(HypercoreError):
    """``proof()`` for a block whose tree node is not stored locally."""

    default_message = "No proof available for this index"


class RequestCancelledError(HypercoreError):
    """A pending ``get``/``download`` was cancelled."""

    default_message = "Request cancelled"


class GetTimeoutError(HypercoreError, TimeoutError):
    """A ``get``/``download``/``update`` with ``timeout=`` did not complete in time."""

    default_message = "ETIMEDOUT"


# --- verification (all subclasses of VerificationError) -------------------------------------------


class VerificationError(HypercoreError):
    """Data, tree nodes or a signature failed verification.  Nothing was written."""

    default_message = "Verification failed"


class SignatureVerificationError(VerificationError):
    """A remote signature does not match the roots it claims to sign."""

    default_message = "Remote signature could not be verified"


class ChecksumError(VerificationError):
    """Unsigned roots do not hash to the feed key (static feeds)."""

    default_message = "Remote checksum failed"


class MissingRootsError(VerificationError):
    """A proof lacks roots needed to check the signature, and they are not stored locally."""

    default_message = "Missing tree roots needed for verify"


class MissingSignatureError(VerificationError):
    """A proof that needed a signature came without one."""

    default_message = "Remote did not include a signature"


class DataSizeError(VerificationError):
    """Block bytes of a different size than the tree says."""

    default_message = "Unexpected data size"


class BlockChecksumError(VerificationError):
    """A stored block does not hash to its stored tree node (corrupt data or tree file)."""

    default_message = "Block does not match its tree node"


class LocalSignatureError(VerificationError):
    """The stored signature does not verify against the stored roots."""

    default_message = "Signature verification failed"


__all__ = [name for name in dir() if name.endswith(("Error", "NotAvailable"))]
