"""Pieces every command group shares: argument parsing, JSON-line output, value printing, progress.

Output contract of every command: JSON lines on stdout (one object per line, :func:`emit`), human
messages on stderr.  Exit status (see :class:`~hyperparty.cli.app.CommandLine`): ``EXIT_OK`` 0,
``EXIT_FAILURE`` 1 (a :class:`CommandError` or any library error, printed as ``hyperparty: error: ...``),
``EXIT_USAGE`` 2 (argparse: bad arguments), ``EXIT_INTERRUPTED`` 130 (Ctrl-C).

Parsers raise :class:`CommandError` (exit 1 with the message), so call them in a command's ``run``, not
as argparse ``type=`` (that would be a usage error, exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO, overload

if TYPE_CHECKING:  # pragma: no cover
    from ..feeds.porcelain import FetchProgress

__all__ = [
    "EXIT_OK", "EXIT_FAILURE", "EXIT_USAGE", "EXIT_INTERRUPTED", "CommandError", "emit", "warn",
    "parse_storage", "add_storage_argument", "parse_key", "parse_host_port", "block_text", "value_fields",
    "ProgressReporter", "STORAGE_HELP",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

STORAGE_HELP = "memory | file:DIR | lmdb:DIR"
KEY_BYTES = 32


class CommandError(Exception):
    """A user-facing failure: printed as ``hyperparty: error: <message>`` with exit status 1."""


def emit(obj: Any, stream: TextIO | None = None) -> None:
    """Print one JSON line (keys in insertion order, UTF-8 kept readable) and flush."""
    out = stream if stream is not None else sys.stdout
    out.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
    out.flush()


def warn(message: str) -> None:
    """A non-fatal message on stderr (``hyperparty: <message>``)."""
    print(f"hyperparty: {message}", file=sys.stderr, flush=True)


# -- arguments ------------------------------------------------------------------------------------------


def parse_storage(spec: str) -> str:
    """Check a storage spec (``memory``, ``file:DIR``, ``lmdb:DIR``; DIR not empty); returns it unchanged."""
    kind, sep, where = spec.partition(":")
    if spec == "memory" or (sep and where and kind in ("file", "lmdb")):
        return spec
    raise CommandError(f"unknown storage {spec!r}: use memory, file:DIR or lmdb:DIR")


def add_storage_argument(parser: argparse.ArgumentParser, *, default: str | None = None) -> None:
    """``--storage STORAGE``: required unless ``default`` is given."""
    parser.add_argument("--storage", required=default is None, default=default, metavar="STORAGE",
                        help=STORAGE_HELP + (f" (default: {default})" if default else ""))


def key_value_arguments(parser: argparse.ArgumentParser, kind: str) -> None:
    """Arguments of a key/value command (``trie``/``db``): ``put`` -> STORAGE KEY VALUE, ``get``/``del`` ->
    STORAGE KEY, ``list`` -> STORAGE [PREFIX]."""
    add_storage_argument(parser)
    if kind == "list":
        parser.add_argument("prefix", metavar="PREFIX", nargs="?", default="")
        return
    parser.add_argument("key", metavar="KEY")
    if kind == "put":
        parser.add_argument("value", metavar="VALUE", help="stored as its UTF-8 bytes")


@overload
def parse_key(text: str, what: str = ...) -> bytes: ...
@overload
def parse_key(text: None, what: str = ...) -> None: ...
def parse_key(text: str | None, what: str = "KEY") -> bytes | None:
    """A 32-byte key given as 64 hex characters (None passes through); ``what`` names it in errors."""
    if text is None:
        return None
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise CommandError(f"{what} is not hex: {text!r}") from None
    if len(raw) != KEY_BYTES:
        raise CommandError(f"{what} must be {KEY_BYTES} bytes ({2 * KEY_BYTES} hex characters), not {len(raw)}")
    return raw


def parse_host_port(text: str, *, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """``HOST:PORT`` / ``:PORT`` / ``PORT`` -> (host, port); ``[::1]:PORT`` for IPv6."""
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise CommandError(f"not HOST:PORT: {text!r}") from None
    if not 0 <= number <= 65535:
        raise CommandError(f"port out of range: {number}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return (host or default_host), number


# -- values ---------------------------------------------------------------------------------------------


def block_text(data: bytes) -> str:
    """A block as JSON-friendly text: itself when valid UTF-8, else ``hex:<hex>`` (``core cat``'s format)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "hex:" + data.hex()


def value_fields(data: bytes | None, name: str = "value") -> dict[str, str | None]:
    """``{"value": text}`` when ``data`` is valid UTF-8, else ``{"valueHex": hex}``; None -> ``{"value": None}``.

    ``name`` replaces ``value`` (``{"<name>": ...}`` / ``{"<name>Hex": ...}``).
    """
    if data is None:
        return {name: None}
    try:
        return {name: data.decode("utf-8")}
    except UnicodeDecodeError:
        return {name + "Hex": data.hex()}


# -- progress -------------------------------------------------------------------------------------------


class ProgressReporter:
    """Download progress on stderr: a redrawn bar on a terminal, else plain lines at most once a second.

    Call it with a :class:`~hyperparty.feeds.porcelain.FetchProgress` (it is a fetch's ``progress``
    callback); :meth:`finish` ends the bar's line.  Nothing is printed for downloads shorter than
    ``interval`` seconds.
    """

    WIDTH = 24

    def __init__(self, stream: TextIO | None = None, *, interval: float = 1.0, tty: bool | None = None,
                 clock: Any = time.monotonic) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = interval if not self.tty else min(interval, 0.1)
        self._clock = clock
        self._started = clock()
        self._last = self._started
        self._drawn = False
        self._latest: "FetchProgress | None" = None

    def __call__(self, progress: "FetchProgress") -> None:
        now = self._clock()
        self._latest = progress
        if now - self._last < self.interval or now - self._started < self.interval:
            return
        self._last = now
        self.draw(progress.blocks, progress.total, progress.bytes, now - self._started)

    def draw(self, blocks: int, total: int, nbytes: int, seconds: float) -> None:
        rate = nbytes / seconds / 1e6 if seconds > 0 else 0.0
        figures = f"{blocks}/{total} blocks, {nbytes / 1e6:.1f} MB, {rate:.1f} MB/s"
        if self.tty:
            done = min(blocks / total, 1.0) if total else 0.0
            filled = int(done * self.WIDTH)
            bar = "#" * filled + "." * (self.WIDTH - filled)
            self.stream.write(f"\r[{bar}] {figures}\x1b[K")
            self._drawn = True
        else:
            self.stream.write(f"hyperparty: downloaded {figures}\n")
        self.stream.flush()

    def finish(self) -> None:
        """Draw the bar's last state and end its line (terminal only, when one was drawn)."""
        if self._drawn:
            if self._latest is not None:
                latest = self._latest
                self.draw(latest.blocks, latest.total, latest.bytes, self._clock() - self._started)
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
