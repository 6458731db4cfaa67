"""The package passes its static type check (mypy with ``[tool.mypy]`` of pyproject.toml).

``.ci/typecheck.py`` lays the package out as installed (the top-level layers become ``hyperparty.<layer>``)
and runs mypy on it; this test runs that script, so ``make test`` and CI fail on a type error, with mypy's
report as the failure message.  mypy comes with the ``test`` extras.

A check that looked at nothing would pass too, so the test also requires mypy to have checked at least as
many files as the installed layers hold modules (the ``.py`` files under the folders setup.py installs).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 300

pytestmark = pytest.mark.slow


def installed_module_count() -> int:
    """``.py`` files under the top-level folders setup.py installs (its ``layers``)."""
    spec = importlib.util.spec_from_file_location("hyperparty_setup", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    setup = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup)  # not __main__: only defines the helpers
    return sum(
        1
        for layer in setup.layers(ROOT)
        for path in (ROOT / layer).rglob("*.py")
        if "__pycache__" not in path.relative_to(ROOT).parts
    )


@pytest.mark.timeout(TIMEOUT + 30)
def test_mypy_passes() -> None:
    try:
        import mypy  # noqa: F401
    except ImportError:
        pytest.fail("mypy is not installed: it is part of the test extras (pip install -e '.[test]')")
    try:
        proc = subprocess.run(
            [sys.executable, str(ROOT / ".ci" / "typecheck.py")],
            cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the type check did not finish within {TIMEOUT} s")
    report = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        pytest.fail(f"mypy reports type errors (exit status {proc.returncode}):\n{report}", pytrace=False)
    checked = re.search(r"no issues found in (\d+) source files?", report)
    assert checked is not None, f"unexpected mypy output:\n{report}"
    expected = installed_module_count()
    assert int(checked.group(1)) >= expected, (
        f"mypy checked {checked.group(1)} source files, the installed layers hold {expected} modules:\n{report}"
    )
