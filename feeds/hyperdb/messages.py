"""The three protobuf messages of hyperdb 3.5.0 (``schema.proto``), declared with hyperparty.protobuf.

* ``Header`` — block 0 of every writer feed: ``{protocol: "hyperdb"}`` = ``0a 07 'hyperdb'``.
* ``Entry`` — blocks >= 1: key, value, deleted, trie (see ``trie.py``), clock (repeated, NOT packed, zeros
  written), inflate (seq of the author's latest ``InflatedEntry``; always written).
* ``InflatedEntry`` — an ``Entry`` plus the author's feeds list (field 7, one ``Feed{key}`` per writer;
  positions are the author's wire feed numbers) and its content feed key (field 8, content-feed dbs only).

Readers decode every entry as ``Entry`` (fields 7/8 skipped) and the feeds list from block ``inflate``.
Strings decode as JS's ``Buffer.toString`` does (invalid UTF-8 is replaced, never an error).
"""

from __future__ import annotations

from hyperparty import protobuf as pb

__all__ = ["Header", "Entry", "InflatedEntry", "FeedRef", "HEADER_BLOCK", "PROTOCOL"]

PROTOCOL = "hyperdb"


@pb.message
class Header(pb.Message):
    protocol: str | None = pb.field(1, "string", required=True, utf8_errors="replace")


@pb.message
class FeedRef(pb.Message):
    """``InflatedEntry.Feed``: one writer of the author's feeds list."""

    key: bytes | None = pb.field(1, "bytes", required=True)


@pb.message
class Entry(pb.Message):
    key: str | None = pb.field(1, "string", required=True, utf8_errors="replace")
    value: bytes | None = pb.field(2, "bytes")
    deleted: bool | None = pb.field(3, "bool")
    trie: bytes | None = pb.field(4, "bytes", required=True)
    clock: list[int] = pb.field(5, "uint64", repeated=True)
    inflate: int | None = pb.field(6, "uint64")


@pb.message
class InflatedEntry(pb.Message):
    key: str | None = pb.field(1, "string", required=True, utf8_errors="replace")
    value: bytes | None = pb.field(2, "bytes")
    deleted: bool | None = pb.field(3, "bool")
    trie: bytes | None = pb.field(4, "bytes", required=True)
    clock: list[int] = pb.field(5, "uint64", repeated=True)
    inflate: int | None = pb.field(6, "uint64")
    feeds: list[FeedRef] = pb.field(7, FeedRef, repeated=True)
    contentFeed: bytes | None = pb.field(8, "bytes")  # noqa: N815 (the proto field name)


HEADER_BLOCK = Header(protocol=PROTOCOL).encode()
