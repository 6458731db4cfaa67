"""The party engine: selective replication of feeds between peers, decided by rules.

Names are imported lazily so that light modules of this package (the codec, the errors) load without the
whole protocol stack.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Party": ".party",
    "PartyMap": ".party_map",
    "Peer": ".peer",
    "Rules": ".rules",
    "PartyError": ".errors",
    "PartyExtensionMissing": ".errors",
    "PeerClosed": ".errors",
    "TransactionTimeout": ".errors",
    "UnauthorizedFeed": ".errors",
    "UnknownParty": ".errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
