from datetime import UTC, datetime

import pytest

from weir.errors import InvalidInputError
from weir.metrics.timeutil import NS, epoch_to_ns, ns_to_rfc3339, parse_duration, parse_time

T = 1_763_800_000  # 2025-11-22


@pytest.mark.parametrize("value", [T, T * 1000, T * 1_000_000, T * NS, float(T), T * 1000.0])
def test_epoch_units_normalise_to_the_same_instant(value):
    assert epoch_to_ns(value) == T * NS


def test_fractional_seconds_keep_precision():
    assert epoch_to_ns(T + 0.25) == T * NS + 250_000_000


def test_rfc3339_round_trip():
    assert ns_to_rfc3339(T * NS) == "2025-11-22T08:26:40Z"
    assert ns_to_rfc3339(T * NS + 1500) == "2025-11-22T08:26:40.0000015Z"
    assert parse_time("2025-11-22T08:26:40Z", "start", 0) == T * NS
    assert parse_time("2025-11-22T09:26:40+01:00", "start", 0) == T * NS


def test_relative_and_now():
    now = T * NS
    assert parse_time("now", "end", now) == now
    assert parse_time("-1h", "start", now) == now - 3600 * NS
    assert parse_time("-7d", "start", now) == now - 7 * 86400 * NS
    assert parse_time(str(T), "start", now) == T * NS


@pytest.mark.parametrize("text", ["yesterday", "2025-11-22T08:26:40", "-1y", ""])
def test_bad_times_name_the_field(text):
    with pytest.raises(InvalidInputError, match="^start: "):
        parse_time(text, "start", T * NS)


def test_durations():
    assert parse_duration("60", "period") == 60
    assert parse_duration("5m", "period") == 300
    assert parse_duration("1w", "period") == 604_800
    for bad in ("0", "1.5m", "m", "-1h"):
        with pytest.raises(InvalidInputError, match="^period: "):
            parse_duration(bad, "period")


def test_datetime_helper_matches_epoch():
    from weir.metrics.timeutil import datetime_to_ns

    assert datetime_to_ns(datetime.fromtimestamp(T, UTC)) == T * NS


@pytest.mark.parametrize("text", ["2300-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "99999999999999999999",
                                  "-" + "9" * 20 + "w", "9" * 5000, "9" * 65, "1" * 60 + ".5"])
def test_times_outside_64_bit_nanoseconds_are_refused(text):
    with pytest.raises(InvalidInputError, match="^start: "):
        parse_time(text, "start", T * NS)


def test_the_edges_of_64_bit_nanoseconds():
    from weir.metrics.timeutil import MAX_NS, MIN_NS

    assert parse_time("2262-04-11T23:47:16Z", "end", 0) <= MAX_NS
    assert parse_time("1677-09-21T00:12:44Z", "start", 0) >= MIN_NS
    assert parse_time(str(MAX_NS), "end", 0) == MAX_NS


@pytest.mark.parametrize("text", ["9" * 30, "9" * 5000, "20000w"])
def test_durations_past_64_bit_nanoseconds_are_refused(text):
    with pytest.raises(InvalidInputError, match="^period: "):
        parse_duration(text, "period")
