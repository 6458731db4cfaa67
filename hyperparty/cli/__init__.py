"""The ``hyperparty`` command line: one module per command group, shared pieces in :mod:`.common`.

Every command prints JSON lines on stdout (one object per line) and human-readable errors on stderr with
a non-zero exit status (policy: :mod:`.common`, :mod:`.app`).

Adding a command group: write ``hyperparty/cli/<group>.py`` with ``def register(cli: CommandLine) -> None``
that calls ``cli.group((<group>,), help)`` and :meth:`CommandLine.add` for each command, then add its
module name to ``GROUPS`` below.  Keep the module light at import time (import feeds inside the
commands) so ``hyperparty --help`` stays fast; serve/fetch go through :mod:`hyperparty.feeds.porcelain`.
"""

from __future__ import annotations

import importlib
from typing import Sequence

from .app import CommandLine
from .common import CommandError, emit

__all__ = ["CommandLine", "CommandError", "emit", "GROUPS", "build", "main"]

#: Group modules of this package, each with ``register(cli)``, in ``--help`` order.
GROUPS: tuple[str, ...] = ("core", "drive", "chat", "party", "demo")


def build() -> CommandLine:
    """A :class:`CommandLine` with every module of ``GROUPS`` registered."""
    cli = CommandLine()
    for name in GROUPS:
        importlib.import_module(f".{name}", __name__).register(cli)
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hyperparty`` script (``python -m hyperparty``, ``python -m hyperparty.cli``)."""
    return build().run(argv)

