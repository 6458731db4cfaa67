"""Value encodings (the ``codecs`` 1.2.1 package hyperdb uses for ``valueEncoding``).

``"binary"`` (default): bytes in, bytes out (a ``str`` is stored as its UTF-8 bytes); ``"utf-8"``/``"utf8"``,
``"ascii"``, ``"hex"``, ``"base64"``: ``str`` values; ``"json"`` / ``"ndjson"``: any JSON value, written as
``JSON.stringify`` writes it (no spaces; ndjson adds ``\\n``).  Any object with ``encode(value) -> bytes``
and ``decode(bytes) -> value`` is accepted as is.  An unknown name falls back to binary, as in JS.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Callable, Protocol

__all__ = ["Codec", "codec"]


class Codec(Protocol):
    def encode(self, value: Any) -> bytes: ...

    def decode(self, data: bytes) -> Any: ...


class _Codec:
    def __init__(self, name: str, encode: Callable[[Any], bytes], decode: Callable[[bytes], Any]) -> None:
        self.name = name
        self.encode = encode
        self.decode = decode


def _text(encoding: str) -> tuple[Callable[[Any], bytes], Callable[[bytes], str]]:
    return (
        lambda v: (v if isinstance(v, str) else str(v)).encode(encoding),
        lambda b: bytes(b).decode(encoding, "replace"),
    )


def _json(end: str) -> tuple[Callable[[Any], bytes], Callable[[bytes], Any]]:
    return (
        lambda v: (json.dumps(v, separators=(",", ":"), ensure_ascii=False) + end).encode("utf-8"),
        lambda b: json.loads(bytes(b).decode("utf-8", "replace")),
    )


_BINARY = _Codec("binary", lambda v: v.encode("utf-8") if isinstance(v, str) else bytes(v), bytes)
_UTF8 = _Codec("utf-8", *_text("utf-8"))

_NAMED: dict[str, Codec] = {
    "binary": _BINARY,
    "utf-8": _UTF8,
    "utf8": _UTF8,
    "ascii": _Codec("ascii", lambda v: str(v).encode("latin-1", "replace"), lambda b: bytes(x & 0x7F for x in b).decode("ascii")),
    "hex": _Codec("hex", lambda v: binascii.unhexlify(str(v)), lambda b: bytes(b).hex()),
    "base64": _Codec("base64", lambda v: base64.b64decode(str(v)), lambda b: base64.b64encode(bytes(b)).decode("ascii")),
    "json": _Codec("json", *_json("")),
    "ndjson": _Codec("ndjson", *_json("\n")),
}


def codec(spec: "str | Codec | None") -> Codec:
    """The codec named ``spec`` (or ``spec`` itself when it has encode/decode)."""
    if spec is None:
        return _BINARY
    if not isinstance(spec, str):
        if callable(getattr(spec, "encode", None)) and callable(getattr(spec, "decode", None)):
            return spec
        raise TypeError("a value encoding is a name or an object with encode() and decode()")
    return _NAMED.get(spec, _BINARY)
