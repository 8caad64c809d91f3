"""Runs of points: the one merge both stores and the reader use (later writes win)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from weir.metrics.points import merge, sorted_unique, trim


def test_a_later_run_wins_at_the_same_instant():
    assert merge([([1, 2, 3], [1.0, 2.0, 3.0]), ([2], [20.0])]) == ([1, 2, 3], [1.0, 20.0, 3.0])


def test_runs_apart_in_time_are_concatenated_in_time_order_whatever_their_write_order():
    assert merge([([5, 6], [5.0, 6.0]), ([1, 2], [1.0, 2.0]), ([], [])]) == ([1, 2, 5, 6], [1.0, 2.0, 5.0, 6.0])


def test_unsorted_runs_are_sorted_unless_the_caller_vouches_for_them():
    assert merge([([3, 1, 3], [1.0, 2.0, 4.0])]) == ([1, 3], [2.0, 4.0])
    assert sorted_unique([2, 2, 1], [1.0, 2.0, 3.0]) == ([1, 2], [3.0, 2.0])


def test_trim_is_half_open():
    assert trim([1, 2, 3, 4], [1.0, 2.0, 3.0, 4.0], 2, 4) == ([2, 3], [2.0, 3.0])
    ts, vals = [1, 2], [1.0, 2.0]
    assert trim(ts, vals, 0, 10)[0] is ts  # nothing cut: the run itself, no copy


runs = st.lists(st.lists(st.tuples(st.integers(0, 20), st.floats(allow_nan=False)), max_size=8), max_size=5)


@given(runs)
def test_merge_equals_replaying_every_write_in_order(raw):
    expected: dict[int, float] = {}
    for run in raw:
        expected.update(run)
    as_runs = [([t for t, _ in run], [v for _, v in run]) for run in raw]
    if not as_runs:
        return
    ts, vals = merge(as_runs)
    assert ts == sorted(expected) and vals == [expected[t] for t in ts]
