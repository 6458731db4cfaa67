"""Static type check of the installed package layout (run by `make test` through tests/test_typecheck.py).

The repository keeps its layers as top-level folders that install as ``hyperparty.<folder>`` (see
setup.py), a mapping mypy cannot follow from the source tree.  This script lays the package out as it is
installed — a directory of symlinks under ``.venv/typecheck/`` — and runs mypy on ``hyperparty``.
Usage: ``python .ci/typecheck.py [mypy options]``; exit status is mypy's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from setup import NAMESPACE, installed_tree  # noqa: E402


def main(argv: list[str]) -> int:
    tree = installed_tree(ROOT / ".venv" / "typecheck")
    cmd = [
        sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
        "--cache-dir", str(ROOT / ".venv" / "mypy_cache"), "-p", NAMESPACE, *argv,
    ]
    return subprocess.call(cmd, cwd=tree)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
