"""Re-export of the shared :class:`hyperparty.events.EventEmitter`."""

from ...events import EventEmitter

__all__ = ["EventEmitter"]
