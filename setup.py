"""Package list derived from the tree (metadata lives in pyproject.toml).

The repository keeps its layers as top-level folders (storage/ protocol/ feeds/ party/ ...); each one
that has an ``__init__.py`` is installed as ``hyperparty.<folder>`` (the folder ``hyperparty/`` itself
as ``hyperparty``), and every directory below it with an ``__init__.py`` is a subpackage.  Nothing is
listed by hand: a new layer or subpackage (``feeds/hypertrie``, ``discovery/``) is in the next wheel
without an edit here.  ``tests/test_packaging.py`` builds the wheel and checks every module is in it.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent
NAMESPACE = "hyperparty"
NOT_LAYERS = frozenset({"tests", "bench", "build", "dist"})


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


if __name__ == "__main__":  # setuptools runs this file as __main__; tests import package_map
    packages, package_dir = package_map()
    setup(packages=packages, package_dir=package_dir)
