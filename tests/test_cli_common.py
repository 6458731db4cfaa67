"""The command line's shared pieces (hyperparty/cli/common.py, app.py): argument parsers, value printing,
the progress reporter, the exit-code policy, the entry points and ``--version``."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

import hyperparty
from hyperparty.cli import GROUPS, CommandLine, build, main
from hyperparty.cli.common import (
    CommandError,
    ProgressReporter,
    block_text,
    parse_host_port,
    parse_key,
    parse_storage,
    value_fields,
)
from hyperparty.feeds.porcelain import FetchProgress


def test_parse_key() -> None:
    assert parse_key("ab" * 32) == bytes([0xAB]) * 32
    assert parse_key(None) is None
    with pytest.raises(CommandError, match="--party is not hex: 'xyz'"):
        parse_key("xyz", "--party")
    with pytest.raises(CommandError, match=r"KEY must be 32 bytes \(64 hex characters\), not 2"):
        parse_key("abcd")


def test_parse_host_port() -> None:
    assert parse_host_port("10.0.0.1:80") == ("10.0.0.1", 80)
    assert parse_host_port(":80") == ("127.0.0.1", 80)
    assert parse_host_port("80") == ("127.0.0.1", 80)
    assert parse_host_port("[::1]:9000") == ("::1", 9000)
    assert parse_host_port("localhost:0", default_host="x") == ("localhost", 0)
    with pytest.raises(CommandError, match="not HOST:PORT"):
        parse_host_port("host:port")
    with pytest.raises(CommandError, match="port out of range: 70000"):
        parse_host_port("h:70000")


def test_parse_storage() -> None:
    for spec in ("memory", "file:/tmp/x", "lmdb:~/y"):
        assert parse_storage(spec) == spec
    for bad in ("nosuch:/x", "file:", "lmdb", "", "memory:x"):
        with pytest.raises(CommandError, match="use memory, file:DIR or lmdb:DIR"):
            parse_storage(bad)


def test_value_printing() -> None:
    assert value_fields("wörld".encode()) == {"value": "wörld"}
    assert value_fields(b"\xff\x00") == {"valueHex": "ff00"}
    assert value_fields(None) == {"value": None}
    assert value_fields(b"\x80", "key") == {"keyHex": "80"}
    assert block_text(b"\xff") == "hex:ff" and block_text(b"ok") == "ok"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def progress(blocks: int, total: int = 10) -> FetchProgress:
    return FetchProgress(blocks=blocks, bytes=blocks * 1_000_000, total=total, seconds=0.0)


def test_progress_lines_at_most_once_a_second_when_not_a_terminal() -> None:
    out, clock = io.StringIO(), Clock()
    reporter = ProgressReporter(out, tty=False, clock=clock)
    reporter(progress(1))
    clock.now += 0.5
    reporter(progress(2))
    assert out.getvalue() == ""  # short downloads print nothing
    clock.now += 0.6
    reporter(progress(3))
    clock.now += 0.3
    reporter(progress(4))
    reporter.finish()
    assert out.getvalue() == "hyperparty: downloaded 3/10 blocks, 3.0 MB, 2.7 MB/s\n"


def test_progress_bar_on_a_terminal() -> None:
    out, clock = io.StringIO(), Clock()
    reporter = ProgressReporter(out, tty=True, clock=clock)
    clock.now += 2
    reporter(progress(5))
    clock.now += 0.05
    reporter(progress(6))  # redrawn at most every 0.1 s
    clock.now += 0.1
    reporter(progress(9))
    reporter(progress(10))  # within 0.1 s: drawn by finish()
    reporter.finish()
    text = out.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and "\n" not in text[:-1]
    assert "] 9/10 blocks" in text
    assert "[############............] 5/10 blocks" in text
    assert "[########################] 10/10 blocks, 10.0 MB" in text


def test_exit_codes(capsys) -> None:
    cli = CommandLine()

    def interrupted(args) -> None:
        raise KeyboardInterrupt

    async def library_error(args) -> None:
        raise LookupError("no such thing")

    def command_error(args) -> None:
        raise CommandError("bad input")

    cli.add(("a",), interrupted)
    cli.add(("b",), library_error)
    cli.add(("c",), command_error)
    assert cli.run(["a"]) == 130
    assert cli.run(["b"]) == 1
    assert capsys.readouterr().err == "hyperparty: error: no such thing (LookupError)\n"
    assert cli.run(["c"]) == 1
    assert capsys.readouterr().err == "hyperparty: error: bad input\n"
    with pytest.raises(SystemExit) as exit_info:
        cli.run(["nosuchcommand"])
    assert exit_info.value.code == 2
    capsys.readouterr()


def test_groups_and_help(capsys) -> None:
    cli = build()
    with pytest.raises(SystemExit):
        cli.run(["--help"])
    out = capsys.readouterr().out
    for group in GROUPS:
        assert f"\n    {group} " in out
    cli.group(("trie",), "hypertrie key/value stores")
    cli.add(("trie", "get"), lambda args: 0)
    with pytest.raises(SystemExit):
        cli.run(["trie", "--help"])
    assert "hypertrie key/value stores" in capsys.readouterr().out


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"hyperparty {hyperparty.__version__}\n"


@pytest.mark.parametrize("program", [
    [sys.executable, "-m", "hyperparty"],
    [sys.executable, "-m", "hyperparty.cli"],
    [str(Path(sys.executable).parent / "hyperparty")],  # the console script of the install
])
def test_entry_points(program: list[str]) -> None:
    if not Path(program[0]).exists():
        pytest.skip("no hyperparty script beside this Python (not installed in this environment)")
    result = subprocess.run([*program, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"hyperparty {hyperparty.__version__}\n"
