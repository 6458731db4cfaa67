"""One small declarative proto2 codec for every message of the stack.

The wire messages of hypercore-protocol 6, the party extension, and the blocks of hypertrie, hyperdrive
(append-tree) and hyperdb are all proto2, encoded in 2019 by mafintosh's ``protocol-buffers`` codegen
(or protobufjs for the party).  They are declared here once, as dataclasses whose fields carry their
protobuf number and kind::

    @protobuf.message
    class Have:
        start: int = protobuf.field(1, "uint64", required=True)
        length: int | None = protobuf.field(2, "uint64", default=1)
        bitfield: bytes | None = protobuf.field(3, "bytes")

Rules (what the JS encoders do, so that ``encode(decode(b)) == b`` for every payload they write):

* **Presence.**  A field left at ``None`` (a repeated field: an empty list) is *absent* and not written;
  anything else is written, ``False``/``0``/``b""`` included.  Decoding keeps absence as ``None``; the
  proto2 default a receiver should assume is given by :func:`value_or_default`.
* **Order.**  Fields are written in field-number order; repeated fields one tag per element, or one
  length-delimited run of values when declared ``packed=True`` (nothing when empty).
* **Decoding** accepts fields in any order (the last value of a scalar field wins), packed and unpacked
  forms of repeated numeric fields, and skips unknown fields of every wire type (varint, fixed64,
  length-delimited, fixed32).  A known field with the wrong wire type, a truncated field, a group wire
  type, field number 0, a missing ``required`` field or (by default) a string that is not UTF-8 raise
  :class:`DecodeError`.  Nothing else is ever raised on hostile bytes.
* **Kinds**: ``uint32 uint64 int32 int64 sint32 sint64 bool enum`` (varint; negative ``int*`` as 10-byte
  two's complement, ``sint*`` zigzag), ``fixed32 sfixed32 float`` (4 bytes little-endian), ``fixed64
  sfixed64 double`` (8 bytes), ``bytes string`` and nested messages (length-delimited; give the nested
  message class as the kind).

Each message class gets a generated encoder and decoder (Python source compiled once per class, the way
``collections.namedtuple`` builds its classes): per field a precomputed tag and one branch, no per-field
dispatch at run time.  ``cls.decode(buf)`` / ``msg.encode()`` / ``msg.encode_into(bytearray)``, or the
module functions :func:`encode` and :func:`decode`.  A message class that also derives from
:class:`Message` declares those methods to type checkers (the decorator attaches them at run time).
"""

from __future__ import annotations

import dataclasses
import struct
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Self, TypeVar, dataclass_transform

from .varint import VarintError, encode_into as _varint_into
from .varint import decode as _varint

__all__ = [
    "Message",
    "message",
    "bind",
    "field",
    "encode",
    "decode",
    "value_or_default",
    "fields_of",
    "FieldSpec",
    "ProtobufError",
    "DecodeError",
    "EncodeError",
]

T = TypeVar("T")

VARINT, FIXED64, BYTES, FIXED32 = 0, 1, 2, 5

_VARINT_KINDS = {"uint32", "uint64", "int32", "int64", "sint32", "sint64", "bool", "enum"}
_FIXED32_KINDS = {"fixed32": "<I", "sfixed32": "<i", "float": "<f"}
_FIXED64_KINDS = {"fixed64": "<Q", "sfixed64": "<q", "double": "<d"}
_BYTES_KINDS = {"bytes", "string"}
_U64 = (1 << 64) - 1


class ProtobufError(ValueError):
    """Base class of the codec's errors."""


class DecodeError(ProtobufError):
    """Bytes that are not a valid encoding of the message (truncated, wrong wire type, missing field)."""


class EncodeError(ProtobufError):
    """A message that cannot be encoded (a required field is missing, a value has the wrong type)."""


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """How one dataclass field is encoded: protobuf ``number``, ``kind`` and options."""

    name: str
    number: int
    kind: Any  # a kind name, or a message class for nested messages
    repeated: bool = False
    packed: bool = False
    required: bool = False
    default: Any = None
    utf8_errors: str = "strict"

    @property
    def wire_type(self) -> int:
        kind = self.kind
        if not isinstance(kind, str) or kind in _BYTES_KINDS:
            return BYTES
        if kind in _VARINT_KINDS:
            return VARINT
        if kind in _FIXED32_KINDS:
            return FIXED32
        return FIXED64


class Message:
    """Optional base of :func:`message` classes, for type checkers: it declares the codec methods the
    decorator attaches at run time, so ``Header.decode(buf).type`` and ``msg.encode()`` type-check.

    It adds nothing at run time (no fields, empty ``__slots__``); the class must still be decorated.
    """

    __slots__ = ()

    if TYPE_CHECKING:  # pragma: no cover - attached by bind()
        __protobuf_fields__: ClassVar[tuple[FieldSpec, ...]]

        @classmethod
        def decode(cls, buf: Any) -> Self:
            """Decode ``buf`` (bytes-like); raises :class:`DecodeError` when malformed."""
            ...

        def encode(self) -> bytes:
            """The protobuf bytes of this message."""
            ...

        def encode_into(self, out: bytearray) -> None:
            """Append the protobuf bytes of this message to ``out``."""
            ...


def field(
    number: int,
    kind: Any,
    *,
    repeated: bool = False,
    packed: bool = False,
    required: bool = False,
    default: Any = None,
    utf8_errors: str = "strict",
) -> Any:
    """Declare a protobuf field on a :func:`message` dataclass.

    The dataclass default is ``None`` (absent), or an empty list for ``repeated``; ``default`` is the
    proto2 default a reader assumes for an absent field (see :func:`value_or_default`), never written.
    ``utf8_errors="replace"`` decodes a non-UTF-8 string as JS's ``Buffer.toString`` does instead of
    raising.
    """
    if not 1 <= number < 1 << 29:
        raise ValueError(f"invalid field number {number}")
    if isinstance(kind, str) and kind not in _VARINT_KINDS | _BYTES_KINDS | set(_FIXED32_KINDS) | set(_FIXED64_KINDS):
        raise ValueError(f"unknown protobuf kind {kind!r}")
    if packed and (not repeated or not isinstance(kind, str) or kind in _BYTES_KINDS):
        raise ValueError("only repeated numeric fields can be packed")
    meta = {
        "protobuf": dict(
            number=number, kind=kind, repeated=repeated, packed=packed, required=required, default=default,
            utf8_errors=utf8_errors,
        )
    }
    if repeated:
        return dataclasses.field(default_factory=list, metadata=meta)
    return dataclasses.field(default=None, metadata=meta)


def fields_of(cls: type) -> tuple[FieldSpec, ...]:
    """The protobuf fields of a :func:`message` class, in field-number order."""
    return cls.__protobuf_fields__  # type: ignore[attr-defined]


def value_or_default(msg: Any, name: str) -> Any:
    """``msg.<name>``, or the field's proto2 default when it is absent (``None``)."""
    value = getattr(msg, name)
    if value is not None:
        return value
    for spec in fields_of(type(msg)):
        if spec.name == name:
            return spec.default
    raise AttributeError(name)


def encode(msg: Any) -> bytes:
    """The protobuf bytes of ``msg`` (an instance of a :func:`message` class)."""
    out = bytearray()
    msg.encode_into(out)
    return bytes(out)


def decode(cls: type[T], buf: Any) -> T:
    """Decode ``buf`` (bytes-like) as a ``cls`` message; raises :class:`DecodeError` when malformed."""
    return cls.decode(buf)  # type: ignore[attr-defined]


# -- run-time helpers used by the generated code ----------------------------------------------------------


def _tag_bytes(number: int, wire_type: int) -> bytes:
    out = bytearray()
    _varint_into(out, number << 3 | wire_type)
    return bytes(out)


def _put_varint(out: bytearray, value: int) -> None:
    if value < 0:
        value &= _U64  # int32/int64: two's complement, 10 bytes
    _varint_into(out, value)


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63) if value < 0 else value << 1


def _unzigzag(value: int) -> int:
    return (value >> 1) ^ -(value & 1)


def _signed64(value: int) -> int:
    value &= _U64
    return value - (1 << 64) if value >= 1 << 63 else value


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _read_varint(buf: Any, pos: int, end: int) -> tuple[int, int]:
    try:
        return _varint(buf, pos, end)
    except VarintError as exc:
        raise DecodeError(str(exc)) from None


def _read_len(buf: Any, pos: int, end: int) -> tuple[int, int]:
    """A length-delimited field's ``(start, stop)``."""
    n, pos = _read_varint(buf, pos, end)
    stop = pos + n
    if stop > end:
        raise DecodeError("length-delimited field runs past the message")
    return pos, stop


def _skip(buf: Any, pos: int, end: int, tag: int) -> int:
    wt = tag & 7
    if tag >> 3 == 0:
        raise DecodeError("field number 0")
    if wt == VARINT:
        return _read_varint(buf, pos, end)[1]
    if wt == BYTES:
        return _read_len(buf, pos, end)[1]
    if wt == FIXED64:
        pos += 8
    elif wt == FIXED32:
        pos += 4
    else:
        raise DecodeError(f"unsupported wire type {wt}")
    if pos > end:
        raise DecodeError("truncated fixed-width field")
    return pos


def _text(buf: Any, start: int, stop: int, errors: str) -> str:
    try:
        return bytes(buf[start:stop]).decode("utf-8", errors)
    except UnicodeDecodeError:
        raise DecodeError("string field is not UTF-8") from None


def _fixed(buf: Any, pos: int, end: int, fmt: str, size: int) -> tuple[Any, int]:
    stop = pos + size
    if stop > end:
        raise DecodeError("truncated fixed-width field")
    return struct.unpack_from(fmt, buf, pos)[0], stop


def _packed_varints(buf: Any, pos: int, stop: int, convert: Callable[[int], Any] | None) -> list:
    values = []
    while pos < stop:
        v, pos = _read_varint(buf, pos, stop)
        values.append(convert(v) if convert else v)
    return values


def _packed_fixed(buf: Any, pos: int, stop: int, fmt: str, size: int) -> list:
    if (stop - pos) % size:
        raise DecodeError("packed fixed-width field has a partial value")
    return [struct.unpack_from(fmt, buf, p)[0] for p in range(pos, stop, size)]


# -- code generation ----------------------------------------------------------------------------------------

_VARINT_DECODE = {  # kind -> expression converting the raw varint ``v``
    "uint32": "v",
    "uint64": "v",
    "enum": "_signed32(v)",
    "int32": "_signed32(v)",
    "int64": "_signed64(v)",
    "sint32": "_unzigzag(v)",
    "sint64": "_unzigzag(v)",
    "bool": "v != 0",
}
_VARINT_CONVERT: dict[str, Callable[[int], Any] | None] = {
    "uint32": None,
    "uint64": None,
    "enum": _signed32,
    "int32": _signed32,
    "int64": _signed64,
    "sint32": _unzigzag,
    "sint64": _unzigzag,
    "bool": lambda v: v != 0,
}


def _encode_value_lines(spec: FieldSpec, var: str, out: str, ns: dict[str, Any], indent: str) -> list[str]:
    """Source lines appending the bytes of one value (without its tag) to ``out``."""
    kind = spec.kind
    if not isinstance(kind, str):
        ns[f"_M_{spec.name}"] = kind
        return [
            f"{indent}_b = bytearray()",
            f"{indent}{var}.encode_into(_b)",
            f"{indent}_varint_into({out}, len(_b))",
            f"{indent}{out} += _b",
        ]
    if kind == "bytes":
        return [f"{indent}_varint_into({out}, len({var}))", f"{indent}{out} += {var}"]
    if kind == "string":
        return [f"{indent}_s = {var}.encode('utf-8')", f"{indent}_varint_into({out}, len(_s))", f"{indent}{out} += _s"]
    if kind == "bool":
        return [f"{indent}{out}.append(1 if {var} else 0)"]
    if kind in ("uint32", "uint64"):
        return [f"{indent}if 0 <= {var} < 128: {out}.append({var})", f"{indent}else: _varint_into({out}, {var})"]
    if kind in ("int32", "int64", "enum"):
        return [f"{indent}_put_varint({out}, {var})"]
    if kind in ("sint32", "sint64"):
        return [f"{indent}_varint_into({out}, _zigzag({var}))"]
    fmt = _FIXED32_KINDS.get(kind) or _FIXED64_KINDS[kind]
    return [f"{indent}{out} += _pack({fmt!r}, {var})"]


def _build_encoder(cls: type, specs: tuple[FieldSpec, ...]) -> Callable[[Any, bytearray], None]:
    ns: dict[str, Any] = {
        "_varint_into": _varint_into,
        "_put_varint": _put_varint,
        "_zigzag": _zigzag,
        "_pack": struct.pack,
        "EncodeError": EncodeError,
    }
    lines = ["def encode_into(self, out):"]
    for spec in specs:
        tag = _tag_bytes(spec.number, BYTES if spec.packed else spec.wire_type)
        ns[f"_T_{spec.name}"] = tag
        lines.append(f"    v = self.{spec.name}")
        if spec.repeated:
            if spec.packed:
                lines.append("    if v:")
                lines.append("        _p = bytearray()")
                lines.append("        for x in v:")
                lines += _encode_value_lines(spec, "x", "_p", ns, "            ")
                lines.append(f"        out += _T_{spec.name}")
                lines.append("        _varint_into(out, len(_p))")
                lines.append("        out += _p")
            else:
                lines.append("    for x in v:")
                lines.append(f"        out += _T_{spec.name}")
                lines += _encode_value_lines(spec, "x", "out", ns, "        ")
            continue
        if spec.required:
            lines.append("    if v is None:")
            lines.append(f"        raise EncodeError('{cls.__name__}.{spec.name} is required')")
            lines.append(f"    out += _T_{spec.name}")
            lines += _encode_value_lines(spec, "v", "out", ns, "    ")
        else:
            lines.append("    if v is not None:")
            lines.append(f"        out += _T_{spec.name}")
            lines += _encode_value_lines(spec, "v", "out", ns, "        ")
    if len(lines) == 1:
        lines.append("    pass")
    exec("\n".join(lines), ns)  # noqa: S102 - source built above from the field specs only
    return ns["encode_into"]


def _build_decoder(cls: type, specs: tuple[FieldSpec, ...]) -> Callable[[Any, int, int], Any]:
    ns: dict[str, Any] = {
        "_read_varint": _read_varint,
        "_read_len": _read_len,
        "_skip": _skip,
        "_text": _text,
        "_fixed": _fixed,
        "_packed_varints": _packed_varints,
        "_packed_fixed": _packed_fixed,
        "_signed32": _signed32,
        "_signed64": _signed64,
        "_unzigzag": _unzigzag,
        "DecodeError": DecodeError,
        "_cls": cls,
    }
    names = [s.name for s in specs]
    lines = ["def decode_range(buf, pos, end):"]
    for spec in specs:
        lines.append(f"    f_{spec.name} = {'[]' if spec.repeated else 'None'}")
    lines.append("    while pos < end:")
    lines.append("        tag = buf[pos]")
    lines.append("        if tag < 128: pos += 1")
    lines.append("        else: tag, pos = _read_varint(buf, pos, end)")
    first = True
    numbers = []
    for spec in specs:
        numbers.append(spec.number)
        kind = spec.kind
        wt = spec.wire_type
        tag = spec.number << 3 | wt
        target = f"f_{spec.name}"
        store = (lambda expr, t=target, rep=spec.repeated: f"{t}.append({expr})" if rep else f"{t} = {expr}")
        kw = "if" if first else "elif"
        first = False
        lines.append(f"        {kw} tag == {tag}:")
        if wt == VARINT:
            lines.append("            v, pos = _read_varint(buf, pos, end)")
            lines.append(f"            {store(_VARINT_DECODE[kind])}")
        elif wt == BYTES:
            lines.append("            s, pos = _read_len(buf, pos, end)")
            if kind == "bytes":
                lines.append(f"            {store('bytes(buf[s:pos])')}")
            elif kind == "string":
                lines.append(f"            {store(f'_text(buf, s, pos, {spec.utf8_errors!r})')}")
            else:
                ns[f"_M_{spec.name}"] = kind
                lines.append(f"            {store(f'_M_{spec.name}._decode_range(buf, s, pos)')}")
        else:
            fmt = _FIXED32_KINDS.get(kind) or _FIXED64_KINDS[kind]
            size = 4 if wt == FIXED32 else 8
            lines.append(f"            v, pos = _fixed(buf, pos, end, {fmt!r}, {size})")
            lines.append(f"            {store('v')}")
        if spec.repeated and wt != BYTES:  # packed form of a repeated numeric field
            lines.append(f"        elif tag == {spec.number << 3 | BYTES}:")
            lines.append("            s, pos = _read_len(buf, pos, end)")
            if wt == VARINT:
                ns[f"_C_{spec.name}"] = _VARINT_CONVERT[kind]
                lines.append(f"            {target} += _packed_varints(buf, s, pos, _C_{spec.name})")
            else:
                fmt = _FIXED32_KINDS.get(kind) or _FIXED64_KINDS[kind]
                size = 4 if wt == FIXED32 else 8
                lines.append(f"            {target} += _packed_fixed(buf, s, pos, {fmt!r}, {size})")
    ns["_KNOWN"] = frozenset(numbers)
    if first:
        lines.append("        if tag >> 3 in _KNOWN:")
    else:
        lines.append("        elif tag >> 3 in _KNOWN:")
    lines.append(f"            raise DecodeError('{cls.__name__}: field ' + str(tag >> 3) + ' has the wrong wire type')")
    lines.append("        else:")
    lines.append("            pos = _skip(buf, pos, end, tag)")
    for spec in specs:
        if spec.required:
            lines.append(f"    if f_{spec.name} is None:")
            lines.append(f"        raise DecodeError('{cls.__name__} without its required field {spec.name}')")
    args = ", ".join(f"{n}=f_{n}" for n in names)
    lines.append(f"    return _cls({args})")
    exec("\n".join(lines), ns)  # noqa: S102 - source built above from the field specs only
    return ns["decode_range"]


@dataclass_transform()  # type checkers see a dataclass; every field defaults to what field() returns
def message(cls: type[T]) -> type[T]:
    """Class decorator: make ``cls`` a slotted dataclass and give it a compiled protobuf codec.

    Adds ``encode()``, ``encode_into(out)``, the classmethod ``decode(buf)`` and
    ``__protobuf_fields__`` (the :class:`FieldSpec` tuple, in field-number order).  Subclasses of a
    message class may add fields (each must be decorated again).
    """
    if "__dataclass_fields__" not in cls.__dict__:
        cls = dataclasses.dataclass(slots=True)(cls)
    specs = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        meta = f.metadata.get("protobuf")
        if meta is not None:
            specs.append(FieldSpec(name=f.name, **meta))
    return bind(cls, *specs)


def bind(cls: type[T], *specs: FieldSpec) -> type[T]:
    """Give an existing class (e.g. a ``NamedTuple``) the codec of :func:`message` for ``specs``.

    ``cls(**fields)`` must construct it and its instances must expose the fields as attributes.
    """
    ordered = sorted(specs, key=lambda s: s.number)
    if len({s.number for s in ordered}) != len(ordered):
        raise ValueError(f"{cls.__name__}: duplicate field numbers")
    spec_tuple = tuple(ordered)
    decode_range = _build_decoder(cls, spec_tuple)

    def _decode(klass: type, buf: Any) -> Any:
        return decode_range(buf, 0, len(buf))

    def _encode(self: Any) -> bytes:
        out = bytearray()
        self.encode_into(out)
        return bytes(out)

    setattr(cls, "__protobuf_fields__", spec_tuple)
    setattr(cls, "encode_into", _build_encoder(cls, spec_tuple))
    setattr(cls, "encode", _encode)
    setattr(cls, "decode", classmethod(_decode))
    setattr(cls, "_decode_range", staticmethod(decode_range))
    return cls
