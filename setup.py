"""Package list derived from the tree, and the compiled hot path (metadata lives in pyproject.toml).

The repository keeps its layers as top-level folders (storage/ protocol/ feeds/ party/ ...); each one
that has an ``__init__.py`` is installed as ``hyperparty.<folder>`` (the folder ``hyperparty/`` itself
as ``hyperparty``), and every directory below it with an ``__init__.py`` is a subpackage.  Nothing is
listed by hand: a new layer or subpackage (``feeds/hypertrie``, ``discovery/``) is in the next wheel
without an edit here.  ``tests/test_packaging.py`` builds the wheel and checks every module is in it.

Compiled hot path: the modules listed in ``hyperparty/_native.py`` (``COMPILED``) are also compiled with
mypyc (mypy is in ``[build-system] requires``; gcc and the Python headers do the rest) into extension
modules installed next to their ``.py`` files, which stay the fallback.  mypyc names modules after the
directories it is given, so it compiles a staging tree laid out as installed (``build/mypyc-src``,
symlinks to the source folders, the same layout ``.ci/typecheck.py`` checks).  The build is optional:
``HYPERPARTY_NO_COMPILE=1``, a missing mypyc or a failing compiler leave a pure-Python install (with a
warning), never a failed one.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
NAMESPACE = "hyperparty"
NOT_LAYERS = frozenset({"tests", "bench", "build", "dist"})
NO_COMPILE = "HYPERPARTY_NO_COMPILE"


def layers(root: Path = ROOT) -> list[str]:
    """Top-level folders that are installed: they have an ``__init__.py`` and are not tests/tools."""
    return sorted(
        d.name
        for d in root.iterdir()
        if d.is_dir() and (d / "__init__.py").is_file() and d.name not in NOT_LAYERS and not d.name.startswith(".")
    )


def package_map(root: Path = ROOT) -> tuple[list[str], dict[str, str]]:
    """``(packages, package_dir)`` for :func:`setuptools.setup`."""
    packages: list[str] = []
    package_dir: dict[str, str] = {}
    for layer in layers(root):
        top = NAMESPACE if layer == NAMESPACE else f"{NAMESPACE}.{layer}"
        package_dir[top] = layer
        for init in sorted((root / layer).rglob("__init__.py")):
            parts = init.parent.relative_to(root / layer).parts
            if "__pycache__" not in parts:
                packages.append(".".join((top, *parts)))
    return packages, package_dir


def installed_tree(target: Path, root: Path = ROOT) -> Path:
    """``target/hyperparty`` laid out as installed: symlinks to ``hyperparty/``'s entries and to the layers."""
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    package = target / NAMESPACE
    package.mkdir(parents=True)
    for entry in (root / NAMESPACE).iterdir():
        if entry.name != "__pycache__":
            os.symlink(entry, package / entry.name)
    for layer in layers(root):
        if layer != NAMESPACE:
            os.symlink(root / layer, package / layer)
    return target


def compiled_modules(root: Path = ROOT) -> tuple[str, ...]:
    """Dotted names of the modules to compile (``COMPILED`` of ``hyperparty/_native.py``)."""
    spec = importlib.util.spec_from_file_location("hyperparty_native_list", root / NAMESPACE / "_native.py")
    assert spec is not None and spec.loader is not None
    native = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(native)
    return tuple(native.COMPILED)


def ext_modules(root: Path = ROOT) -> list[Any]:
    """The mypyc extensions and ``hyperparty._gc`` (empty when compiling is off; no mypyc ones when mypyc
    is missing)."""
    if os.environ.get(NO_COMPILE, "") not in ("", "0"):
        return []
    from setuptools import Extension

    # hyperparty/untrack.py falls back to ctypes without it
    extensions: list[Any] = [Extension(f"{NAMESPACE}._gc", [f"{NAMESPACE}/_gc.c"])]
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("hyperparty: mypyc is not installed; installing the pure-Python modules only", file=sys.stderr)
        return extensions
    staging = installed_tree(root / "build" / "mypyc-src", root)
    paths = [os.path.relpath(staging / (name.replace(".", "/") + ".py"), root) for name in compiled_modules(root)]
    return extensions + mypycify(paths, opt_level="3", debug_level="0", group_name=NAMESPACE, target_dir="build/mypyc")


class OptionalBuildExt(build_ext):
    """Build the extensions, or warn and go on without them (the ``.py`` modules are the fallback)."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # a missing compiler or headers: a pure-Python install still works
            print(f"hyperparty: compiling the hot path failed ({exc}); using pure Python", file=sys.stderr)

    def build_extension(self, ext: Any) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            print(f"hyperparty: compiling {ext.name} failed ({exc}); using pure Python", file=sys.stderr)


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import package_map
    packages, package_dir = package_map()
    setup(packages=packages, package_dir=package_dir, ext_modules=ext_modules(),
          cmdclass={"build_ext": OptionalBuildExt})
