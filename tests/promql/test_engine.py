"""The engine's contract: result shapes, validation, the sample budget, the deadline."""

from __future__ import annotations

import time

import pytest

from tests.promql.memsource import MemorySource
from weir.promql.engine import Engine
from weir.promql.errors import BadDataError, ExecutionError, QueryTimeoutError

T = 1_704_067_200_000
STEPS = [T + 15_000 * i for i in range(41)]  # ten minutes at 15 s


@pytest.fixture
def engine():
    return Engine(
        MemorySource(
            [
                ({"__name__": "x", "a": "1"}, STEPS, [float(i) for i in range(41)]),
                ({"__name__": "x", "a": "2"}, STEPS[:5], [1.0] * 5),  # ends after one minute
                ({"__name__": "http.server.duration", "a": "1"}, STEPS, [0.5] * 41),
            ]
        )
    )


def test_instant_vector_shape(engine):
    r = engine.instant('x{a="1"}', T + 600_000)
    assert r.result_type == "vector" and r.warnings == []
    assert r.result == [{"metric": {"__name__": "x", "a": "1"}, "value": [1704067800.0, "40"]}]


def test_scalar_string_and_matrix_shapes(engine):
    assert engine.instant("1 + 1", T + 500).result == [1704067200.5, "2"]
    assert engine.instant('"hi"', T).result == [1704067200.0, "hi"]
    r = engine.instant('x{a="1"}[30s]', T + 60_000)
    assert r.result_type == "matrix"
    assert r.result[0]["values"] == [[1704067230.0, "2"], [1704067245.0, "3"], [1704067260.0, "4"]]


def test_range_is_a_matrix_sorted_by_labels(engine):
    r = engine.range("x", T, T + 120_000, 60_000)
    assert r.result_type == "matrix"
    assert [s["metric"]["a"] for s in r.result] == ["1", "2"]
    assert r.result[0]["values"] == [[1704067200.0, "0"], [1704067260.0, "4"], [1704067320.0, "8"]]
    scalar = engine.range("time()", T, T + 60_000, 60_000)
    assert scalar.result == [{"metric": {}, "values": [[1704067200.0, "1704067200"], [1704067260.0, "1704067260"]]}]


def test_lookback_ends_a_series_five_minutes_after_its_last_sample(engine):
    assert len(engine.instant("x", T + 60_000 + 300_000).result) == 2
    assert len(engine.instant("x", T + 60_000 + 300_001).result) == 1
    short = Engine(engine.source, lookback_ms=60_000)
    assert len(short.instant("x", T + 60_000 + 60_001).result) == 1


def test_quoted_names_select_dotted_metrics(engine):
    r = engine.instant('{"http.server.duration"}', T)
    assert r.result[0]["metric"]["__name__"] == "http.server.duration"


def test_at_start_and_end_in_a_range(engine):
    r = engine.range('x{a="1"} @ end()', T, T + 60_000, 30_000)
    assert [v for _, v in r.result[0]["values"]] == ["4", "4", "4"]
    r = engine.range('x{a="1"} @ start()', T + 30_000, T + 60_000, 30_000)
    assert [v for _, v in r.result[0]["values"]] == ["2", "2"]


@pytest.mark.parametrize(
    "args",
    [("x", T, T - 1, 1000), ("x", T, T, 0), ("x[5m]", T, T, 1000), ('"s"', T, T, 1000), ("sum(", T, T, 1)],
)
def test_range_validation(engine, args):
    with pytest.raises(BadDataError):
        engine.range(*args)


def test_too_many_samples_says_how_to_narrow():
    src = MemorySource([({"__name__": "x", "i": str(i)}, STEPS, [1.0] * 41) for i in range(10)])
    with pytest.raises(ExecutionError, match="too many samples.*narrow the query"):
        Engine(src, max_samples=100).range("x", T, T + 600_000, 15_000)
    assert Engine(src, max_samples=10_000).instant("sum(x)", T).result


def test_a_passed_deadline_is_a_timeout(engine):
    with pytest.raises(QueryTimeoutError):
        engine.range("rate(x[1m])", T, T + 600_000, 15_000, deadline=time.monotonic() - 1)


def test_subquery_steps_are_aligned_to_multiples_of_the_step(engine):
    r = engine.instant('x{a="1"}[1m:20s]', T + 65_000)
    assert [t for t, _ in r.result[0]["values"]] == [1704067220.0, 1704067240.0, 1704067260.0]


def test_steps_and_subquery_steps_are_bounded(engine):
    with pytest.raises(BadDataError, match="maximum resolution"):
        engine.range("x", T, T + 11_000 * 1000, 1000)
    assert engine.range("x", T, T + 10_999 * 1000, 1000).result
    with pytest.raises(ExecutionError, match="too many samples"):
        Engine(engine.source, max_samples=1000).instant("max_over_time(x[1y:1ms])", T)


def test_range_functions_in_small_chunks_answer_the_same(engine, monkeypatch):
    from weir.promql import evaluator

    query = "rate(x[1m]) or max_over_time(x[2m])"
    whole = engine.range(query, T, T + 600_000, 15_000).result
    monkeypatch.setattr(evaluator, "WINDOWS_PER_CHUNK", 7)
    assert engine.range(query, T, T + 600_000, 15_000).result == whole
