"""The line-protocol columns path against the line-by-line path it must agree with.

Bodies are mostly the usual shape (so the columns path is taken once the key cache is warm),
with the near misses that must send a body back to the line loop: blank and comment lines, odd
spacing, several fields, integers and booleans, NaN, `1_0`, non-ASCII digits, bad timestamps,
keys that do not parse, fields not seen before.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weir.errors import WeirError
from weir.wire.influx import LineProtocolDecoder

NOW = int(time.time())


def outcome(decode, body, precision):
    try:
        d = decode(body, precision)
    except WeirError as exc:
        return type(exc).__name__, exc.message
    points = [p and (p.name, p.value, p.timestamp, p.type, p.unit, bytes(p.dimensions)) for p in d.points]
    return points, [(r.index, r.error) for r in d.rejected], d.lines


def by_lines(body, precision):
    """The reference: the line loop alone, on a fresh decoder."""
    dec = LineProtocolDecoder()
    dec._columns = lambda *_: None  # type: ignore[method-assign]
    return dec.decode(body, precision)


def agree(body, precision: str = "s", decoder: LineProtocolDecoder | None = None) -> list:
    """Decode twice on one decoder (the second time with a warm cache) and compare each with the
    reference; returns which calls took the columns path."""
    dec = decoder or LineProtocolDecoder()
    expected = outcome(by_lines, body, precision)
    took = []
    columns = dec._columns
    dec._columns = lambda *a: took.append(columns(*a)) or took[-1]  # type: ignore[method-assign]
    for _ in range(2):
        assert outcome(dec.decode, body, precision) == expected
    return [t is not None for t in took]


_KEYS = st.sampled_from(["cpu", "cpu,host=a", "cpu,host=a,region=r", "mem,host=é", "m,t", "m,t=1,t=2", ",a=b",
                         "cpu,host=a=b", "disk_io,dev=sda"])
_FIELDS = st.one_of(
    st.sampled_from(["value", "usage_idle", "x"]).flatmap(
        lambda k: st.floats(allow_nan=False, allow_infinity=False).map(lambda v: f"{k}={v!r}")),
    st.sampled_from(["value=1i", "value=2u", "value=t", "value=inf", "value=nan", "value=1_0", "value=١",
                     "value=", "=1", "value", "value=1,x=2", "value=1e999", "value=-0.0", "value==1", "value=0x1"]),
)
_STAMPS = st.one_of(st.just(str(NOW)), st.just(str(NOW * 10**9)), st.sampled_from(["", "12x", "-5", "0", "9" * 30]))
_SEPS = st.sampled_from([" "] * 12 + ["  ", "\t"])


@st.composite
def bodies(draw) -> str:
    with_ts = draw(st.booleans())
    lines = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.integers(0, 15))
        if kind == 0:
            lines.append(draw(st.sampled_from(["", "# comment", " ", "  cpu value=1"])))
            continue
        line = draw(_KEYS) + draw(_SEPS) + draw(_FIELDS)
        if with_ts if kind != 1 else not with_ts:
            line += draw(_SEPS) + draw(_STAMPS)
        if kind == 2:
            line += draw(st.sampled_from([" ", " extra", "\r"]))
        lines.append(line)
    return draw(st.sampled_from(["\n", "\n", "\r\n"])).join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


@settings(max_examples=500, deadline=None)
@given(bodies(), st.sampled_from(["s", "ns", "ms", "h"]))
def test_columns_agree_with_lines(body, precision):
    agree(body, precision)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(st.sampled_from(list('ab=, \n\t#019.-eiu_')), max_size=120))
def test_any_text_agrees(body):
    agree(body)


def test_the_usual_body_takes_the_columns():
    body = "\n".join(f"cpu,host=h{i},region=r{i % 7} value={i * 0.5} {NOW}" for i in range(100))
    assert agree(body) == [False, True]  # cold: fields are named line by line; warm: columns
    assert agree(body.replace(f" {NOW}", "") + "\n") == [False, True]


@pytest.mark.parametrize("odd", ["cpu,host=h0 value=1 1\n# a comment", "cpu,host=h0 value=1,x=2 1",
                                 "cpu,host=h0  value=1 1", "cpu,host=h0 value=1i 1", "cpu,host=h0 value=1 1 2",
                                 "cpu,host=h0 value=1 1\n\ncpu,host=h1 value=1 1",
                                 "cpu,host=h0 value=1 1\ncpu,host=h1 value=1",
                                 "cpu,host=h0 value=1_0 1", "cpu,host=h0 value=nan 1", "cpu,host=h0 value=1 12x"])
def test_near_misses_go_line_by_line(odd):
    dec = LineProtocolDecoder()
    agree("cpu,host=h0 value=1 1\ncpu,host=h1 value=1 1", decoder=dec)  # warm
    assert agree(odd, decoder=dec) == [False, False]


def test_fields_are_split_one_by_one_not_as_a_whole():
    """`value` then `5=value=6`: split as one string at every `=`, the two would pair up as
    value=5 and value=6. Each field must hold exactly one `=`."""
    dec = LineProtocolDecoder()
    agree("cpu value=1 1", decoder=dec)
    assert agree("cpu value 1\ncpu 5=value=6 1", decoder=dec) == [False, False]


def test_a_bad_timestamp_is_left_to_the_lines():
    dec = LineProtocolDecoder()
    agree("cpu value=1 1\ncpu value=2 2", decoder=dec)
    assert agree("cpu value=1 1\ncpu value=2 2x", decoder=dec) == [False, False]


def test_a_new_field_is_named_line_by_line_then_read_in_columns():
    dec = LineProtocolDecoder()
    agree("cpu,host=h0 value=1 1", decoder=dec)
    assert agree("cpu,host=h0 y=1 1", decoder=dec) == [False, True]


def test_a_field_without_equals_reads_the_same_once_its_name_is_cached():
    dec = LineProtocolDecoder()
    body = "cpu value\ncpu value=1\ncpu x=1,value"
    answers = {dec.decode(body, "s").rejected[i].error for _ in range(2) for i in (0, 1)}
    assert answers == {"line 1: field 'value': field 'value' is not key=value",
                       "line 3: field 'value': field 'value' is not key=value"}
