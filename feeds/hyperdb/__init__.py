"""hyperdb 3.5.0 in Python: a multi-writer key/value database on hypercores (see ``db.py``).

Modules: ``messages`` (protobuf blocks), ``keys`` (hash paths), ``trie`` (pointer encoding), ``node``,
``writer`` (one writer: feeds list, maps, decoding), ``writers`` (local ids, authorization, lazy opening),
``cache`` (decoded nodes), ``walk`` (deterministic read ordering), ``put`` / ``get`` (the trie walks),
``iterator``, ``history``, ``diff``, ``watch``, ``steps`` (async iteration), ``view`` (the read API shared
with checkouts), ``replication`` (writers learned during replication, the Feed hooks), ``codecs`` (value
encodings), ``sync`` (copying writers between two local dbs without a stream), ``errors``.
"""

from .db import HyperDB
from .errors import (
    CorruptEntryError,
    DBClosedError,
    HyperDBError,
    InvalidVersionError,
    MissingFeedMappingsError,
    NotReadyError,
    ReadOnlyCheckoutError,
    ReadTimeoutError,
)
from .node import Node
from .view import Checkout

__all__ = [
    "HyperDB",
    "Checkout",
    "Node",
    "HyperDBError",
    "CorruptEntryError",
    "MissingFeedMappingsError",
    "InvalidVersionError",
    "ReadOnlyCheckoutError",
    "ReadTimeoutError",
    "NotReadyError",
    "DBClosedError",
]
