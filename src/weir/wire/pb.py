"""A small protobuf wire-format reader and writer, and snappy block bodies, for remote write/read.

Why our own: the remote-write and remote-read messages are a handful of flat messages
(labels, samples, a few enums), and reading them field by field from the bytes lets the hot
path skip what it does not need and cache what repeats (a series' label bytes), which the
generated classes cannot. Everything here follows the protobuf encoding document: varints,
zigzag-free int64 (two's complement in ten bytes when negative), fixed64 doubles and
length-delimited records; unknown fields are skipped by their wire type, as protobuf
parsers must. A malformed body (truncated record, overlong varint, the group wire types 3
and 4, field number 0) raises `MalformedError`, a 400.

Snappy: remote write and read use the snappy *block* format (not the framed one). Its first
bytes are a varint giving the uncompressed length, which is checked against a limit before
anything is allocated, so a small body that claims gigabytes (a "snappy bomb") is a 413.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from weir.errors import InvalidInputError, PayloadTooLargeError

VARINT, I64, LEN, I32 = 0, 1, 2, 5
_F64 = struct.Struct("<d")
_U64 = 1 << 64


class MalformedError(InvalidInputError):
    """The bytes are not a valid protobuf encoding of the expected message."""


def varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, position after it); at most ten bytes, as protobuf allows."""
    result = shift = 0
    end = min(pos + 10, len(data))
    while pos < end:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            if result >> 64:
                raise MalformedError("malformed protobuf: a varint larger than 64 bits")
            return result, pos
        shift += 7
    if pos >= len(data):
        raise MalformedError("malformed protobuf: truncated varint")
    raise MalformedError("malformed protobuf: a varint longer than ten bytes")


def int64(value: int) -> int:
    """A varint read as protobuf's int64 (negative numbers take ten bytes, two's complement)."""
    value &= _U64 - 1
    return value - _U64 if value >= 1 << 63 else value


def fields(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value) of each field in data[start:end]: an int for VARINT,
    I64 and I32 (raw bits), the bytes for LEN."""
    for num, wt, a, b in spans(data, start, end):
        yield num, wt, (data[a:b] if wt == LEN else a)


def spans(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, int, int]]:
    """`fields` without copying: (number, wire type, a, b) where a LEN value is data[a:b];
    for the other wire types `a` is the value (as `fields` gives it) and `b` is unused."""
    pos = start
    end = len(data) if end is None else end
    while pos < end:
        num, wt, a, b, pos = field_at(data, pos, end)
        yield num, wt, a, b


def field_at(data: bytes, pos: int, end: int) -> tuple[int, int, int, int, int]:
    """The field at `pos`, as `spans` gives it, and the position after it."""
    key, pos = varint(data, pos)
    num, wt = key >> 3, key & 7
    if num == 0:
        raise MalformedError("malformed protobuf: field number 0")
    if wt == LEN:
        n, pos = varint(data, pos)
        if pos + n > end:
            raise MalformedError("malformed protobuf: a length-delimited field runs past the end of its message")
        return num, wt, pos, pos + n, pos + n
    if wt == VARINT:
        value, pos = varint(data, pos)
        if pos > end:
            raise MalformedError("malformed protobuf: truncated varint")
        return num, wt, value, 0, pos
    if wt == I64 or wt == I32:
        size = 8 if wt == I64 else 4
        if pos + size > end:
            raise MalformedError("malformed protobuf: truncated fixed-width field")
        return num, wt, int.from_bytes(data[pos:pos + size], "little"), 0, pos + size
    raise MalformedError(f"malformed protobuf: wire type {wt} (field {num}) is not valid here")


def double(bits: int) -> float:
    return _F64.unpack(bits.to_bytes(8, "little"))[0]


def expect(num: int, wt: int, want: int, what: str) -> None:
    """A known field must come with its declared wire type (as the generated parsers insist)."""
    if wt != want:
        raise MalformedError(f"malformed protobuf: {what} (field {num}) has wire type {wt}, expected {want}")


def packed_varints(data: bytes) -> list[int]:
    out = []
    pos, end = 0, len(data)
    while pos < end:
        v, pos = varint(data, pos)
        out.append(v)
    return out


def text(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedError(f"malformed protobuf: {what} is not valid UTF-8") from None


# -- writing ---------------------------------------------------------------------------


def put_varint(out: bytearray, value: int) -> None:
    value &= _U64 - 1
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def put_len(out: bytearray, num: int, payload: bytes | bytearray) -> None:
    put_varint(out, num << 3 | LEN)
    put_varint(out, len(payload))
    out += payload


def put_double(out: bytearray, num: int, value: float) -> None:
    put_varint(out, num << 3 | I64)
    out += _F64.pack(value)


def put_int(out: bytearray, num: int, value: int) -> None:
    put_varint(out, num << 3 | VARINT)
    put_varint(out, value)


# -- snappy ----------------------------------------------------------------------------


def unsnappy(body: bytes, limit: int) -> bytes:
    """Decompress a snappy block; the declared length is bounded before anything is allocated."""
    import cramjam

    if not body:
        raise InvalidInputError("the request body is empty; send a snappy-compressed protobuf message")
    try:
        size, _ = varint(body, 0)
    except MalformedError:
        raise InvalidInputError("the body is not snappy block format: its length header is malformed") from None
    if size > limit:
        raise PayloadTooLargeError(
            f"the body decompresses to {size} bytes, more than the {limit} accepted; send smaller requests"
        )
    try:
        out = bytes(cramjam.snappy.decompress_raw(body))
    except Exception as exc:  # cramjam.DecompressionError: corrupt or truncated input
        raise InvalidInputError(f"the body is not valid snappy block format ({exc})") from None
    if len(out) != size:
        raise InvalidInputError("the body is not valid snappy block format: its length header does not match")
    return out


def snappy(data: bytes | bytearray) -> bytes:
    import cramjam

    return bytes(cramjam.snappy.compress_raw(bytes(data)))
