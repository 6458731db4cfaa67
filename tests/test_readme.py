"""The README's Python usage example runs as written (extracted from README.md and executed), and shuts
down cleanly: any output on stderr (e.g. a ``CancelledError`` traceback from a connection task cut off by
``asyncio.run``) fails the test."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("run", range(3))
def test_readme_python_example_runs(run: int) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README.md has no python example"
    result = subprocess.run([sys.executable, "-c", blocks[0]], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "hello from alice"
    assert result.stderr == "", f"the example did not shut down cleanly:\n{result.stderr}"
