"""A small synchronous event emitter (the shape of Node's EventEmitter), shared by every layer.

Listeners run in registration order, synchronously, inside the call that emits.  A listener that raises
is logged and skipped: the emitting operation (an append, a verified write) has already been committed
and must not look failed to its caller because of an observer's bug.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

__all__ = ["EventEmitter"]

log = logging.getLogger(__name__)


class EventEmitter:
    """``on``/``once``/``off``/``emit``/``listener_count``."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Callable[..., Any]]] = {}

    def on(self, event: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``fn(*args)`` on every ``emit(event, *args)``; returns ``fn``."""
        self._listeners.setdefault(event, []).append(fn)
        return fn

    def once(self, event: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Like :meth:`on` but removed after the first call."""

        def wrapper(*args: Any) -> Any:
            self.off(event, wrapper)
            return fn(*args)

        wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
        return self.on(event, wrapper)

    def off(self, event: str, fn: Callable[..., Any]) -> None:
        """Remove one registration of ``fn`` (or of a ``once`` wrapper of it)."""
        fns = self._listeners.get(event)
        if not fns:
            return
        for i, registered in enumerate(fns):
            if registered == fn or getattr(registered, "__wrapped__", None) == fn:  # == : bound methods
                del fns[i]
                return

    def emit(self, event: str, *args: Any) -> bool:
        """Call the listeners of ``event``; True when there was at least one."""
        fns = self._listeners.get(event)
        if not fns:
            return False
        for fn in list(fns):
            try:
                fn(*args)
            except Exception:  # see module docstring
                log.exception("listener for %r failed", event)
        return True

    def listener_count(self, event: str) -> int:
        return len(self._listeners.get(event, ()))
