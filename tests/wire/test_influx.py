"""The line-protocol decoder: escaping, mapping, and no unexpected exception on any input."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weir.errors import InvalidInputError, PayloadTooLargeError
from weir.metrics.model import decode_dimensions
from weir.wire.influx import LineProtocolDecoder, split_line
from weir.wire.shared import ingest_located

NOW = int(time.time())


def decode(body, precision="s"):
    return LineProtocolDecoder().decode(body, precision)


def test_mapping_names_dimensions_values():
    d = decode(f"cpu,host=a,region=r value=1.5,idle=2i,up=t,free=3u {NOW}\nmem free=-4.5e3\n")
    got = [(p.name, p.value, p.timestamp, decode_dimensions(p.dimensions)) for p in d.points]
    assert got == [
        ("cpu", 1.5, NOW, {"host": "a", "region": "r"}),
        ("cpu.idle", 2.0, NOW, {"host": "a", "region": "r"}),
        ("cpu.up", 1.0, NOW, {"host": "a", "region": "r"}),
        ("cpu.free", 3.0, NOW, {"host": "a", "region": "r"}),
        ("mem.free", -4500.0, None, {}),
    ]
    assert d.rejected == []
    assert [d.where(i) for i in range(5)] == ["line 1"] * 4 + ["line 2"]


def test_escapes_and_strings():
    line = r'my\ meas,tag\,k=v\ 1\=x f\=k=1,s="a \"q\" b, c=d" 5'
    m, dims, fields, ts = split_line(line)
    assert (m, dims, ts) == ("my meas", {"tag,k": "v 1=x"}, "5")
    assert fields == [("f=k", "1", False), ("s", 'a "q" b, c=d', True)]
    d = decode(line)
    assert d.points[0].name == "my meas.f=k" and d.points[1] is None
    assert "string" in d.rejected[0].error


@pytest.mark.parametrize("precision, ts, ns", [
    ("ns", 1_700_000_000_123_456_789, 1_700_000_000_123_456_789),
    ("us", 1_700_000_000_123_456, 1_700_000_000_123_456_000),
    ("ms", 1_700_000_000_123, 1_700_000_000_123_000_000),
    ("m", 28_333_333, 28_333_333 * 60 * 10**9),
])
def test_precision(precision, ts, ns):
    [p] = decode(f"m value=1 {ts}", precision).points
    assert p.timestamp == ns


def test_cache_does_not_confuse_series():
    dec = LineProtocolDecoder()
    for _ in range(2):
        d = dec.decode("m,a=1 x=1,y=2\nm,a=2 x=3\nm,a=1,b=1 value=4", "s")
        assert [(p.name, decode_dimensions(p.dimensions)) for p in d.points] == [
            ("m.x", {"a": "1"}), ("m.y", {"a": "1"}), ("m.x", {"a": "2"}), ("m", {"a": "1", "b": "1"})]


@pytest.mark.parametrize("line, fragment", [
    ("m", "missing fields"),
    ("m,t value=1", "not key=value"),
    ("m,t=1,t=2 value=1", "twice"),
    ("m value=1 12x", "timestamp"),
    ("m value=1i2", "not a number"),
    ("m value=99999999999999999999999i", "64-bit"),
    ("m value=inf", "finite"),
    ("m value=1_0", "finite"),
    ('m value="open', "not closed"),
    ("m value=1 1 extra", "after the timestamp"),
])
def test_bad_lines_are_rejected_with_reason(line, fragment):
    d = decode(line)
    assert d.points == [None]
    assert d.rejected[0].error.startswith("line 1: ") and fragment in d.rejected[0].error


def test_limits():
    with pytest.raises(PayloadTooLargeError):
        decode("\n".join(f"m a=1,b=2 {NOW}" for _ in range(5_001)))
    with pytest.raises(InvalidInputError, match="precision"):
        decode("m value=1", "days")
    with pytest.raises(InvalidInputError, match="UTF-8"):
        decode(b"m value=1 \xff")


# -- properties -------------------------------------------------------------------------

_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), min_size=1, max_size=12)


def _escape(s: str, chars: str) -> str:
    s = s.replace("\\", "\\\\")
    for c in chars:
        s = s.replace(c, "\\" + c)
    return s


# Lines are left-trimmed, and a line starting with # is a comment: measurements cannot start so.
@given(_TEXT.filter(lambda s: not s.startswith(("#", " ", "\t"))), st.dictionaries(_TEXT, _TEXT, max_size=4),
       st.dictionaries(_TEXT, st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=3))
def test_escaping_round_trips(measurement, tags, fields):
    line = _escape(measurement, ", ")
    line += "".join(f",{_escape(k, ',= ')}={_escape(v, ',= ')}" for k, v in tags.items())
    line += " " + ",".join(f"{_escape(k, ',= ')}={v!r}" for k, v in fields.items())
    m, dims, parsed, ts = split_line(line)
    assert (m, dims, ts) == (measurement, tags, None)
    assert [(k, float(v)) for k, v, _ in parsed] == list(fields.items())


_LINEISH = st.text(st.sampled_from(list('abc=,\\" \n\t#0123456789.-+eiutfTF_xn\r\x00é')), max_size=200)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                   HealthCheck.too_slow])
@given(st.one_of(_LINEISH, st.text(max_size=200), st.binary(max_size=200)),
       st.sampled_from(["ns", "s", "ms", "h"]))
def test_any_body_is_decoded_or_a_4xx(ingest, body, precision):
    try:
        d = LineProtocolDecoder().decode(body, precision)
    except (InvalidInputError, PayloadTooLargeError):
        return
    assert len(d.points) == len(d.lines)
    try:
        result = ingest_located(ingest, d.points, d.rejected, d.where)
    except InvalidInputError:
        return
    assert result.accepted + len(result.rejected) == len(d.points)
