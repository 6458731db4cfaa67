"""A two-core test feed: the smallest structure whose second core is learned during replication.

``PairFeed`` is a head core whose block 0 is ``PairHeader{type: "hyperparty-test-pair", body: <key>}``
and a body core (its own key pair, written by the creator) that holds the data — the shape of a
hyperdrive (metadata names the content core).  A reader knows only the head's key; it learns the body's
key when head block 0 arrives, opens the body and hands it to :meth:`Feed._learned_core`.
"""

from __future__ import annotations

from typing import Any, Sequence

from hyperparty import protobuf as pb
from hyperparty.feeds import Feed, registry
from hyperparty.feeds.hypercore import Hypercore
from hyperparty.storage import Storage, open_storage

BLOCK0_TYPE = "hyperparty-test-pair"


@pb.message
class PairHeader:
    type: str | None = pb.field(1, "string", required=True)
    body: bytes | None = pb.field(2, "bytes", required=True)


class PairFeed(Feed):
    KIND = "test-pair"
    BLOCK0_TYPE = BLOCK0_TYPE

    def __init__(
        self,
        storage: Storage | str,
        key: bytes | None = None,
        secret_key: bytes | None = None,
        *,
        first_core_storage: Storage | None = None,
        sparse: bool = False,
        head: Hypercore | None = None,
    ) -> None:
        super().__init__()
        self.storage = open_storage(storage) if isinstance(storage, str) else storage
        self.sparse = sparse
        self.head = head or Hypercore(first_core_storage or self.storage.sub("head"), key, secret_key, sparse=sparse)
        self.body: Hypercore | None = None
        self.opened = False

    @classmethod
    def from_core(cls, core: Hypercore, storage: Storage, **options: Any) -> "PairFeed":
        return cls(storage, head=core, sparse=options.get("sparse", False))

    @property
    def key(self) -> bytes:
        return self.head.key

    @property
    def discovery_key(self) -> bytes:
        return self.head.discovery_key

    @property
    def writable(self) -> bool:
        return self.head.writable

    def cores(self) -> Sequence[Hypercore]:
        return [self.head] if self.body is None else [self.head, self.body]

    async def ready(self) -> None:
        if self.opened:
            return
        await self.head.ready()
        if self.head.writable and self.head.length == 0:
            body = Hypercore(self.storage.sub("body"), sparse=self.sparse)
            await body.ready()
            await self.head.append(PairHeader(BLOCK0_TYPE, body.key).encode())
            self.body = body
        elif self.head.has(0):
            await self._open_body(await self.head.get(0))
        else:  # learn the body when head block 0 arrives (a sparse head asks for it, without waiting)
            self.head.on("download", self._on_download)
            if self.sparse:
                self.head.select(0, 1)
        self.opened = True

    def _on_download(self, index: int, data: bytes) -> None:
        if index == 0 and self.body is None:
            self.head.off("download", self._on_download)
            self._learn(self._open_body(data))

    async def _open_body(self, block0: bytes) -> None:
        header = PairHeader.decode(block0)
        body = Hypercore(self.storage.sub("body"), key=header.body, sparse=self.sparse)
        await body.ready()
        self.body = body
        await self._learned_core(body)

    async def append(self, data: bytes) -> int:
        await self.ready()
        assert self.body is not None
        return await self.body.append(data)

    async def close(self) -> None:
        if self.body is not None:
            await self.body.close()
        await self.head.close()


registry.register(PairFeed.KIND, PairFeed, BLOCK0_TYPE)
