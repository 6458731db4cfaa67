"""The compiled hot path: which modules are also built as C extensions, and the switch back to Python.

The modules in :data:`COMPILED` are plain, type-annotated Python. When the package is installed,
``setup.py`` also compiles them with mypyc (part of mypy, pinned in ``[build-system] requires``) into
extension modules that sit next to the ``.py`` files and are imported instead of them: same names, same
API, same results, several times faster on the bit-level work (bitfields, flat-tree and tree-index walks,
runs, RLE, the ``Data`` and ``Request`` codec, the verification of a received block against its proof).
``hyperparty/varint.py`` is not in the set: it takes any buffer (bytes, bytearray, memoryview), which
compiled code indexes through the generic object protocol, and measured twice as slow compiled as
interpreted. The ``.py`` files stay the reference and the fallback.

The compiled modules call each other natively (one shared library), so they are used all together or not
at all.  :func:`install` (run when ``hyperparty`` is imported) makes every import of them load the ``.py``
source when

* the environment variable ``HYPERPARTY_PURE_PYTHON`` is set to anything but ``""``/``0`` (the tests run
  the core suites both ways), or
* any compiled module is missing or older than its source (an edited checkout whose extensions were not
  rebuilt: ``make setup`` rebuilds them).

:func:`active` tells which path is in use.  Nothing here imports a compiled module.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from types import ModuleType
from typing import Sequence

__all__ = ["COMPILED", "ENV_PURE", "install", "active", "pure_requested", "extension_paths"]

#: Dotted names of the modules compiled by setup.py (their sources: see :func:`source_path`).
COMPILED: tuple[str, ...] = (
    "hyperparty.feeds.hypercore.flat_tree",
    "hyperparty.feeds.hypercore.bitfield",
    "hyperparty.feeds.hypercore.tree_index",
    "hyperparty.feeds.hypercore.ranges",
    "hyperparty.feeds.hypercore.rle",
    "hyperparty.protocol.data_codec",
    "hyperparty.feeds.hypercore.verify",
    "hyperparty.feeds.hypercore.wanted",
)

ENV_PURE = "HYPERPARTY_PURE_PYTHON"

_state: dict[str, bool] = {}


def source_path(name: str) -> str:
    """The repository path of a compiled module's source (``hyperparty.feeds.x`` -> ``feeds/x.py``)."""
    parts = name.split(".")[1:]
    if parts and parts[0] in ("feeds", "protocol", "storage", "party", "discovery"):
        return "/".join(parts) + ".py"
    return "/".join(["hyperparty", *parts]) + ".py"


def pure_requested() -> bool:
    return os.environ.get(ENV_PURE, "") not in ("", "0")


def _directories(name: str) -> list[str]:
    """Where module ``name`` would be found, without running any package ``__init__`` below
    ``hyperparty`` (subpackages are plain sub-directories of their layer, installed or editable)."""
    parts = name.split(".")
    top = sys.modules.get(parts[0])
    if len(parts) == 2:
        return list(getattr(top, "__path__", []))
    layer = ".".join(parts[:2])
    module = sys.modules.get(layer)
    if module is not None:
        roots = list(getattr(module, "__path__", []))
    else:
        spec = importlib.util.find_spec(layer)  # imports ``hyperparty`` only (already importing)
        roots = list(spec.submodule_search_locations or []) if spec is not None else []
    return [os.path.join(root, *parts[2:-1]) for root in roots]


def _locate(name: str) -> tuple[str | None, str | None]:
    """``(source .py, extension)`` paths of module ``name`` (either may be None), without importing it."""
    leaf = name.rpartition(".")[2]
    source = ext = None
    for directory in _directories(name):
        candidate = os.path.join(directory, leaf + ".py")
        if source is None and os.path.isfile(candidate):
            source = candidate
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            candidate = os.path.join(directory, leaf + suffix)
            if ext is None and os.path.isfile(candidate):
                ext = candidate
    return source, ext


def extension_paths() -> dict[str, str | None]:
    """Each compiled module's extension file (None when it is not built)."""
    return {name: _locate(name)[1] for name in COMPILED}


def _compiled_usable() -> bool:
    for name in COMPILED:
        source, ext = _locate(name)
        if ext is None or (source is not None and os.path.getmtime(source) > os.path.getmtime(ext)):
            return False
    return True


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds the ``.py`` source of the compiled modules (used when the compiled path is off)."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None):
        if fullname not in COMPILED:
            return None
        source, _ = _locate(fullname)
        if source is None:
            return None
        return importlib.util.spec_from_file_location(fullname, source)


def install() -> None:
    """Decide once per process whether the compiled modules are used (see the module docstring)."""
    if "compiled" in _state:
        return
    use = not pure_requested() and _compiled_usable()
    _state["compiled"] = use
    if not use:
        sys.meta_path.insert(0, _SourceFinder())


def active() -> bool:
    """True when the compiled modules are in use in this process."""
    install()
    return _state["compiled"]
