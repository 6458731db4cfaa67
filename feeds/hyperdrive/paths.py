"""Drive paths: JS hyperdrive's normalisation, append-tree's split/join, and our input checks.

* :func:`normalize` is exactly hyperdrive 9.16.0's ``normalizePath`` = ``unixify(path.posix.resolve('/',
  p))``: resolve against ``/`` (``.``/``..`` and empty components removed, ``..`` stops at the root),
  then every run of ``/`` or ``\\`` becomes one ``/`` and a trailing ``/`` is dropped (except for
  ``/``).  The backslash conversion comes after ``resolve``, so ``a\\..\\b`` becomes ``/a/../b``.
* :func:`split` / :func:`join` are append-tree's: ``split`` drops one leading and one trailing empty
  component of ``name.split('/')``; ``join`` is ``'/' + '/'.join(names)``.
* :func:`parse` is what every drive call applies to a caller's path: it refuses a NUL byte and any
  ``..`` component (before or after the backslash conversion), where JS would silently resolve them,
  and returns the normalised components.

Names stored in a drive written by someone else may still hold anything; :func:`is_safe_component` says
whether a component can be used as a local file name.
"""

from __future__ import annotations

import re

from .errors import InvalidPathError

__all__ = ["normalize", "split", "join", "parse", "is_safe_component", "common_prefix"]

_SEPARATORS = re.compile(r"[\\/]+")


def _posix_resolve_root(path: str) -> str:
    """node's ``path.posix.resolve('/', path)``."""
    stack: list[str] = []
    for part in path.split("/"):
        if part == "" or part == ".":
            continue
        if part == "..":
            if stack:
                stack.pop()
            continue
        stack.append(part)
    return "/" + "/".join(stack)


def normalize(path: str) -> str:
    """hyperdrive's ``normalizePath(path)`` (see the module docstring)."""
    if not isinstance(path, str):
        raise InvalidPathError(f"a drive path is a str, not {type(path).__name__}")
    out = _SEPARATORS.sub("/", _posix_resolve_root(path))
    if len(out) > 1:
        out = out.rstrip("/")
    return out


def split(name: str) -> tuple[str, ...]:
    """append-tree's ``split``: the components of a stored node name."""
    parts = name.split("/")
    if parts[0] == "":
        parts.pop(0)
    if parts and parts[-1] == "":
        parts.pop()
    return tuple(parts)


def join(names: tuple[str, ...] | list[str]) -> str:
    """append-tree's ``join``: the node name of a component list."""
    return "/" + "/".join(names)


def parse(path: str) -> tuple[str, ...]:
    """The components of a caller's ``path``, normalised as JS does; :class:`InvalidPathError` for a
    non-string, a NUL byte or a ``..`` component."""
    if not isinstance(path, str):
        raise InvalidPathError(f"a drive path is a str, not {type(path).__name__}")
    if "\0" in path:
        raise InvalidPathError(f"a drive path cannot contain a NUL byte: {path!r}")
    if ".." in _SEPARATORS.split(path):
        raise InvalidPathError(f"a drive path cannot contain '..': {path!r}")
    return split(normalize(path))


def is_safe_component(name: str) -> bool:
    """True when ``name`` can be one component of a local path (not empty, ``.``, ``..``; no ``/``,
    ``\\`` or NUL)."""
    return name not in ("", ".", "..") and not any(c in name for c in "/\\\0")


def common_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """Length of the common prefix of two component tuples (append-tree's ``compare``)."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i
