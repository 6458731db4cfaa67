"""hypertrie 3 (JS hypertrie 3.8.0) in Python: a single-writer hash-trie key/value store on one hypercore.

:class:`Hypertrie` is the db (a :class:`~hyperparty.feeds.Feed`); the modules below it each do one job:
``messages`` (Header/Node protobufs), ``path`` (key normalisation, segments, SipHash path), ``trie_encoding``
(the per-node trie and its buffer), ``node``, ``fetch`` (nodes by seq, cached), ``get``/``put``/``delete``
(the walks that decide the bytes), ``iterator``, ``diff``, ``watch``, ``reader`` (read API and checkouts),
``codecs`` (value encodings), ``errors``.
"""

from .codecs import get_encoding
from .entry import DiffEntry, Entry
from .errors import BadPointerError, BeyondFeedError, CorruptNodeError, HypertrieError, NotAHypertrieError
from .hypertrie import Hypertrie
from .messages import Header, NodeMessage
from .node import Node
from .reader import Checkout, TrieReader
from .watch import Watcher

__all__ = [
    "Hypertrie",
    "Checkout",
    "TrieReader",
    "Entry",
    "DiffEntry",
    "Watcher",
    "Header",
    "NodeMessage",
    "Node",
    "HypertrieError",
    "CorruptNodeError",
    "BadPointerError",
    "BeyondFeedError",
    "NotAHypertrieError",
    "get_encoding",
]
