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
from typing import Any, Protocol

__all__ = ["Codec", "codec"]


class Codec(Protocol):
    def encode(self, value: Any) -> bytes: ...

    def decode(self, data: bytes) -> Any: ...


class _Binary:
    name = "binary"

    @staticmethod
    def encode(value: Any) -> bytes:
        if isinstance(value, str):
            return value.encode("utf-8")
        return bytes(value)

    @staticmethod
    def decode(data: bytes) -> bytes:
        return bytes(data)


class _Text:
    def __init__(self, name: str, encoding: str) -> None:
        self.name = name
        self._encoding = encoding

    def encode(self, value: Any) -> bytes:
        return (value if isinstance(value, str) else str(value)).encode(self._encoding)

    def decode(self, data: bytes) -> str:
        return bytes(data).decode(self._encoding, "replace")


class _Hex:
    name = "hex"

    @staticmethod
    def encode(value: Any) -> bytes:
        return binascii.unhexlify(str(value))

    @staticmethod
    def decode(data: bytes) -> str:
        return bytes(data).hex()


class _Base64:
    name = "base64"

    @staticmethod
    def encode(value: Any) -> bytes:
        return base64.b64decode(str(value))

    @staticmethod
    def decode(data: bytes) -> str:
        return base64.b64encode(bytes(data)).decode("ascii")


class _Json:
    def __init__(self, newline: bool) -> None:
        self.name = "ndjson" if newline else "json"
        self._end = "\n" if newline else ""

    def encode(self, value: Any) -> bytes:
        return (json.dumps(value, separators=(",", ":"), ensure_ascii=False) + self._end).encode("utf-8")

    def decode(self, data: bytes) -> Any:
        return json.loads(bytes(data).decode("utf-8", "replace"))


_NAMED: dict[str, Codec] = {
    "binary": _Binary(),
    "utf-8": _Text("utf-8", "utf-8"),
    "utf8": _Text("utf-8", "utf-8"),
    "ascii": _Text("ascii", "latin-1"),
    "hex": _Hex(),
    "base64": _Base64(),
    "json": _Json(False),
    "ndjson": _Json(True),
}


def codec(spec: "str | Codec | None") -> Codec:
    """The codec named ``spec`` (or ``spec`` itself when it has encode/decode)."""
    if spec is None:
        return _NAMED["binary"]
    if not isinstance(spec, str):
        if callable(getattr(spec, "encode", None)) and callable(getattr(spec, "decode", None)):
            return spec
        raise TypeError("a value encoding is a name or an object with encode() and decode()")
    return _NAMED.get(spec, _NAMED["binary"])
