"""hyperparty: selective replication of feeds (a Python port of the 2019 Dat stack and the Wireline party).

The repository keeps its layers as top-level folders (storage/, protocol/, feeds/, party/); they are
installed as ``hyperparty.storage``, ``hyperparty.protocol``, ``hyperparty.feeds`` and ``hyperparty.party``.
"""

__version__ = "0.1.0"

from . import _native  # noqa: E402  (decides once whether the compiled hot path is used)

_native.install()
