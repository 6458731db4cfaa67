"""The command registry: argparse subcommands collected from the group modules.

Commands are paths of words: ``("core", "init")`` becomes ``hyperparty core init``.  A command's
``run(args)`` may be a plain function or a coroutine function (run with :func:`asyncio.run`); it returns
an exit status or None (0).  Errors follow the policy in :mod:`hyperparty.cli.common`: a
:class:`CommandError`, ``OSError`` or ``ValueError`` prints ``hyperparty: error: <message>``; any other
library error prints the same with its class name; both exit 1.  Ctrl-C exits 130, a closed stdout 0.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .. import __version__
from .common import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CommandError

__all__ = ["CommandLine"]


@dataclass
class _Group:
    parser: argparse.ArgumentParser
    subparsers: Any = None
    children: dict[str, "_Group"] = field(default_factory=dict)


class CommandLine:
    """The registry of commands, building one argparse parser."""

    def __init__(self, prog: str = "hyperparty") -> None:
        self.parser = argparse.ArgumentParser(
            prog=prog,
            description="Selective replication of feeds (hypercore 7, hypercore-protocol 6, party).",
        )
        self.parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
        self._root = _Group(self.parser)

    def _child(self, group: _Group, word: str, depth: int, help: str) -> _Group:
        if word not in group.children:
            if group.subparsers is None:
                group.subparsers = group.parser.add_subparsers(dest=f"_command_{depth}", metavar="COMMAND")
                group.subparsers.required = True
            parser = group.subparsers.add_parser(word, help=help, description=help or None)
            group.children[word] = _Group(parser)
        return group.children[word]

    def group(self, path: Sequence[str], help: str) -> None:
        """Declare the group ``path`` (e.g. ``("trie",)``) with its help text, before adding its commands."""
        group = self._root
        for depth, word in enumerate(path):
            group = self._child(group, word, depth, help if depth == len(path) - 1 else f"{word} commands")

    def add(
        self,
        path: Sequence[str],
        run: Callable[[argparse.Namespace], Any],
        *,
        help: str = "",
        arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    ) -> argparse.ArgumentParser:
        """Register the command ``path`` (e.g. ``("core", "append")``); returns its parser."""
        if not path:
            raise ValueError("a command needs a name")
        group = self._root
        for depth, word in enumerate(path[:-1]):
            group = self._child(group, word, depth, f"{word} commands")
        if path[-1] in group.children:
            raise ValueError(f"command {' '.join(path)!r} is registered twice")
        command = self._child(group, path[-1], len(path) - 1, help)
        if arguments is not None:
            arguments(command.parser)
        command.parser.set_defaults(_run=run)
        return command.parser

    def run(self, argv: Sequence[str] | None = None) -> int:
        """Parse ``argv`` (default ``sys.argv[1:]``) and run the command; returns the exit status."""
        args = self.parser.parse_args(argv)
        run = getattr(args, "_run", None)
        if run is None:  # pragma: no cover - argparse requires a subcommand
            self.parser.print_help(sys.stderr)
            return EXIT_USAGE
        try:
            result = run(args)
            if inspect.isawaitable(result):
                result = asyncio.run(_await(result))
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        except BrokenPipeError:
            return EXIT_OK
        except (CommandError, OSError, ValueError) as err:
            print(f"{self.parser.prog}: error: {err}", file=sys.stderr)
            return EXIT_FAILURE
        except Exception as err:  # every library error is a clear message, not a traceback
            print(f"{self.parser.prog}: error: {err} ({type(err).__name__})", file=sys.stderr)
            return EXIT_FAILURE
        return int(result or EXIT_OK)


async def _await(awaitable: Any) -> Any:
    return await awaitable
