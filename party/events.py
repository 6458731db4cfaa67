"""A tiny synchronous event emitter (``on``/``off``/``emit``), the shape the JS objects had."""

from __future__ import annotations

import logging
from typing import Any, Callable

log = logging.getLogger(__name__)


class EventEmitter:
    """Listeners run synchronously in registration order; one raising listener is logged, not fatal."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Callable[..., Any]]] = {}

    def on(self, event: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        self._listeners.setdefault(event, []).append(fn)
        return fn

    def off(self, event: str, fn: Callable[..., Any]) -> None:
        fns = self._listeners.get(event)
        if fns and fn in fns:
            fns.remove(fn)

    def emit(self, event: str, *args: Any) -> None:
        for fn in list(self._listeners.get(event, ())):
            try:
                fn(*args)
            except Exception:  # a listener's bug must not break the connection that emitted
                log.exception("listener for %r failed", event)
