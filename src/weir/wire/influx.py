"""InfluxDB line protocol → Weir points.

    measurement[,tag=value...] field=value[,field=value...] [timestamp]

Mapping (README "InfluxDB line protocol"): each field of a line is one point. Its metric name
is `<measurement>.<field>`, or just `<measurement>` when the field is called `value` (the
usual single-field shape, `cpu,host=a value=0.5`). Tags become dimensions. Floats, integers
(`1i`), unsigned integers (`1u`) and booleans (`t`/`true`... → 1, `f`/`false`... → 0) are
stored as numbers; a string field is rejected for that field only, since Weir stores numbers.
A missing timestamp means the time the server receives the line.

Speed: one batch usually repeats a few thousand series keys (`cpu,host=a,region=r`), so the
parsed key (measurement, dimension JSON, field → name) is cached per decoder, the way the
ingest service caches series. A body whose every line has the usual shape (no escapes or
quotes, one numeric field, a key and field already cached, all with or all without a timestamp)
is decoded in columns: `bytes.translate` checks the shape, then `str.split`, slicing and `map`
run over the whole batch in C, with no Python loop per line (`_columns`; about twice as fast).
Any other body goes line by line (`_lines`), which the columns must agree with, errors included
(`tests/wire/test_influx_columns.py` fuzzes one against the other): lines without
backslashes or quotes still take `str.split`, the others go through a small character scanner.
"""

from __future__ import annotations

from datetime import datetime
from itertools import repeat
from operator import itemgetter
from typing import cast

from weir.errors import InvalidInputError, PayloadTooLargeError
from weir.metrics import limits
from weir.metrics.model import Rejected, WirePoint
from weir.metrics.timeutil import NS
from weir.wire.shared import ns_timestamp, raw_dims

PRECISIONS = {
    "ns": 1, "n": 1, "us": 1_000, "u": 1_000, "µs": 1_000, "µ": 1_000,
    "ms": 1_000_000, "s": NS, "m": 60 * NS, "h": 3_600 * NS,
}
SHAPE = "measurement[,tag=value...] field=value[,field=value...] [timestamp]"
_TRUE = frozenset({"t", "T", "true", "True", "TRUE"})
_FALSE = frozenset({"f", "F", "false", "False", "FALSE"})
_INT_MIN, _UINT_MAX = -(2**63), 2**64 - 1
_SECONDS_MAX = 10**11  # below this the ingest service reads an int as epoch seconds
_CACHE_LIMIT = 100_000
_ESCAPABLE = frozenset(',= \\"')
_BUT_SPACE_NEWLINE = bytes(b for b in range(256) if b not in b" \n")
_BUT_EQUALS_NEWLINE = bytes(b for b in range(256) if b not in b"=\n")
_RAW, _NAMES = itemgetter(1), itemgetter(2)


class LineError(ValueError):
    """A line (or one field of it) that cannot be read; the message says why."""


class Decoded:
    """Points (None where rejected), rejections, and the line each point came from."""

    __slots__ = ("points", "rejected", "lines")

    def __init__(self, points: list, rejected: list[Rejected], lines: list[int]) -> None:
        self.points = points
        self.rejected = rejected
        self.lines = lines

    def where(self, index: int) -> str:
        return f"line {self.lines[index]}" if index < len(self.lines) else ""


def multiplier(precision: str) -> int:
    try:
        return PRECISIONS[precision]
    except KeyError:
        raise InvalidInputError(
            f"precision: {precision[:20]!r} is not a precision; use ns, us, ms, s (or n, u, m, h)"
        ) from None


def number(text: str) -> float:
    """A field value as a float; raises LineError for strings, NaN, and out-of-range numbers."""
    try:
        v = float(text)
    except ValueError:
        suffix = text[-1:]
        if suffix == "i" or suffix == "u":
            digits = text[:-1]
            body = digits[1:] if suffix == "i" and digits[:1] == "-" else digits
            if body.isascii() and body.isdigit():
                iv = int(digits)
                if _INT_MIN <= iv <= _UINT_MAX:
                    return float(iv)
                raise LineError(f"{text[:40]!r} is outside the 64-bit integer range") from None
            raise LineError(f"{text[:40]!r} is not an integer (digits followed by i or u)") from None
        if text in _TRUE:
            return 1.0
        if text in _FALSE:
            return 0.0
        if text[:1] == '"':
            raise LineError("is a string; Weir stores numbers only (send text as a tag)") from None
        raise LineError(f"{text[:40]!r} is not a number, integer, boolean or quoted string") from None
    if v - v != 0.0 or "_" in text or not text.isascii():  # NaN, ±Inf, 1_0, non-ASCII digits
        raise LineError(f"{text[:40]!r} is not a finite number")
    return v


def timestamp(text: str, mult: int) -> int | datetime:
    """The timestamp in the form the ingest service expects (see `ns_timestamp`)."""
    body = text[1:] if text[:1] == "-" else text
    if not (body.isascii() and body.isdigit()):
        raise LineError(f"timestamp {text[:40]!r} is not an integer")
    t = int(text)
    if mult == NS and 0 < t < _SECONDS_MAX:
        return t  # seconds: the ingest service's own fast path
    return ns_timestamp(t * mult)


def _gaps(width: int, n: int) -> bytes:
    """The spaces and newlines of n lines of `width` tokens."""
    return ((b" " * (width - 1) + b"\n") * n)[:-1]


def metric_name(measurement: str, field: str) -> str:
    return measurement if field == "value" else f"{measurement}.{field}"


class LineProtocolDecoder:
    """Decodes request bodies; keeps a cache of parsed series keys across requests."""

    def __init__(self) -> None:
        self._keys: dict[str, tuple | str] = {}

    def decode(self, body: bytes | str, precision: str = "ns") -> Decoded:
        mult = multiplier(precision)
        if isinstance(body, bytes):
            try:
                body = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidInputError(f"the body is not UTF-8 text (byte {exc.start})") from None
        if "\r" in body:
            body = body.replace("\r\n", "\n").replace("\r", "\n")
        plain = "\\" not in body and '"' not in body  # then no line needs the scanner
        return (plain and self._columns(body, mult)) or self._lines(body, mult, plain)

    def _columns(self, body: str, mult: int) -> Decoded | None:
        """The usual body in columns, or None when any line is not the usual shape.

        Usual: every line `key field=number timestamp` (or every line without the timestamp),
        no blank or comment line before the last, one field whose name is cached for its key,
        a finite float, timestamps valid, no backslash or quote in the body (checked by the
        caller). Then the points are exactly those `_lines` would make; anything else is left
        to it, errors included. The shape is checked on the whole body with C string methods
        (no Python loop per line): what remains of it after deleting every byte but spaces and
        newlines must be two spaces per line.
        """
        text = body.rstrip("\n")
        if not text or "#" in text:  # a comment line (or a # anywhere): `_lines` tells them apart
            return None
        gaps = text.encode().translate(None, _BUT_SPACE_NEWLINE)
        width = 3 if gaps[:2] == b"  " else 2
        n = (len(gaps) + 1) // width
        if not 0 < n <= limits.MAX_POINTS_PER_REQUEST or gaps != _gaps(width, n):
            return None
        # Every line has width - 1 spaces. An empty token (a blank line, a leading or doubled
        # space) still fails below: no key parses as "", no field lacks "=", no timestamp is "".
        tokens = text.replace("\n", " ").split(" ")
        keys, fields = tokens[0::width], tokens[1::width]
        joined = "\n".join(fields)
        if "," in joined or joined.encode().translate(None, _BUT_EQUALS_NEWLINE) != (b"=\n" * n)[:-1]:
            return None  # several fields, or a field without exactly one `=` (split at every `=`
            # below, `value` and `5=value=6` would pair up as value=5 and value=6)
        pairs = joined.replace("\n", "=").split("=")
        cache = self._keys
        found = list(map(cache.get, keys))
        if None in found:
            found = [e if e is not None else cache.get(k) or self._parse_key(k) for e, k in zip(found, keys)]
        if set(map(type, found)) != {tuple}:  # a key that does not parse: `_lines` reports it
            return None
        entries = cast(list[tuple], found)
        names = list(map(dict.get, map(_NAMES, entries), pairs[0::2]))
        if None in names:  # a field not seen yet for its key: `_lines` names it
            return None
        numbers = pairs[1::2]
        digits = " ".join(numbers)
        if "_" in digits or not digits.isascii():  # float() reads 1_0 and other scripts' digits; Influx does not
            return None
        try:
            values = list(map(float, numbers))
        except ValueError:
            return None
        total = sum(values)
        if total - total != 0.0:  # some NaN or infinity (or a sum too large to tell): not here
            return None
        stamps: list | repeat = repeat(None)
        if width == 3:
            texts = tokens[2::3]
            try:
                at = {t: timestamp(t, mult) for t in set(texts)}
            except LineError:
                return None
            stamps = list(map(at.__getitem__, texts))
        points = list(map(WirePoint, names, values, stamps, repeat("gauge"), repeat(None), map(_RAW, entries)))
        return Decoded(points, [], list(range(1, n + 1)))

    def _lines(self, body: str, mult: int, plain: bool) -> Decoded:
        points: list = []
        rejected: list[Rejected] = []
        lines: list[int] = []
        add, at = points.append, lines.append
        keys = self._keys
        last_ts_text: str | None = None
        last_ts: int | datetime | None = None
        # Lines plus commas bound the number of points; below the limit, skip the per-line check.
        cap = limits.MAX_POINTS_PER_REQUEST if body.count("\n") + body.count(",") >= limits.MAX_POINTS_PER_REQUEST \
            else 1 << 62
        ascii_body = body.isascii()
        for lineno, line in enumerate(body.split("\n"), 1):
            if not line or line[0] == "#":
                continue
            if len(points) > cap:
                _too_many()
            parts = line.split(" ")
            if not (plain or ("\\" not in line and '"' not in line)) or not 1 < len(parts) < 4 or "" in parts:
                if line.strip() and not line.lstrip().startswith("#"):
                    self._slow(line, lineno, mult, points, rejected, lines)
                continue
            key = parts[0]
            entry = keys.get(key)
            if entry is None:
                entry = self._parse_key(key)
            if isinstance(entry, str):
                rejected.append(Rejected(len(points), f"line {lineno}: {entry}"))
                add(None)
                at(lineno)
                continue
            ts: int | datetime | None = None
            if len(parts) == 3:
                tst = parts[2]
                if tst == last_ts_text:
                    ts = last_ts
                else:
                    try:
                        ts = timestamp(tst, mult)
                    except LineError as exc:
                        rejected.append(Rejected(len(points), f"line {lineno}: {exc}"))
                        add(None)
                        at(lineno)
                        continue
                    last_ts_text, last_ts = tst, ts
            measurement, raw, names = entry
            fields = parts[1]
            if "," not in fields:  # one known field holding a plain float: the common line
                fkey, eq, ftext = fields.partition("=")
                name = names.get(fkey) if eq else None  # `value` alone is not `value=`, cached or not
                if name is not None:
                    try:
                        value = float(ftext)
                    except ValueError:
                        value = None
                    if value is not None and value - value == 0.0 and "_" not in ftext \
                            and (ascii_body or ftext.isascii()):
                        add(WirePoint(name, value, ts, "gauge", None, raw))
                        at(lineno)
                        continue
            for field in fields.split(","):
                fkey, eq, ftext = field.partition("=")
                name = names.get(fkey) if eq else None
                try:
                    if name is None:
                        if not eq or not fkey:
                            raise LineError(f"field {field[:40]!r} is not key=value")
                        name = names[fkey] = metric_name(measurement, fkey)
                    try:  # inlined fast case of number(): a plain finite float
                        value = float(ftext)
                        if value - value != 0.0 or "_" in ftext or not ftext.isascii():
                            raise ValueError
                    except ValueError:
                        value = number(ftext)
                except LineError as exc:
                    rejected.append(Rejected(len(points), f"line {lineno}: field {fkey[:40]!r}: {exc}"))
                    add(None)
                else:
                    add(WirePoint(name, value, ts, "gauge", None, raw))
                at(lineno)
        if len(points) > cap:
            _too_many()
        if not points:
            raise InvalidInputError(f"the body holds no line protocol lines; send {SHAPE}")
        return Decoded(points, rejected, lines)

    def _parse_key(self, key: str) -> tuple | str:
        """`cpu,host=a` → (measurement, raw dimensions, {}); an error message if malformed."""
        measurement, *tags = key.split(",")
        dims: dict[str, str] = {}
        entry: tuple | str
        if not measurement:
            entry = f"missing measurement; expected {SHAPE}"
        else:
            entry = (measurement, None, {})
            for tag in tags:
                k, eq, v = tag.partition("=")
                if not eq or not k or not v or "=" in v:
                    entry = f"tag {tag[:60]!r} is not key=value"
                    break
                if k in dims:
                    entry = f"tag {k[:60]!r} appears twice"
                    break
                dims[k] = v
            else:
                entry = (measurement, raw_dims(dims), {})
        if len(self._keys) >= _CACHE_LIMIT:
            self._keys.clear()
        self._keys[key] = entry
        return entry

    def _slow(self, line: str, lineno: int, mult: int, points: list, rejected: list, lines: list) -> None:
        """Lines with escapes, quoted strings or odd spacing: scanned character by character."""
        try:
            measurement, dims, fields, ts_text = split_line(line)
            ts = timestamp(ts_text, mult) if ts_text is not None else None
        except LineError as exc:
            rejected.append(Rejected(len(points), f"line {lineno}: {exc}"))
            points.append(None)
            lines.append(lineno)
            return
        raw = raw_dims(dims)
        for fkey, ftext, is_string in fields:
            try:
                if is_string:
                    raise LineError("is a string; Weir stores numbers only (send text as a tag)")
                value = number(ftext)
            except LineError as exc:
                rejected.append(Rejected(len(points), f"line {lineno}: field {fkey[:40]!r}: {exc}"))
                points.append(None)
            else:
                points.append(WirePoint(metric_name(measurement, fkey), value, ts, "gauge", None, raw))
            lines.append(lineno)
        if len(points) > limits.MAX_POINTS_PER_REQUEST:
            _too_many()


def _too_many() -> None:
    raise PayloadTooLargeError(
        f"more than {limits.MAX_POINTS_PER_REQUEST} points (one per field) in one request; "
        "split the lines into several requests"
    )


def split_line(line: str) -> tuple[str, dict[str, str], list[tuple[str, str, bool]], str | None]:
    """Parse one line with the protocol's escaping rules.

    Backslash escapes `,` `=` space `\\` and `"` in names, tag keys and values and field keys
    (any other backslash stays literal, as InfluxDB does); in a quoted string field it escapes
    `"` and `\\`.
    """
    n = len(line)
    i = 0
    while i < n and line[i] in " \t":
        i += 1
    measurement, i = _scan(line, i, ", ")
    if not measurement:
        raise LineError(f"missing measurement; expected {SHAPE}")
    dims: dict[str, str] = {}
    while i < n and line[i] == ",":
        k, i = _scan(line, i + 1, ",= ")
        if i >= n or line[i] != "=" or not k:
            raise LineError(f"tag {k[:60]!r} is not key=value")
        v, i = _scan(line, i + 1, ",= ")
        if not v or (i < n and line[i] == "="):
            raise LineError(f"tag {k[:60]!r} has an empty or malformed value")
        if k in dims:
            raise LineError(f"tag {k[:60]!r} appears twice")
        dims[k] = v
    if i >= n or line[i] != " ":
        raise LineError(f"missing fields; expected {SHAPE}")
    while i < n and line[i] == " ":
        i += 1
    fields: list[tuple[str, str, bool]] = []
    while True:
        k, i = _scan(line, i, ",= ")
        if i >= n or line[i] != "=" or not k:
            raise LineError(f"field {k[:60]!r} is not key=value" if k else f"missing fields; expected {SHAPE}")
        i += 1
        if i < n and line[i] == '"':
            v, i = _quoted(line, i + 1)
            fields.append((k, v, True))
        else:
            j = i
            while i < n and line[i] not in ", ":
                i += 1
            fields.append((k, line[j:i], False))
        if i < n and line[i] == ",":
            i += 1
            continue
        break
    rest = line[i:].strip()
    if rest and (" " in rest or "\t" in rest):
        raise LineError(f"unexpected text after the timestamp: {rest[:40]!r}")
    return measurement, dims, fields, rest or None


def _scan(line: str, i: int, stops: str) -> tuple[str, int]:
    out = []
    n = len(line)
    while i < n:
        c = line[i]
        if c == "\\" and i + 1 < n and line[i + 1] in _ESCAPABLE:
            out.append(line[i + 1])
            i += 2
            continue
        if c in stops:
            break
        out.append(c)
        i += 1
    return "".join(out), i


def _quoted(line: str, i: int) -> tuple[str, int]:
    out = []
    n = len(line)
    while i < n:
        c = line[i]
        if c == "\\" and i + 1 < n and line[i + 1] in '"\\':
            out.append(line[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise LineError("a quoted string field is not closed")
