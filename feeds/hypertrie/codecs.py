"""Value encodings, as the JS ``codecs`` 2 package names them (hypertrie's ``valueEncoding`` option).

* ``binary`` (default; also JS's behaviour with no valueEncoding): values are bytes; a ``str`` is stored as
  its UTF-8 bytes; reads return ``bytes``.
* ``utf-8`` / ``utf8``: values are ``str``.
* ``json``: ``JSON.stringify`` bytes (compact, non-ASCII kept, integral floats written as integers).

Any object with ``encode(value) -> bytes`` and ``decode(bytes) -> value`` works too.
"""

from __future__ import annotations

import json
import math
from typing import Any, Protocol

__all__ = ["ValueEncoding", "get_encoding", "BINARY", "UTF8", "JSON"]


class ValueEncoding(Protocol):
    name: str

    def encode(self, value: Any) -> bytes: ...

    def decode(self, data: bytes) -> Any: ...


class _Binary:
    name = "binary"

    def encode(self, value: Any) -> bytes:
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        raise TypeError(f"binary values are bytes or str, not {type(value).__name__}")

    def decode(self, data: bytes) -> bytes:
        return data


class _Utf8:
    name = "utf-8"

    def encode(self, value: Any) -> bytes:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        return str(value).encode("utf-8")

    def decode(self, data: bytes) -> str:
        return data.decode("utf-8", "replace")


def _js_numbers(value: Any) -> Any:
    """Floats that JS prints as integers (``1.0`` -> ``1``); NaN/Infinity -> None (JSON.stringify: null)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if value.is_integer() and abs(value) < 1e21:
            return int(value)
        return value
    if isinstance(value, dict):
        return {k: _js_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_js_numbers(v) for v in value]
    return value


class _Json:
    name = "json"

    def encode(self, value: Any) -> bytes:
        return json.dumps(_js_numbers(value), separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def decode(self, data: bytes) -> Any:
        return json.loads(data.decode("utf-8", "replace"))


BINARY = _Binary()
UTF8 = _Utf8()
JSON = _Json()
_BY_NAME: dict[str, ValueEncoding] = {"binary": BINARY, "buffer": BINARY, "utf-8": UTF8, "utf8": UTF8, "json": JSON}


def get_encoding(encoding: "str | ValueEncoding | None") -> ValueEncoding:
    """An encoding by name (``binary``, ``utf-8``/``utf8``, ``json``) or an encode/decode object."""
    if encoding is None:
        return BINARY
    if isinstance(encoding, str):
        try:
            return _BY_NAME[encoding.lower()]
        except KeyError:
            raise ValueError(f"unknown value encoding {encoding!r} (binary, utf-8, json)") from None
    if not (hasattr(encoding, "encode") and hasattr(encoding, "decode")):
        raise TypeError("a value encoding has encode() and decode()")
    return encoding
