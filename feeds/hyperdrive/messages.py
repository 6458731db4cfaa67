"""The protobuf messages of hyperdrive 9.16.0 (``schema.proto``) and append-tree 2.4.4.

* metadata block 0 — ``Index {required string type = 1; optional bytes content = 2}``: ``type`` is
  ``"hyperdrive"``, ``content`` the content feed's public key;
* metadata blocks >= 1 — append-tree ``Node {required string name = 1; optional bytes value = 2;
  optional bytes paths = 3}``: ``name`` is ``/`` + the path components joined by ``/``, ``value`` the
  encoded :class:`Stat` (absent for a deletion), ``paths`` the deflated path index (see
  :mod:`.path_index`);
* ``Stat`` — every field is written with protocol-buffers' generic varint in JS (so no 32-bit
  truncation of ``mode``/``uid``/``gid``); an absent field decodes as 0.

Strings are decoded as JS ``Buffer.toString`` does (invalid UTF-8 becomes U+FFFD).
"""

from __future__ import annotations

from hyperparty import protobuf as pb

__all__ = ["Index", "Stat", "Node", "INDEX_TYPE"]

INDEX_TYPE = "hyperdrive"


@pb.message
class Index:
    type: str | None = pb.field(1, "string", required=True, utf8_errors="replace")
    content: bytes | None = pb.field(2, "bytes")


@pb.message
class Stat:
    mode: int | None = pb.field(1, "uint64", required=True)
    uid: int | None = pb.field(2, "uint64")
    gid: int | None = pb.field(3, "uint64")
    size: int | None = pb.field(4, "uint64")
    blocks: int | None = pb.field(5, "uint64")
    offset: int | None = pb.field(6, "uint64")
    byteOffset: int | None = pb.field(7, "uint64")  # noqa: N815 - the schema's field name
    mtime: int | None = pb.field(8, "uint64")
    ctime: int | None = pb.field(9, "uint64")


@pb.message
class Node:
    name: str | None = pb.field(1, "string", required=True, utf8_errors="replace")
    value: bytes | None = pb.field(2, "bytes")
    paths: bytes | None = pb.field(3, "bytes")
