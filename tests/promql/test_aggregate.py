"""Aggregations over blocks: per-step semantics computed for all steps at once."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from weir.promql.aggregate import aggregate
from weir.promql.errors import ExecutionError
from weir.promql.values import Block, labels_of

NAN, INF = math.nan, math.inf


def _block(rows, values, masks=None):
    v = np.array(values, dtype=float)
    m = np.ones_like(v, dtype=bool) if masks is None else np.array(masks, dtype=bool)
    return Block([labels_of({"__name__": "x", **r}) for r in rows], v, m)


ROWS = [{"g": "a", "i": "1"}, {"g": "a", "i": "2"}, {"g": "b", "i": "3"}]


def _by_group(out):
    return {dict(ls).get("g"): (v.tolist(), m.tolist()) for ls, v, m in zip(out.labels, out.v, out.m)}


def test_sum_by_only_counts_present_samples():
    b = _block(ROWS, [[1, 2], [10, 20], [5, 6]], [[True, False], [True, True], [False, False]])
    assert _by_group(aggregate("sum", b, ["g"], False, None, 2)) == {"a": ([11, 20], [True, True])}


def test_without_drops_the_name_and_listed_labels():
    out = aggregate("max", _block(ROWS, [[1], [2], [3]]), ["i"], True, None, 1)
    assert sorted(out.labels) == [(("g", "a"),), (("g", "b"),)]


def test_avg_with_infinities_like_prometheus():
    out = aggregate("avg", _block(ROWS[:2], [[INF, INF, 1], [1, -INF, NAN]]), [], False, None, 3)
    got = out.v[0].tolist()
    assert got[0] == INF and math.isnan(got[1]) and math.isnan(got[2])


def test_min_max_ignore_nan_unless_first():
    b = _block(ROWS[:2], [[NAN, 3], [2, NAN]])
    assert aggregate("max", b, [], False, None, 2).v[0].tolist() == [2, 3]
    assert aggregate("min", b, [], False, None, 2).v[0].tolist() == [2, 3]


def test_stddev_and_stdvar():
    b = _block(ROWS, [[1], [2], [3]])
    assert aggregate("stdvar", b, [], False, None, 1).v[0, 0] == pytest.approx(2 / 3)
    assert aggregate("stddev", b, [], False, None, 1).v[0, 0] == pytest.approx(math.sqrt(2 / 3))


def test_topk_per_step_keeps_labels_and_ranks_nan_last():
    b = _block(ROWS, [[1, NAN], [2, 5], [3, 4]])
    out = aggregate("topk", b, [], False, np.array([2.0, 2.0]), 2)
    picked = {dict(ls)["i"]: m.tolist() for ls, m in zip(out.labels, out.m)}
    assert picked == {"2": [True, True], "3": [True, True]}
    assert all(dict(ls)["__name__"] == "x" for ls in out.labels)
    bottom = aggregate("bottomk", b, [], False, np.array([1.0, 1.0]), 2)
    assert {dict(ls)["i"]: m.tolist() for ls, m in zip(bottom.labels, bottom.m)} == {
        "1": [True, False],
        "3": [False, True],
    }


def test_topk_k_below_one_is_empty_and_nan_k_an_error():
    b = _block(ROWS, [[1], [2], [3]])
    assert len(aggregate("topk", b, [], False, np.array([0.5]), 1)) == 0
    with pytest.raises(ExecutionError):
        aggregate("topk", b, [], False, np.array([NAN]), 1)


def test_count_values_labels_values_as_go_formats_them():
    b = _block(ROWS, [[1], [1.5], [1]])
    out = aggregate("count_values", b, [], False, "v", 1)
    assert {dict(ls)["v"]: v[0] for ls, v in zip(out.labels, out.v)} == {"1": 2, "1.5": 1}
    with pytest.raises(ExecutionError):
        aggregate("count_values", b, [], False, "not valid", 1)


def test_quantile_per_group():
    out = aggregate("quantile", _block(ROWS, [[1], [3], [5]]), ["g"], False, np.array([0.5]), 1)
    assert _by_group(out) == {"a": ([2.0], [True]), "b": ([5.0], [True])}


def test_ties_are_broken_as_prometheus_heap_does():
    from weir.promql.aggregate import heap_select

    # [1, 2, 2, 3], k=2: 1 goes out for the second 2, then the first 2 for the 3.
    assert sorted(heap_select([1.0, 2.0, 2.0, 3.0], 2, True)) == [2, 3]
    assert sorted(heap_select([5.0, 5.0, 5.0], 2, True)) == [0, 1]
    assert sorted(heap_select([NAN, 1.0, NAN], 1, True)) == [1]
    assert sorted(heap_select([3.0, 2.0, 2.0, 1.0], 2, False)) == [2, 3]
    b = _block(ROWS + [{"g": "c", "i": "4"}], [[1], [2], [2], [3]])
    out = aggregate("topk", b, [], False, np.array([2.0]), 1)
    assert sorted(dict(ls)["i"] for ls in out.labels) == ["3", "4"]


_values = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                    st.sampled_from([math.inf, -math.inf, math.nan, 0.0, -0.0, 1e308, -1e308, 0.1]))


@given(st.integers(1, 30), st.integers(1, 8), st.data())
def test_avg_step_by_step_gives_the_bits_of_avg_series_by_series(rows, steps, data):
    """`avg` with few steps beside many series runs one step at a time in Python floats;
    series by series over numpy rows is the other way: both are Go's running mean."""
    from weir.promql import aggregate as A

    V = np.array(data.draw(st.lists(st.lists(_values, min_size=steps, max_size=steps), min_size=rows, max_size=rows)))
    M = np.array(data.draw(st.lists(st.lists(st.booleans(), min_size=steps, max_size=steps), min_size=rows,
                                    max_size=rows)))
    by_step = A._avg(V, M) if rows > steps else None
    saved = A._FEW_STEPS
    A._FEW_STEPS = -1
    try:
        by_series = A._avg(V, M)
    finally:
        A._FEW_STEPS = saved
    if by_step is not None:
        present = M.any(axis=0)
        a, b = by_step[present], by_series[present]
        # NaN's sign and payload depend on the order of inf - inf and the like, in Go too; the
        # API writes every NaN as "NaN". Every other value: the same bits.
        assert np.array_equal(np.isnan(a), np.isnan(b))
        assert a[~np.isnan(a)].tobytes() == b[~np.isnan(b)].tobytes()
