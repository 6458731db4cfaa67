"""``hyperparty core init|append|info|cat`` on file and LMDB storage (in-process ``main`` and one real
subprocess run of the module)."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from hyperparty.cli import CommandLine, main
from hyperparty.cli.common import block_text

try:
    from hyperparty.storage import open_storage
except ImportError:  # pragma: no cover - only while the storage package is incomplete
    open_storage = None


@pytest.fixture(params=["file", "lmdb"])
def storage(request, tmp_path) -> str:
    if open_storage is None:
        pytest.skip("hyperparty.storage.open_storage is not available yet")
    return f"{request.param}:{tmp_path / 'feed'}"


def run(capsys, *argv: str) -> tuple[int, list[dict], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_init_append_info_cat(storage: str, capsys, monkeypatch) -> None:
    code, out, err = run(capsys, "core", "init", "--storage", storage)
    assert code == 0 and err == ""
    key = out[0]["key"]
    assert len(bytes.fromhex(key)) == 32 and key == key.lower()
    assert set(out[0]) == {"key", "discoveryKey"}

    code, again, _ = run(capsys, "core", "init", "--storage", storage)  # idempotent: same feed
    assert code == 0 and again == out

    code, out, _ = run(capsys, "core", "append", "--storage", storage, "hello", "wörld")
    assert code == 0 and out == [{"length": 2, "byteLength": 11}]

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"line one\nline two\r\n\nlast")))
    code, out, _ = run(capsys, "core", "append", "--storage", storage)
    assert code == 0 and out == [{"length": 6, "byteLength": 11 + 8 + 8 + 0 + 4}]

    code, out, _ = run(capsys, "core", "info", "--storage", storage)
    assert code == 0
    assert out == [
        {
            "key": key,
            "discoveryKey": again[0]["discoveryKey"],
            "length": 6,
            "byteLength": 31,
            "writable": True,
        }
    ]

    code, out, _ = run(capsys, "core", "cat", "--storage", storage)
    assert code == 0
    assert out == [
        {"seq": 0, "data": "hello"},
        {"seq": 1, "data": "wörld"},
        {"seq": 2, "data": "line one"},
        {"seq": 3, "data": "line two"},
        {"seq": 4, "data": ""},
        {"seq": 5, "data": "last"},
    ]
    code, out, _ = run(capsys, "core", "cat", "--storage", storage, "--start", "1", "--end", "3")
    assert [o["seq"] for o in out] == [1, 2]


def test_binary_blocks_print_as_hex(storage: str, capsys) -> None:
    from hyperparty.feeds.hypercore import Hypercore
    import asyncio

    async def write() -> None:
        core = Hypercore(storage)
        await core.append([b"\xff\x00binary", b"text"])
        await core.close()

    asyncio.run(write())
    code, out, _ = run(capsys, "core", "cat", "--storage", storage)
    assert code == 0
    assert out == [{"seq": 0, "data": "hex:ff0062696e617279"}, {"seq": 1, "data": "text"}]
    assert block_text("é".encode()) == "é"


def test_errors_go_to_stderr(storage: str, capsys) -> None:
    code, out, err = run(capsys, "core", "info", "--storage", storage)
    assert code == 1 and out == [] and "No hypercore is stored here" in err
    code, out, err = run(capsys, "core", "append", "--storage", storage, "x")
    assert code == 1 and out == [] and "No hypercore is stored here" in err

    writer_key = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c"
    code, out, _ = run(capsys, "core", "init", "--storage", storage, "--key", writer_key)
    assert code == 0 and out[0]["key"] == writer_key
    code, out, err = run(capsys, "core", "append", "--storage", storage, "x")
    assert code == 1 and "not writable" in err
    code, out, _ = run(capsys, "core", "info", "--storage", storage)
    assert out[0]["writable"] is False and out[0]["length"] == 0
    code, out, err = run(capsys, "core", "init", "--storage", storage, "--key", "zz")
    assert code == 1 and "hex" in err
    code, out, err = run(capsys, "core", "init", "--storage", "nosuchbackend:/x")
    assert code == 1 and err.startswith("hyperparty: error:")
    with pytest.raises(SystemExit):
        main(["core"])  # a group without a command: argparse usage error
    capsys.readouterr()


def test_module_runs_as_a_program(storage: str) -> None:
    cmd = [sys.executable, "-m", "hyperparty", "core", "init", "--storage", storage]
    result = subprocess.run(cmd, capture_output=True, timeout=60, text=True)
    assert result.returncode == 0, result.stderr
    key = json.loads(result.stdout)["key"]
    cmd[4] = "append"
    result = subprocess.run(cmd, input="a\nb\n", capture_output=True, timeout=60, text=True)
    assert json.loads(result.stdout) == {"length": 2, "byteLength": 2}
    cmd[4] = "info"
    result = subprocess.run(cmd, capture_output=True, timeout=60, text=True)
    assert json.loads(result.stdout)["key"] == key


def test_registering_commands_from_other_modules(capsys) -> None:
    cli = CommandLine()
    seen = []
    cli.add(("core", "extra"), lambda args: seen.append(args.value), arguments=lambda p: p.add_argument("value"))

    async def chat(args) -> int:
        seen.append("chat")
        return 3

    cli.add(("chat",), chat)
    assert cli.run(["core", "extra", "v"]) == 0
    assert cli.run(["chat"]) == 3
    assert seen == ["v", "chat"]
    with pytest.raises(ValueError):
        cli.add(("chat",), chat)


def test_core_demo(tmp_path, capsys) -> None:
    if open_storage is None:
        pytest.skip("hyperparty.storage.open_storage is not available yet")
    from hyperparty.cli.demo import core_demo

    lines = core_demo(str(tmp_path / "demo"))
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert printed == lines
    steps = {line["step"]: line for line in lines}
    assert steps["appended"]["length"] == 5
    assert steps["reopened"]["blocks"] == ["hello", "from", "a", "python", "hypercore"]
    assert steps["verified"]["block"] == "python" and steps["verified"]["replicaLength"] == 5
    assert steps["audited"]["invalid"] == 0 and steps["audited"]["signatureOk"] is True
