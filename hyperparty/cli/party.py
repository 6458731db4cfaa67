"""``hyperparty party ...``: party keys.

* ``party new`` -> ``{"party": KEY}``: a fresh random 32-byte party key (hex).  Give it to every member
  (``hyperparty chat --party KEY``); whoever knows it can join the party, so share it like a password.
"""

from __future__ import annotations

import argparse
import secrets
from typing import TYPE_CHECKING

from .common import KEY_BYTES, emit

if TYPE_CHECKING:  # pragma: no cover
    from .app import CommandLine

__all__ = ["register"]


def _new(args: argparse.Namespace) -> int:
    emit({"party": secrets.token_bytes(KEY_BYTES).hex()})
    return 0


def register(cli: "CommandLine") -> None:
    """Add the ``party`` group: ``new``."""
    cli.group(("party",), "parties: make a party key")
    cli.add(("party", "new"), _new, help="print a fresh party key (share it with the other members)")
