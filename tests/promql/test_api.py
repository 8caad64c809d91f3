"""The Prometheus API's parameter parsing and envelopes (`weir.promql.api`), without HTTP.

What Prometheus itself answers for the same parameters is checked against a real Prometheus
in tests/http/test_prometheus_api.py; here are the edges a server test cannot reach cheaply.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weir.promql import api
from weir.promql.errors import BadDataError


def P(**kw) -> api.Params:
    return api.Params({k.replace("match", "match[]") if k == "match" else k: v if isinstance(v, list) else [v]
                       for k, v in kw.items()})


@pytest.mark.parametrize("text, want", [
    ("0", 0),
    ("1700000000", 1_700_000_000_000),
    ("1700000000.123", 1_700_000_000_123),
    ("1700000000.1235", 1_700_000_000_124),  # rounded to the millisecond, half away from zero
    ("-1.5", -1_500),
    ("1e9", 1_000_000_000_000),
    (".5", 500),
    ("2023-11-14T22:13:20Z", 1_700_000_000_000),
    ("2023-11-14T22:13:20.1239Z", 1_700_000_000_123),  # RFC 3339 is truncated, as Go's time does
    ("2023-11-15T00:13:20+02:00", 1_700_000_000_000),
    ("2023-11-14T20:13:20.5-02:00", 1_700_000_000_500),
    ("1969-12-31T23:59:59.999Z", -1),
])
def test_times_in_both_forms(text, want):
    assert api.parse_time(text, "time") == want


@pytest.mark.parametrize("text", [
    "", "now", "-1h", "1_000", " 1", "1 ", "NaN", "Inf", "+Inf", "0x10", "2023-11-14", "2023-11-14T22:13:20",
    "2023-11-14 22:13:20Z", "2023-13-01T00:00:00Z", "2023-02-30T00:00:00Z", "2023-11-14T25:00:00Z",
    "2023-11-14T22:13:20+25:00", "１２", "1e400", "9e15",
])
def test_bad_times_are_bad_data_naming_the_parameter(text):
    with pytest.raises(BadDataError) as e:
        api.parse_time(text, "start")
    assert e.value.status == 400 and e.value.error_type == "bad_data"
    assert e.value.message.startswith('invalid parameter "start": ')


def test_metadata_times_clamp_to_what_can_be_stored():
    # Prometheus' own far-past default, as client_golang sends it in float seconds.
    assert api.parse_time("-9223309901257974", "start", clamp=True) == api.MIN_STORED_MS
    assert api.parse_time("9223309901257974.999", "end", clamp=True) == api.MAX_STORED_MS
    assert api.span_params(P()) == (api.MIN_STORED_MS, api.MAX_STORED_MS)
    with pytest.raises(BadDataError, match='invalid parameter "end": end timestamp must not be before'):
        api.span_params(P(start="10", end="9"))


@pytest.mark.parametrize("text, want", [
    ("15", 15_000), ("1.5", 1_500), ("0.001", 1), ("5m", 300_000), ("1h30m", 5_400_000), ("1d", 86_400_000),
    ("2w", 14 * 86_400_000), ("1y", 365 * 86_400_000), ("100ms", 100), ("1m30s500ms", 90_500), ("0", 0),
])
def test_durations(text, want):
    assert api.parse_duration(text, "step") == want


@pytest.mark.parametrize("text", ["", "m", "5M", "1m1h", "1.5m", "5 m", "-5m", "1e30", "Inf", "9999999999y"])
def test_bad_durations(text):
    with pytest.raises(BadDataError, match='^invalid parameter "step": cannot parse'):
        api.parse_duration(text, "step")


def test_range_parameters_are_checked_in_prometheus_order():
    r = api.range_params(P(start="100", end="200", step="10"))
    assert (r.start, r.end, r.step) == (100_000, 200_000, 10_000)
    for kw, param in [
        ({"start": "x", "end": "y", "step": "z"}, "start"),
        ({"start": "1", "end": "y", "step": "z"}, "end"),
        ({"start": "2", "end": "1", "step": "z"}, "end"),
        ({"start": "1", "end": "2", "step": "z"}, "step"),
        ({"start": "1", "end": "2", "step": "0"}, "step"),
        ({"start": "1", "end": "2", "step": "-1"}, "step"),
    ]:
        with pytest.raises(BadDataError, match=f'^invalid parameter "{param}"'):
            api.range_params(P(**kw))


def test_at_most_11000_points_per_series():
    assert api.range_params(P(start="0", end="11000", step="1")).step == 1_000
    with pytest.raises(BadDataError, match="exceeded maximum resolution of 11,000 points per timeseries"):
        api.range_params(P(start="0", end="11001", step="1"))


def test_limit_and_timeout():
    assert api.parse_limit(P()) == 0 and api.parse_limit(P(limit="")) == 0
    assert api.parse_limit(P(limit="7")) == 7 and api.parse_limit(P(limit="+7")) == 7
    for bad in ("-1", "x", "1.5", "²", "1_0", "99999999999999999999"):
        with pytest.raises(BadDataError, match='^invalid parameter "limit"'):
            api.parse_limit(P(limit=bad))
    assert api.timeout_ms(P()) == api.DEFAULT_TIMEOUT_MS
    assert api.timeout_ms(P(timeout="2s")) == 2_000
    assert api.timeout_ms(P(timeout="1.5")) == 1_500
    assert api.timeout_ms(P(timeout="1h")) == api.MAX_TIMEOUT_MS
    for bad in ("0", "-1", "x"):
        with pytest.raises(BadDataError, match='^invalid parameter "timeout"'):
            api.timeout_ms(P(timeout=bad))


def test_form_values_come_before_url_values():
    p = api.Params.merge({"query": ["body"], "match[]": ["a"]}, {"query": ["url"], "match[]": ["b"]})
    assert p.get("query") == "body" and p.all("match[]") == ["a", "b"] and p.get("absent") == ""


def test_label_names_from_paths():
    assert api.label_name("host") == "host"
    assert api.label_name("__name__") == "__name__"
    assert api.label_name("service.name") == "service.name"  # a Weir dimension key
    assert api.label_name("U__service_2e_name") == "service.name"  # Prometheus 3's escaping
    assert api.label_name("U__a__b") == "a_b"
    for bad in ("1x", "a b", "U__bad_zz_", "", "a/b"):
        with pytest.raises(BadDataError, match="invalid label name"):
            api.label_name(bad)


def test_envelopes():
    assert api.success([1]) == {"status": "success", "data": [1]}
    assert api.success([], ["w"]) == {"status": "success", "data": [], "warnings": ["w"]}
    assert api.failure("bad_data", "x") == {"status": "error", "errorType": "bad_data", "error": "x"}
    warnings: list[str] = []
    assert api.truncate("vector", [1, 2, 3], 2, warnings) == [1, 2] and warnings == [api.TRUNCATED]
    assert api.truncate("scalar", [1, "2"], 1, warnings) == [1, "2"]


def test_buildinfo_has_no_features_map():
    from weir import __version__

    data = api.buildinfo()["data"]
    assert "features" not in data and data["version"] == "2.42.0" and __version__ in data["revision"]
    assert set(data) == {"version", "revision", "branch", "buildUser", "buildDate", "goVersion"}


@given(st.text(max_size=40))
def test_any_text_is_a_time_or_bad_data(text):
    for clamp in (False, True):
        try:
            got = api.parse_time(text, "time", clamp=clamp)
        except BadDataError as exc:
            assert exc.message.startswith('invalid parameter "time": ')
        else:
            assert isinstance(got, int)


@given(st.text(max_size=40))
def test_any_text_is_a_duration_or_bad_data(text):
    try:
        got = api.parse_duration(text, "step")
    except BadDataError as exc:
        assert exc.message.startswith('invalid parameter "step": ')
    else:
        assert isinstance(got, int)


@given(st.floats(min_value=-4e9, max_value=4e9, allow_nan=False))
def test_float_seconds_round_trip_to_the_millisecond(seconds):
    got = api.parse_time(repr(seconds), "time")
    assert abs(got - seconds * 1000) <= 0.5 + abs(seconds) * 1e-12


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)))
def test_rfc3339_round_trip(dt):
    text = dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert api.parse_time(text, "time") == (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def test_expressions_past_the_structure_bound_are_refused_before_any_parser():
    api.check_structure("sum by (host) (rate(x_total[5m])) / 2" + " + 1" * 200)
    api.check_structure('x{a="' + "(" * 5000 + '"} # ' + "+" * 5000)  # strings and comments do not count
    for deep in ("1+" * 5000 + "1", "(" * 20000 + "1" + ")" * 20000, "abs(" * 300 + "x" + ")" * 300):
        with pytest.raises(BadDataError, match=r'^invalid parameter "query": 1:[0-9]+: parse error: more than 250'):
            api.check_structure(deep)
    with pytest.raises(BadDataError, match=r'^invalid parameter "match\[\]": 2:'):
        api.check_structure("x\n" + "(" * 300, "match[]")
