"""The compiled hot path (hyperparty/_native.py): built and used by default, the pure-Python sources
forced by ``HYPERPARTY_PURE_PYTHON``, stale extensions never used, and the core suites run on the pure
path too (the main run uses the compiled one whenever it is built).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hyperparty import _native

ROOT = Path(__file__).resolve().parents[1]

#: Suites that exercise every compiled module (bitfield, rle, flat-tree, tree-index, ranges, the
#: Data codec, proof verification), run again on the pure-Python path.
PURE_SUITES = [
    "tests/test_hypercore_bitfield.py",
    "tests/test_flat_tree.py",
    "tests/test_hypercore_vectors.py",
    "tests/test_hypercore_offsets.py",
    "tests/test_hypercore_replication.py",
    "tests/test_protocol.py",
]


def _module_files(env: dict[str, str]) -> dict[str, str]:
    code = ("import importlib, json\n"
            "from hyperparty import _native\n"
            "print(json.dumps({n: importlib.import_module(n).__file__ for n in _native.COMPILED}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    import json

    return json.loads(out.stdout)


def test_compiled_modules_are_built_and_used() -> None:
    built = _native.extension_paths()
    if not all(built.values()):
        missing = sorted(n for n, p in built.items() if not p)
        if os.environ.get("CI"):
            pytest.fail(f"the compiled hot path was not built (missing: {missing}); see setup.py")
        pytest.skip(f"compiled hot path not built here (missing: {missing})")
    env = {k: v for k, v in os.environ.items() if k != _native.ENV_PURE}
    files = _module_files(env)
    assert all(not f.endswith(".py") for f in files.values()), files
    if not _native.pure_requested():
        assert _native.active()


def test_pure_python_is_forced_by_the_environment() -> None:
    files = _module_files(dict(os.environ, **{_native.ENV_PURE: "1"}))
    assert all(f.endswith(".py") for f in files.values()), files


def test_stale_or_missing_extensions_are_not_used(tmp_path, monkeypatch) -> None:
    source = tmp_path / "m.py"
    ext = tmp_path / "m.so"
    source.write_text("")
    ext.write_text("")
    os.utime(source, (1000, 1000))
    os.utime(ext, (2000, 2000))
    monkeypatch.setattr(_native, "_locate", lambda name: (str(source), str(ext)))
    assert _native._compiled_usable()
    os.utime(source, (3000, 3000))  # the source was edited after the build
    assert not _native._compiled_usable()
    monkeypatch.setattr(_native, "_locate", lambda name: (str(source), None))
    assert not _native._compiled_usable()


def test_source_paths_exist() -> None:
    for name in _native.COMPILED:
        assert (ROOT / _native.source_path(name)).is_file(), name


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_core_suites_pass_on_the_pure_python_path() -> None:
    env = dict(os.environ, **{_native.ENV_PURE: "1"})
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *PURE_SUITES]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=880)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert " passed" in out.stdout
