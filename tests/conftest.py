"""pytest set-up shared by every test: tests/ is put on sys.path (rootdir conftest), so modules here can
``from util import ...``; tests/interop/conftest.py adds the JS-side fixtures."""

import pytest

from util import Backend


@pytest.fixture(params=["memory", "file", "lmdb"])
def backend(request, tmp_path):
    """A :class:`util.Backend` of each kind in turn."""
    b = Backend(request.param, tmp_path)
    yield b
    b.close_all()
