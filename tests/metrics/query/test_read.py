"""Which resolution answers which part of a query (the plan), without a store's I/O."""

from __future__ import annotations

import pytest

from weir.errors import InvalidInputError
from weir.metrics.query.read import HOUR_NS, MINUTE_NS, gaps, plan

NS = 10**9
DAY = 86400 * NS
NOW = 1_800_000_000 * NS + 17 * MINUTE_NS


class Store:
    record_levels = ("1m", "1h")
    retention = {"raw": 30 * 86400, "1m": 90 * 86400, "1h": 455 * 86400}


RAW = 30 * DAY


def test_whole_hours_and_exact_statistics_use_hourly_rollups():
    p = plan(Store(), ["avg", "last"], HOUR_NS, NOW - 7 * DAY, NOW, NOW, RAW)
    assert (p.level, p.sketches) == ("1h", False)
    p = plan(Store(), ["max"], 5 * MINUTE_NS, NOW - 7 * DAY, NOW, NOW, RAW)
    assert p.level == "1m" and p.raw_from == p.records_from  # minutes never overlap raw points


def test_percentiles_are_raw_while_points_are_kept_and_sketches_before():
    p = plan(Store(), ["p99"], 5 * MINUTE_NS, NOW - DAY, NOW, NOW, RAW)
    assert p.level is None and p.raw_from == NOW - DAY
    p = plan(Store(), ["p99"], HOUR_NS, NOW - 100 * DAY, NOW, NOW, RAW)
    assert p.sketches and p.level == "1h"
    assert p.records_until == -(-(NOW - RAW) // HOUR_NS) * HOUR_NS and p.raw_from == (NOW - RAW) // HOUR_NS * HOUR_NS


@pytest.mark.parametrize("stats, period, days, fragment", [
    (["p50"], 5 * MINUTE_NS, 40, "multiple of 3600 s"),
    (["avg"], 5 * MINUTE_NS, 100, "multiple of 3600 s"),
    (["avg"], 7 * NS, 40, "multiple of 60 s"),
])
def test_what_no_kept_resolution_answers_is_refused_saying_what_would(stats, period, days, fragment):
    with pytest.raises(InvalidInputError, match=fragment):
        plan(Store(), stats, period, (NOW - days * DAY) // period * period, NOW, NOW, RAW)


def test_a_store_without_rollups_reads_raw_points_and_past_retention_nothing():
    class Bare:
        retention = {"raw": 30 * 86400}

    p = plan(Bare(), ["avg"], HOUR_NS, NOW - 100 * DAY, NOW, NOW, RAW)
    assert p.level is None and p.raw_from == NOW - RAW  # nothing is kept before: not an error


def test_per_level_statistics():
    class Dynamo(Store):
        record_stats = {"1m": frozenset({"count", "sum", "avg", "min", "max"}),
                        "1h": frozenset({"count", "sum", "avg", "min", "max", "last"})}

    assert plan(Dynamo(), ["last"], HOUR_NS, NOW - DAY, NOW, NOW, RAW).level == "1h"
    assert plan(Dynamo(), ["last"], MINUTE_NS, NOW - DAY, NOW, NOW, RAW).level is None


def test_gaps_are_the_uncovered_spans():
    assert gaps(0, 10, [(2, 4), (4, 6), (8, 12)]) == [(0, 2), (6, 8)]
    assert gaps(0, 10, []) == [(0, 10)]
