"""The closed hours a batch of points marks as changed (export_state.late_hours): the fast
paths (min/max for a batch within one hour) must name exactly the hours a point-by-point
pass names."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from weir.backends.sqlite.export_state import late_hours
from weir.backends.sqlite.schema import HOUR_NS

CUT = 500_000 * HOUR_NS  # the current hour's start


def reference(timestamps: list[int], cut: int) -> set[int]:
    return {t - t % HOUR_NS for t in timestamps if t < cut}


@settings(max_examples=500, deadline=None)
@given(st.lists(st.integers(CUT - 4 * HOUR_NS, CUT + 2 * HOUR_NS), max_size=40))
def test_late_hours_are_the_closed_hours_of_the_points(timestamps: list[int]) -> None:
    assert set(late_hours(timestamps, CUT)) == reference(timestamps, CUT)


@settings(max_examples=200, deadline=None)
@given(st.integers(-3 * HOUR_NS, 3 * HOUR_NS), st.lists(st.integers(0, HOUR_NS - 1), min_size=1, max_size=20))
def test_late_hours_around_hour_edges_and_before_1970(base: int, offsets: list[int]) -> None:
    timestamps = [base + o for o in offsets]
    for cut in (0, HOUR_NS, -HOUR_NS, 4 * HOUR_NS):
        assert set(late_hours(timestamps, cut)) == reference(timestamps, cut)


def test_typical_batches() -> None:
    assert set(late_hours([], CUT)) == set()
    assert set(late_hours([CUT, CUT + 5], CUT)) == set()  # the current hour: nothing to mark
    assert set(late_hours([CUT - 1, CUT - 2], CUT)) == {CUT - HOUR_NS}
    assert set(late_hours([CUT - 3 * HOUR_NS, CUT - 3 * HOUR_NS + 7], CUT)) == {CUT - 3 * HOUR_NS}
    assert set(late_hours([CUT - 3 * HOUR_NS, CUT - 1, CUT + 1], CUT)) == {CUT - 3 * HOUR_NS, CUT - HOUR_NS}
