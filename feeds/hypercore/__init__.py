"""hypercore 7.7.1 in Python: a signed append-only log, byte-compatible with the JS files and proofs.

``Hypercore`` is the feed; the modules below it each implement one piece of the JS stack:
``flat_tree`` (index math), ``crypto`` (tree hashes), ``rle``
(bitfield-rle), ``bitfield`` (the persisted page layout), ``tree_index`` (proof/digest logic), ``format``
(file headers and slots), ``verify`` (checking a block against a proof), ``integrity`` (open-time
signature check, torn-tail recovery, audit), ``selections`` (download/wait bookkeeping),
``errors``.
"""

from .core import Hypercore, Node, Proof
from .errors import (
    AnotherHypercoreError,
    BlockChecksumError,
    BlockNotAvailable,
    BlockTooLargeError,
    ChecksumError,
    CorruptStorageError,
    DamagedFeedError,
    DataSizeError,
    FeedClosedError,
    FeedNotWritableError,
    GetTimeoutError,
    HypercoreError,
    LocalSignatureError,
    MissingKeyError,
    MissingRootsError,
    MissingSignatureError,
    NodeNotFoundError,
    NoHypercoreError,
    NoProofError,
    NotOpenError,
    NotWritableError,
    ReadOnlyFeedError,
    RequestCancelledError,
    SecretKeyError,
    SignatureNotFoundError,
    SignatureVerificationError,
    VerificationError,
)
from .selections import Selection, Waiting
from .tree_index import TreeIndex

__all__ = [
    "Hypercore",
    "Node",
    "Proof",
    "TreeIndex",
    "Selection",
    "Waiting",
    "AnotherHypercoreError",
    "BlockChecksumError",
    "BlockNotAvailable",
    "BlockTooLargeError",
    "ChecksumError",
    "CorruptStorageError",
    "DamagedFeedError",
    "DataSizeError",
    "FeedClosedError",
    "FeedNotWritableError",
    "GetTimeoutError",
    "HypercoreError",
    "LocalSignatureError",
    "MissingKeyError",
    "MissingRootsError",
    "MissingSignatureError",
    "NodeNotFoundError",
    "NoHypercoreError",
    "NoProofError",
    "NotOpenError",
    "NotWritableError",
    "ReadOnlyFeedError",
    "RequestCancelledError",
    "SecretKeyError",
    "SignatureNotFoundError",
    "SignatureVerificationError",
    "VerificationError",
]
