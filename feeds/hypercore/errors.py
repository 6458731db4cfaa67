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


#: What every damage message ends with: the way out.
REPAIR_HINT = ("nothing was written; `hyperparty core audit` shows what is bad and `hyperparty core repair` "
               "keeps what verifies")


class DamagedFeedError(CorruptStorageError):
    """The stored feed is damaged beyond an interrupted last write (a lost key file, a bitfield, tree or
    signatures file that lost more than the last batch, a damaged secret key): opening refuses rather than
    write over what it could not verify.  ``problems`` lists what was found (see ``integrity.Problem``);
    ``Hypercore(..., allow_damaged=True)`` opens such a feed read-only for ``audit``/``repair``."""

    default_message = "The stored feed is damaged; " + REPAIR_HINT

    def __init__(self, message: str | None = None, problems: "list | tuple" = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class MissingKeyError(DamagedFeedError):
    """The ``key`` file is missing (or truncated) although the storage holds a feed (a ``secret_key``,
    tree, signatures or bitfield): a new key pair would lose the writer's identity or orphan the data."""

    default_message = "The key file is missing; " + REPAIR_HINT


class SecretKeyError(DamagedFeedError):
    """The secret key does not make signatures the public key verifies (a damaged ``secret_key`` seed):
    appends are refused before anything is written."""

    default_message = "The secret key does not match the public key; nothing was written"


class ReadOnlyFeedError(HypercoreError):
    """A write (append, verified put, clear, repair) on a feed opened with ``read_only=True``."""

    default_message = "This feed was opened read-only"


class BlockTooLargeError(HypercoreError, ValueError):
    """An appended block is larger than one protocol message can carry (it could never replicate)."""

    default_message = "Block is too large to replicate"


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


class DamagedSignatureError(DamagedFeedError, LocalSignatureError):
    """Opening found a stored signature that does not verify against the stored tree roots (a flipped
    signature or root node, or the wrong key): a :class:`DamagedFeedError` and a :class:`LocalSignatureError`."""

    default_message = "The stored signature does not verify; " + REPAIR_HINT


__all__ = [name for name in dir() if name.endswith(("Error", "NotAvailable"))] + ["REPAIR_HINT"]
