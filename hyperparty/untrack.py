"""Taking an object out of the cyclic garbage collector's sight, for objects that can never be in a cycle.

CPython's collector walks every *tracked* container object on a full collection, and runs one whenever
the objects that survived the younger collections grow by a quarter.  It untracks exact ``tuple`` and
``dict`` objects whose contents are atomic by itself, but never an instance of a tuple subclass such as a
``NamedTuple`` (``Node``), nor an ``OrderedDict``: a feed cache holding 200 000 nodes costs a walk over
all of them every time the heap grows by a quarter (a party of ten peers with 10 000-block feeds spent
16 % of its CPU there).

:func:`untrack` calls the C API's ``PyObject_GC_UnTrack``: through the small extension
``hyperparty._gc`` (``hyperparty/_gc.c``, built by setup.py beside the mypyc modules; about 30 ns a call),
else through ``ctypes.pythonapi`` (the GIL is held: it is a ``PyDLL``; about 180 ns a call, and the
tree-node cache makes two calls per node it stores).  Either way, objects that are not tracked containers
are left alone.  It is only safe for objects that cannot be part of a reference cycle — a tuple whose
items are exact ``int``/``bytes`` — and callers check that.  On interpreters with neither it does nothing
(the objects then simply stay tracked).
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["untrack", "AVAILABLE", "IMPLEMENTATION"]


def _load_ctypes() -> Callable[[Any], None] | None:
    """``PyObject_GC_UnTrack`` through ctypes, guarded like the extension's (None when not CPython)."""
    try:
        import ctypes
        from gc import is_tracked

        fn = ctypes.pythonapi.PyObject_GC_UnTrack
    except (ImportError, AttributeError):  # not CPython
        return None
    fn.argtypes = [ctypes.py_object]
    fn.restype = None

    def untrack_ctypes(obj: Any) -> None:
        if is_tracked(obj):  # PyObject_GC_UnTrack must only see container objects
            fn(obj)

    return untrack_ctypes


def _load() -> tuple[Callable[[Any], None] | None, str]:
    try:
        from ._gc import untrack as untrack_c
    except ImportError:  # not built (HYPERPARTY_NO_COMPILE, no compiler, another interpreter)
        fn = _load_ctypes()
        return fn, ("ctypes" if fn is not None else "none")
    return untrack_c, "extension"


_UNTRACK, IMPLEMENTATION = _load()
AVAILABLE = _UNTRACK is not None


def untrack(obj: Any) -> None:
    """Stop the cyclic GC from tracking ``obj`` (a no-op for an untracked or non-container object, and
    where the C API is not reachable).

    The caller guarantees ``obj`` cannot be part of a reference cycle: nothing it references can refer
    back to it (e.g. a tuple of exact ints and bytes).  Reference counting still frees it as usual.
    """
    if _UNTRACK is not None:
        _UNTRACK(obj)
