"""Re-export of the shared :class:`hyperparty.events.EventEmitter` (``on``/``once``/``off``/``emit``)."""

from ..events import EventEmitter

__all__ = ["EventEmitter"]
