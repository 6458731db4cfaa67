"""pytest set-up shared by every test: tests/ is put on sys.path (rootdir conftest), so modules here can
``from util import ...``; tests/interop/conftest.py adds the JS-side fixtures.  Every test fails when an
ERROR record is logged during it, unless it declares so (``@pytest.mark.expect_errors`` or the
``expect_errors`` fixture)."""

import gc
import logging

import pytest

from util import Backend


@pytest.fixture(params=["memory", "file", "lmdb"])
def backend(request, tmp_path):
    """A :class:`util.Backend` of each kind in turn."""
    b = Backend(request.param, tmp_path)
    yield b
    b.close_all()


# -- no ERROR log record goes unnoticed -----------------------------------------------------------------------

def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "expect_errors: the test expects ERROR log records (otherwise any ERROR record fails the test; "
        "the `expect_errors` fixture gives the records to check)",
    )


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def _fail_on_error_logs(request):
    """Fail any test during which an ERROR (or CRITICAL) record was logged, unless it declares it expects
    some (``@pytest.mark.expect_errors`` or the ``expect_errors`` fixture): a bug in a listener, a handler or
    a background task is logged, not raised, and must not hide.  Garbage is collected before looking, so
    "Task exception was never retrieved" / "Task was destroyed but it is pending" count for this test."""
    handler = _ErrorRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    request.node._error_records = handler.records
    try:
        yield handler.records
        gc.collect()
    finally:
        root.removeHandler(handler)
    if handler.records and not (
        request.node.get_closest_marker("expect_errors") or "expect_errors" in request.fixturenames
    ):
        lines = "\n".join(f"  {r.name}: {r.getMessage()[:300]}" for r in handler.records[:10])
        pytest.fail(f"{len(handler.records)} unexpected ERROR log record(s):\n{lines}", pytrace=False)


@pytest.fixture
def expect_errors(request):
    """The ERROR records logged during this test (declaring them expected); check them in the test."""
    return request.node._error_records
