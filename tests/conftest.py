"""pytest set-up shared by every test: tests/ is put on sys.path (rootdir conftest), so modules here can
``from util import eventually``; tests/interop/conftest.py adds the JS-side fixtures."""
