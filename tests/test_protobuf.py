"""The one protobuf codec (hyperparty/protobuf.py): presence, order, every kind, hostile bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hyperparty import protobuf as pb


@pb.message
class Inner:
    index: int | None = pb.field(1, "uint64", required=True)
    name: str | None = pb.field(2, "string")


@pb.message
class Everything:
    u64: int | None = pb.field(1, "uint64")
    i64: int | None = pb.field(2, "int64")
    i32: int | None = pb.field(3, "int32")
    s64: int | None = pb.field(4, "sint64")
    flag: bool | None = pb.field(5, "bool")
    blob: bytes | None = pb.field(6, "bytes")
    text: str | None = pb.field(7, "string")
    f32: int | None = pb.field(8, "fixed32")
    f64: int | None = pb.field(9, "fixed64")
    sf64: int | None = pb.field(10, "sfixed64")
    dbl: float | None = pb.field(11, "double")
    inner: Inner | None = pb.field(12, Inner)
    many: list[Inner] = pb.field(13, Inner, repeated=True)
    packed: list[int] = pb.field(14, "uint64", repeated=True, packed=True)
    unpacked: list[int] = pb.field(15, "sint32", repeated=True)
    big: int | None = pb.field(300, "uint32", default=7)


_u64 = st.integers(0, 2**64 - 1)
_everything = st.builds(
    Everything,
    st.none() | _u64,
    st.none() | st.integers(-(2**63), 2**63 - 1),
    st.none() | st.integers(-(2**31), 2**31 - 1),
    st.none() | st.integers(-(2**63), 2**63 - 1),
    st.none() | st.booleans(),
    st.none() | st.binary(max_size=40),
    st.none() | st.text(max_size=20),
    st.none() | st.integers(0, 2**32 - 1),
    st.none() | _u64,
    st.none() | st.integers(-(2**63), 2**63 - 1),
    st.none() | st.floats(allow_nan=False),
    st.none() | st.builds(Inner, _u64, st.none() | st.text(max_size=5)),
    st.lists(st.builds(Inner, _u64), max_size=3),
    st.lists(_u64, max_size=5),
    st.lists(st.integers(-(2**31), 2**31 - 1), max_size=5),
    st.none() | st.integers(0, 2**32 - 1),
)


@given(_everything)
def test_round_trip_keeps_presence(msg: Everything) -> None:
    assert Everything.decode(msg.encode()) == msg


def test_absent_fields_are_not_written_and_false_zero_empty_are() -> None:
    assert Everything().encode() == b""
    assert Everything(u64=0, flag=False, blob=b"", text="").encode() == b"\x08\x00\x28\x00\x32\x00\x3a\x00"
    assert pb.value_or_default(Everything(), "big") == 7
    assert pb.value_or_default(Everything(big=3), "big") == 3


def test_fields_are_written_in_number_order_and_known_bytes() -> None:
    msg = Everything(big=1, u64=150, i32=-1, s64=-2, packed=[1, 300], unpacked=[-1])
    assert msg.encode().hex() == (
        "089601"  # 1: 150
        "18ffffffffffffffffff01"  # 3: int32 -1 as 10-byte two's complement
        "2003"  # 4: zigzag(-2) = 3
        "720301ac02"  # 14: packed [1, 300]
        "7801"  # 15: zigzag(-1) = 1, unpacked
        "e01201"  # 300: 1
    )


def test_decoder_accepts_any_order_both_repeated_forms_and_skips_unknown_fields() -> None:
    data = bytes.fromhex(
        "7002"  # 14 unpacked: 2
        "7203010203"  # 14 packed: 1 2 3
        "f80601"  # unknown varint field 111
        "a10601020304050607 08"  # unknown fixed64 field 100
        "ad060102 0304"  # unknown fixed32 field 101
        "b2060161"  # unknown bytes field 102
        "0801 0802"  # 1 twice: the last wins
    )
    msg = Everything.decode(data)
    assert msg.packed == [2, 1, 2, 3] and msg.u64 == 2


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"\x08", "truncated varint"),
        (b"\x32\x05ab", "runs past"),
        (b"\x0a\x01x", "wrong wire type"),  # field 1 is a varint
        (b"\x3a\x02\xff\xfe", "not UTF-8"),
        (b"\x0b", "wire type"),  # group start
        (b"\x00\x01", "field number 0"),
        (b"\x80" * 11, "varint"),
        (b"\x62\x00", "required"),  # inner without its required index
        (b"\x49\x01\x02", "truncated fixed"),
    ],
)
def test_malformed_input_raises_decode_error(data: bytes, reason: str) -> None:
    with pytest.raises(pb.DecodeError, match=reason):
        Everything.decode(data)


def test_missing_required_field_on_encode() -> None:
    with pytest.raises(pb.EncodeError):
        Inner().encode()


@given(st.binary(max_size=80))
def test_random_bytes_only_raise_decode_error(data: bytes) -> None:
    try:
        Everything.decode(data)
    except pb.DecodeError:
        pass


def test_replace_utf8_option() -> None:
    @pb.message
    class Loose:
        name: str | None = pb.field(1, "string", utf8_errors="replace")

    assert Loose.decode(b"\x0a\x02\xff\x41").name == "\ufffdA"


def test_invalid_declarations() -> None:
    with pytest.raises(ValueError):
        pb.field(0, "uint64")
    with pytest.raises(ValueError):
        pb.field(1, "varchar")
    with pytest.raises(ValueError):
        pb.field(1, "string", repeated=True, packed=True)
