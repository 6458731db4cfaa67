"""Dependencies point one way: storage <- crypto/encoding <- protocol <- feeds <- party <- cli.

Checked two ways: statically (every ``import`` of every module, read with ``ast``) and dynamically
(importing the sans-IO wire in a fresh interpreter loads no storage backend, no feed and no lmdb).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# folder (as installed under hyperparty.) -> layers it must never import
FORBIDDEN = {
    "storage": {"protocol", "feeds", "party", "cli", "discovery"},
    "protocol": {"storage", "feeds", "party", "cli"},
    "feeds": {"party", "cli"},
    "party": {"cli"},
    "discovery": {"feeds", "party", "cli", "storage"},
}
BOTTOM = {"varint", "protobuf", "crypto", "events", "clock"}  # hyperparty/*.py shared bottom pieces


def _modules(folder: Path):
    for path in sorted(folder.rglob("*.py")):
        if ".venv" in path.parts or "node_modules" in path.parts:
            continue
        yield path


def _imported_layers(path: Path, package: list[str]) -> set[str]:
    """The hyperparty sub-layers a module imports (resolving relative imports)."""
    tree = ast.parse(path.read_text(), str(path))
    layers = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = base + (node.module.split(".") if node.module else [])
            else:
                target = (node.module or "").split(".")
            names = [target + [alias.name] for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name.split(".") for alias in node.names]
        else:
            continue
        for parts in names:
            if len(parts) >= 2 and parts[0] == "hyperparty":
                layers.add(parts[1])
    return layers


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_no_upward_imports(folder: str) -> None:
    base = ROOT / folder
    if not base.is_dir():
        pytest.skip(f"{folder}/ does not exist yet")
    bad = []
    for path in _modules(base):
        rel = path.relative_to(base).with_suffix("").parts
        package = ["hyperparty", folder, *rel[:-1]]
        hit = _imported_layers(path, package) & FORBIDDEN[folder]
        if hit:
            bad.append(f"{path.relative_to(ROOT)} imports {sorted(hit)}")
    assert not bad, "\n".join(bad)


def test_bottom_pieces_import_no_layer() -> None:
    layers = {"storage", "protocol", "feeds", "party", "cli", "discovery"}
    for name in BOTTOM:
        path = ROOT / "hyperparty" / f"{name}.py"
        assert path.is_file(), name
        assert not (_imported_layers(path, ["hyperparty"]) & layers), name


def test_stream_is_sans_io() -> None:
    tree = ast.parse((ROOT / "protocol" / "stream.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and not n.level}
    assert not imported & {"asyncio", "socket", "time", "selectors"}


def test_importing_the_wire_loads_no_storage() -> None:
    code = (
        "import sys, hyperparty.protocol.wire, hyperparty.protocol.stream\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('hyperparty.storage', 'hyperparty.feeds',"
        " 'hyperparty.party')) or m == 'lmdb')\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == ""
