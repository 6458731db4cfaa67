"""The ``Feed`` interface: what the party engine needs of every replicable structure.

A feed is made of one or more hypercores (hypercore: 1; hyperdrive: metadata + content; hyperdb: one per
authorized writer).  Replication always happens per hypercore, each on its own channel of one
hypercore-protocol stream; a ``Feed`` only has to say which cores it is made of and attach them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from ..protocol.stream import ProtocolStream
    from .hypercore import Hypercore


class Feed(ABC):
    """A replicable structure identified by a 32-byte public key."""

    @property
    @abstractmethod
    def key(self) -> bytes:
        """The 32-byte public key that names this feed (hyperdrive/hyperdb: the first core's key)."""

    @property
    @abstractmethod
    def discovery_key(self) -> bytes:
        """BLAKE2b-256 keyed by ``key`` of the ASCII bytes ``hypercore`` (hides the key on the wire)."""

    @abstractmethod
    async def ready(self) -> None:
        """Open storage and load state.  Idempotent."""

    @abstractmethod
    async def close(self) -> None:
        """Flush and release storage.  Idempotent."""

    @abstractmethod
    def cores(self) -> Sequence["Hypercore"]:
        """The hypercores this feed is made of, the one named by ``key`` first."""

    def owns(self, discovery_key: bytes) -> bool:
        """True when one of this feed's cores has ``discovery_key``."""
        return any(core.discovery_key == discovery_key for core in self.cores())

    async def attach(self, stream: "ProtocolStream", **options: Any) -> None:
        """Attach every core of this feed to ``stream`` (one channel each).

        ``options`` are the replication options (``live``, ``download``, ``upload``, ``sparse`` ...) passed
        through to :meth:`Hypercore.attach`.  Structures whose set of cores grows during replication
        (hyperdb learns writers) override this to attach new cores as they appear.
        """
        await self.ready()
        for core in self.cores():
            await core.attach(stream, **options)
