"""Static type check of the installed package layout (run by `make test` through tests/test_typecheck.py).

The repository keeps its layers as top-level folders that install as ``hyperparty.<folder>`` (see
setup.py), a mapping mypy cannot follow from the source tree.  This script lays the package out as it is
installed — a directory of symlinks under ``.venv/typecheck/`` — and runs mypy on ``hyperparty``.
Usage: ``python .ci/typecheck.py [mypy options]``; exit status is mypy's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from setup import NAMESPACE, layers  # noqa: E402


def build_tree(target: Path) -> Path:
    """``target/hyperparty`` mirroring the installed package (symlinks to the source folders)."""
    if target.exists():
        shutil.rmtree(target)
    package = target / NAMESPACE
    package.mkdir(parents=True)
    for entry in (ROOT / NAMESPACE).iterdir():
        if entry.name != "__pycache__":
            os.symlink(entry, package / entry.name)
    for layer in layers(ROOT):
        if layer != NAMESPACE:
            os.symlink(ROOT / layer, package / layer)
    return target


def main(argv: list[str]) -> int:
    tree = build_tree(ROOT / ".venv" / "typecheck")
    cmd = [
        sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
        "--cache-dir", str(ROOT / ".venv" / "mypy_cache"), "-p", NAMESPACE, *argv,
    ]
    return subprocess.call(cmd, cwd=tree)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
