"""``hyperparty`` command line: argparse subcommands collected from small per-topic modules.

Every command prints JSON lines on stdout (one object per line) and human-readable errors on stderr with
a non-zero exit status.

Adding commands: write a module with ``def register(cli: CommandLine) -> None`` that calls
:meth:`CommandLine.add` for each command, then add it to ``COMMAND_MODULES`` below (one import, one
entry).  Commands are paths of words: ``("core", "init")`` becomes ``hyperparty core init``; commands of
one group may come from different modules (``core serve`` lives beside replication).  A command's
``run(args)`` may be a plain function or a coroutine function (run with :func:`asyncio.run`); it returns
an exit status or None (0).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

__all__ = ["CommandLine", "CommandError", "emit", "main", "COMMAND_MODULES"]


class CommandError(Exception):
    """A user-facing failure: printed as ``hyperparty: error: <message>`` with exit status 1."""


def emit(obj: Any, stream: Any = None) -> None:
    """Print one JSON line (keys in insertion order, UTF-8 kept readable) and flush."""
    out = stream if stream is not None else sys.stdout
    out.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
    out.flush()


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
        self._root = _Group(self.parser)

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
        for i, word in enumerate(path):
            last = i == len(path) - 1
            if group.subparsers is None:
                group.subparsers = group.parser.add_subparsers(dest=f"_command_{i}", metavar="COMMAND")
                group.subparsers.required = True
            if word in group.children:
                if last:
                    raise ValueError(f"command {' '.join(path)!r} is registered twice")
                group = group.children[word]
                continue
            parser = group.subparsers.add_parser(word, help=help if last else f"{word} commands")
            group.children[word] = _Group(parser)
            group = group.children[word]
        if arguments is not None:
            arguments(group.parser)
        group.parser.set_defaults(_run=run)
        return group.parser

    def run(self, argv: Sequence[str] | None = None) -> int:
        args = self.parser.parse_args(argv)
        run = getattr(args, "_run", None)
        if run is None:  # pragma: no cover - argparse requires a subcommand
            self.parser.print_help(sys.stderr)
            return 2
        try:
            result = run(args)
            if inspect.isawaitable(result):
                result = asyncio.run(_await(result))
        except KeyboardInterrupt:
            return 130
        except BrokenPipeError:
            return 0
        except (CommandError, OSError, ValueError) as err:
            print(f"{self.parser.prog}: error: {err}", file=sys.stderr)
            return 1
        except Exception as err:  # every library error is a clear message, not a traceback
            name = type(err).__name__
            print(f"{self.parser.prog}: error: {err} ({name})", file=sys.stderr)
            return 1
        return int(result or 0)


async def _await(awaitable: Any) -> Any:
    return await awaitable


# -- command modules (each has ``register(cli)``): one import + one entry per module ------------------
from . import cli_chat, cli_core, cli_replicate  # noqa: E402  (imported last: they use emit/CommandError)

COMMAND_MODULES: list[Any] = [cli_core, cli_replicate, cli_chat]


def build() -> CommandLine:
    """A :class:`CommandLine` with every module of ``COMMAND_MODULES`` registered."""
    cli = CommandLine()
    for module in COMMAND_MODULES:
        module.register(cli)
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hyperparty`` script."""
    return build().run(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
