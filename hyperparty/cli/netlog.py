"""Connection events on stderr for the long-running commands (``core serve``, ``chat``).

The transports and the party log connections, refusals and drops on the ``hyperparty.net`` logger (one
record each).  :func:`connection_log` prints them as ``hyperparty: <message>`` lines on stderr while a
command runs, at most ``rate`` lines a second (burst ``burst``): past that, lines are counted and one
``... N more connection events`` line says how many were left out, so a flood of hostile connections
cannot flood the terminal or a log file.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from typing import Iterator, TextIO

from ..protocol.limits import RateLimit

__all__ = ["connection_log", "RateLimitedHandler"]

LOGGER = "hyperparty.net"


class RateLimitedHandler(logging.Handler):
    """Writes records as ``hyperparty: <message>`` lines, at most ``rate`` a second."""

    def __init__(self, stream: TextIO | None = None, *, rate: float = 5.0, burst: int = 20) -> None:
        super().__init__(logging.INFO)
        self.stream = stream
        self.limit = RateLimit(rate, burst)

    def emit(self, record: logging.LogRecord) -> None:
        out = self.stream if self.stream is not None else sys.stderr
        try:
            now = time.monotonic()
            if not self.limit.allow(now):
                return
            skipped = self.limit.take_dropped()
            if skipped:
                out.write(f"hyperparty: ... {skipped} more connection events\n")
            out.write(f"hyperparty: {record.getMessage()}\n")
            out.flush()
        except Exception:  # pragma: no cover - stderr gone
            self.handleError(record)


@contextlib.contextmanager
def connection_log(stream: TextIO | None = None, *, rate: float = 5.0, burst: int = 20) -> Iterator[RateLimitedHandler]:
    """Print ``hyperparty.net`` records on stderr (rate-limited) for the duration of the block."""
    logger = logging.getLogger(LOGGER)
    handler = RateLimitedHandler(stream, rate=rate, burst=burst)
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
