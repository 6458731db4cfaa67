"""Taking an object out of the cyclic garbage collector's sight, for objects that can never be in a cycle.

CPython's collector walks every *tracked* container object on a full collection, and runs one whenever
the objects that survived the younger collections grow by a quarter.  It untracks exact ``tuple`` and
``dict`` objects whose contents are atomic by itself, but never an instance of a tuple subclass such as a
``NamedTuple`` (``Node``), nor an ``OrderedDict``: a feed cache holding 200 000 nodes costs a walk over
all of them every time the heap grows by a quarter (a party of ten peers with 10 000-block feeds spent
16 % of its CPU there).

:func:`untrack` calls the C API's ``PyObject_GC_UnTrack`` through ``ctypes.pythonapi`` (the GIL is held:
it is a ``PyDLL``).  It is only safe for objects that cannot be part of a reference cycle — a tuple whose
items are exact ``int``/``bytes`` — and callers check that.  On interpreters without ``pythonapi`` it
does nothing (the objects then simply stay tracked).
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["untrack", "AVAILABLE"]


def _load() -> Callable[[Any], None] | None:
    try:
        import ctypes

        fn = ctypes.pythonapi.PyObject_GC_UnTrack
    except (ImportError, AttributeError):  # not CPython
        return None
    fn.argtypes = [ctypes.py_object]
    fn.restype = None
    return fn


_UNTRACK = _load()
AVAILABLE = _UNTRACK is not None


def untrack(obj: Any) -> None:
    """Stop the cyclic GC from tracking ``obj`` (a no-op where the C API is not reachable).

    The caller guarantees ``obj`` cannot be part of a reference cycle: nothing it references can refer
    back to it (e.g. a tuple of exact ints and bytes).  Reference counting still frees it as usual.
    """
    if _UNTRACK is not None:
        _UNTRACK(obj)
