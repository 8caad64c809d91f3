"""Time in Weir: every timestamp is stored as integer nanoseconds since the Unix epoch, UTC.

Clients send epoch seconds, milliseconds, microseconds or nanoseconds (told apart by
magnitude, as InfluxDB and OpenTelemetry clients leave no other clue) or RFC 3339 text.
Query parameters also take relative times such as `-1h` and the word `now`.

Every instant is a signed 64-bit count of nanoseconds (what SQLite and numpy hold): from
1677-09-21T00:12:43Z to 2262-04-11T23:47:16Z. A query time or duration outside it is a 400
naming the parameter, and so is a text longer than any valid one (`int()` refuses more than
4,300 digits, and would be slow on them anyway).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from weir.errors import InvalidInputError

NS = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)

# Magnitude bands: a value below 1e11 is seconds (up to year 5138), below 1e14
# milliseconds, below 1e17 microseconds, anything larger nanoseconds.
_S_MAX, _MS_MAX, _US_MAX = 10**11, 10**14, 10**17

MIN_NS, MAX_NS = -(2**63), 2**63 - 1
MAX_TEXT = 64  # longer than any valid time or duration (RFC 3339 with nanoseconds and an offset is 35)
_RANGE = "1677-09-21T00:12:44Z to 2262-04-11T23:47:16Z"

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_DURATION_RE = re.compile(r"(\d+)([smhdw])\Z")
_RELATIVE_RE = re.compile(r"-(\d+)([smhdw])\Z")


def epoch_to_ns(value: int | float) -> int:
    """Normalise an epoch number in any of the four units to nanoseconds."""
    a = -value if value < 0 else value
    if type(value) is int:
        if a < _S_MAX:
            return value * NS
        if a < _MS_MAX:
            return value * 1_000_000
        if a < _US_MAX:
            return value * 1_000
        return value
    # Scale the whole and fractional parts apart: value * 1e9 would lose the last digits.
    whole = int(value)
    frac = value - whole
    if a < _S_MAX:
        return whole * NS + round(frac * 1e9)
    if a < _MS_MAX:
        return whole * 1_000_000 + round(frac * 1e6)
    if a < _US_MAX:
        return whole * 1_000 + round(frac * 1e3)
    return round(value)


def datetime_to_ns(value: datetime) -> int:
    return ((value - _EPOCH) // _US) * 1_000


def ns_to_rfc3339(ns: int) -> str:
    seconds, rest = divmod(ns, NS)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if rest:
        text += f".{rest:09d}".rstrip("0")
    return text + "Z"


def ns_to_datetime(ns: int) -> datetime:
    """A UTC datetime (microsecond precision); msgspec encodes it as RFC 3339 in C."""
    return _EPOCH + timedelta(microseconds=ns // 1_000)


def parse_duration(text: str, field: str) -> int:
    """`30s`, `5m`, `1h`, `7d`, `1w` or a plain number of seconds, in seconds."""
    text = _short(text.strip(), field, "a duration")
    if text.isascii() and text.isdigit():  # str.isdigit() also takes "²", which int() refuses
        seconds = int(text)
    else:
        m = _DURATION_RE.match(text)
        if not m:
            raise InvalidInputError(
                f"{field}: {text!r} is not a duration; use a number of seconds or a number "
                "followed by s, m, h, d or w (for example 60, 5m, 1h)"
            )
        seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        raise InvalidInputError(f"{field}: must be at least one second, got {text!r}")
    if seconds > MAX_NS // NS:
        raise InvalidInputError(f"{field}: {text!r} is longer than the {MAX_NS // NS} seconds (292 years) "
                                "of time Weir can represent")
    return seconds


def parse_time(text: str, field: str, now_ns: int) -> int:
    """A query time: `now`, relative (`-1h`), RFC 3339, or an epoch number in any unit."""
    text = _short(text.strip(), field, "a time")
    if text == "now":
        return now_ns
    m = _RELATIVE_RE.match(text)
    if m:
        return check_ns(now_ns - int(m.group(1)) * _UNITS[m.group(2)] * NS, field, text)
    try:
        return check_ns(epoch_to_ns(int(text)), field, text)
    except ValueError:
        pass
    try:
        if text.isascii() and text.replace(".", "", 1).isdigit():
            return check_ns(epoch_to_ns(float(text)), field, text)
        return check_ns(_rfc3339(text), field, text)
    except (ValueError, OverflowError):
        pass
    raise InvalidInputError(
        f"{field}: {text!r} is not a time; use 'now', a relative time such as -1h or -7d, "
        "RFC 3339 such as 2026-11-22T10:00:00Z, or epoch seconds"
    )


def check_ns(ns: int, field: str, text: str | None = None) -> int:
    """`ns` if it fits 64-bit nanoseconds, else a 400 naming the field and the range."""
    if MIN_NS <= ns <= MAX_NS:
        return ns
    shown = f"{text!r}" if text is not None else "the time"
    raise InvalidInputError(f"{field}: {shown} is outside the times Weir can represent ({_RANGE}, "
                            "64-bit nanoseconds); choose a time in that range")


def _short(text: str, field: str, what: str) -> str:
    if len(text) > MAX_TEXT:
        raise InvalidInputError(f"{field}: {len(text)} characters is too long for {what} "
                                f"(at most {MAX_TEXT}); for example 2026-11-22T10:00:00Z, -1h or 5m")
    return text


def _rfc3339(text: str) -> int:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError("no time zone")
    return datetime_to_ns(dt)
