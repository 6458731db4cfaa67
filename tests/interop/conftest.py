"""pytest set-up for the JS interop tests in this directory.

Every test here needs node and tests/interop/node_modules (installed by `make setup-js`, i.e.
`npm ci --omit=optional` from package-lock.json). When they are missing the tests are skipped on a
developer machine but FAIL when the `CI` environment variable is set, so CI can never go green by
skipping the interop suite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jsnode import JS_DIR, require_node

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.interop)


@pytest.fixture(scope="session", autouse=True)
def js_env() -> Path:
    """The JS scripts directory; skips (or fails in CI) when the JS side is not installed."""
    require_node()
    return JS_DIR
