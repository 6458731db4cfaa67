"""The two protobuf messages of a hypertrie 3 feed (hypertrie 3.8.0 ``schema.proto``).

* block 0: ``Header {required string type = 1; optional bytes metadata = 2}``, ``type`` is ``"hypertrie"``;
* blocks >= 1: ``Node {required string key = 1; optional bytes valueBuffer = 2; optional bytes trieBuffer = 3;
  optional uint64 seq = 4; optional uint64 flags = 5}``.  The writer always sets ``trieBuffer``, ``seq``
  (the block index) and ``flags`` (``user_flags << 8 | hidden``); readers ignore the stored ``seq``.

Strings decode as JS ``Buffer.toString`` does (invalid UTF-8 becomes U+FFFD).
"""

from __future__ import annotations

from hyperparty import protobuf as pb

__all__ = ["Header", "NodeMessage", "HEADER_TYPE"]

HEADER_TYPE = "hypertrie"


@pb.message
class Header(pb.Message):
    type: str | None = pb.field(1, "string", required=True, utf8_errors="replace")
    metadata: bytes | None = pb.field(2, "bytes")


@pb.message
class NodeMessage(pb.Message):
    key: str | None = pb.field(1, "string", required=True, utf8_errors="replace")
    value_buffer: bytes | None = pb.field(2, "bytes")
    trie_buffer: bytes | None = pb.field(3, "bytes")
    seq: int | None = pb.field(4, "uint64", default=0)
    flags: int | None = pb.field(5, "uint64", default=0)
