"""Re-export of :mod:`hyperparty.varint` (the varints of protobuf and hypercore-protocol 6)."""

from ..varint import MAX_VARINT_BYTES, VarintError, decode, encode, encode_into

__all__ = ["encode", "encode_into", "decode", "VarintError", "MAX_VARINT_BYTES"]
