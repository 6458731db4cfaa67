"""Replicable structures.  :class:`Feed` is the common interface (see :mod:`.base`)."""

from .base import Feed

__all__ = ["Feed"]
