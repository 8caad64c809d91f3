"""The state machine against CloudWatch's documented examples and a brute-force oracle."""

from __future__ import annotations

from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weir.metrics.alerts.state import breaches, decide, evaluation_range, event_kind

TREATMENTS = ("missing", "ignore", "breaching", "not_breaching")
THRESHOLD = 10.0


def points(text: str) -> list[float | None]:
    """CloudWatch's notation: 0 not breaching, X breaching, - missing (oldest first)."""
    return [{"0": 1.0, "X": 99.0, "-": None}[c] for c in text.split()]


# The two tables of "How alarm state is evaluated when data is missing" (CloudWatch user
# guide); "keep" is "Retain current state".
TABLE_3_OF_3 = [
    ("0 - X - X", "OK", "OK", "OK", "OK"),
    ("0 - - - -", "OK", "OK", "OK", "OK"),
    ("- - - - -", "INSUFFICIENT_DATA", "keep", "ALARM", "OK"),
    ("0 X X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("- - - - X", "INSUFFICIENT_DATA", "keep", "ALARM", "OK"),
    ("X - - - -", "ALARM", "keep", "ALARM", "OK"),
]
TABLE_2_OF_3 = [
    ("0 - X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("0 0 X 0 X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("0 - X - -", "OK", "OK", "ALARM", "OK"),
    ("- - - - 0", "OK", "OK", "ALARM", "OK"),
    ("- - - - X", "INSUFFICIENT_DATA", "keep", "ALARM", "OK"),
]


@pytest.mark.parametrize("n, row", [(3, r) for r in TABLE_3_OF_3] + [(2, r) for r in TABLE_2_OF_3])
@pytest.mark.parametrize("current", ["OK", "ALARM", "INSUFFICIENT_DATA"])
def test_cloudwatch_documented_tables(n, row, current):
    data, *expected = row
    assert evaluation_range(3) == 5
    for treatment, want in zip(TREATMENTS, expected):
        got = decide(points(data), comparison=">", threshold=THRESHOLD, m=3, n=n, missing=treatment,
                     current=current)
        assert got.state == (current if want == "keep" else want), (data, treatment)


def test_reason_names_the_datapoints_and_threshold():
    d = decide([5.0, 12.0, 13.5], comparison=">", threshold=10, m=3, n=2, missing="missing", current="OK")
    assert d.state == "ALARM" and d.value == 13.5
    assert "2 of the last 3 datapoints [5, 12, 13.5]" in d.reason and "greater than the threshold (10)" in d.reason


@pytest.mark.parametrize(
    "cmp, value, want", [(">", 10, False), (">=", 10, True), ("<", 9.99, True), ("<=", 10.01, False)]
)
def test_comparisons(cmp, value, want):
    assert breaches(value, cmp, 10.0) is want


# -- brute-force oracle -------------------------------------------------------------------


def oracle(values: list[float | None], cmp: str, m: int, n: int, missing: str, current: str) -> str:
    """The documented rules, written the slow obvious way: build the M evaluated points as
    a list, then look for N breaching ones among them with itertools.combinations."""
    flags = ["-" if v is None else ("X" if breaches(v, cmp, THRESHOLD) else "0") for v in values]
    real = [f for f in flags if f != "-"]

    def n_of(evaluated: list[str]) -> bool:
        return any(all(evaluated[i] == "X" for i in idx) for idx in combinations(range(len(evaluated)), n))

    if len(real) >= m:
        return "ALARM" if n_of(real[len(real) - m:]) else "OK"
    if missing == "breaching":
        return "ALARM" if n_of(real + ["X"] * (m - len(real))) else "OK"
    if missing == "not_breaching":
        return "ALARM" if n_of(real + ["0"] * (m - len(real))) else "OK"
    if not real:
        return "INSUFFICIENT_DATA" if missing == "missing" else current
    if n_of(real + ["0"] * (m - len(real))):
        return "ALARM"
    if "0" in real:
        return "OK"
    if missing == "ignore":
        return current
    return "ALARM" if flags[0] == "X" else "INSUFFICIENT_DATA"


@st.composite
def evaluations(draw):
    m = draw(st.integers(1, 6))
    n = draw(st.integers(1, m))
    value = st.one_of(st.none(), st.sampled_from([1.0, 10.0, 99.0]), st.floats(-1e6, 1e6))
    values = draw(st.lists(value, min_size=evaluation_range(m), max_size=evaluation_range(m)))
    return m, n, values, draw(st.sampled_from(TREATMENTS)), draw(st.sampled_from([">", ">=", "<", "<="])), \
        draw(st.sampled_from(["OK", "ALARM", "INSUFFICIENT_DATA"]))


@settings(max_examples=600, deadline=None)
@given(evaluations())
def test_state_matches_brute_force_oracle(case):
    m, n, values, missing, cmp, current = case
    got = decide(values, comparison=cmp, threshold=THRESHOLD, m=m, n=n, missing=missing, current=current)
    assert got.state == oracle(values, cmp, m, n, missing, current)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 8).flatmap(lambda m: st.tuples(
    st.just(m), st.integers(1, m), st.lists(st.booleans(), min_size=m + 2, max_size=m + 2))))
def test_full_data_is_n_out_of_the_last_m(case):
    m, n, flags = case
    values = [99.0 if f else 1.0 for f in flags]
    got = decide(values, comparison=">", threshold=THRESHOLD, m=m, n=n, missing="breaching", current="OK")
    assert (got.state == "ALARM") == (sum(flags[-m:]) >= n)


def test_event_kind_transition_and_renotify():
    assert event_kind("OK", "ALARM", last_notified_ns=None, now_ns=0, renotify_ns=None) == "transition"
    assert event_kind("ALARM", "ALARM", last_notified_ns=0, now_ns=10, renotify_ns=None) is None
    assert event_kind("ALARM", "ALARM", last_notified_ns=0, now_ns=9, renotify_ns=10) is None
    assert event_kind("ALARM", "ALARM", last_notified_ns=0, now_ns=10, renotify_ns=10) == "renotify"
    assert event_kind("OK", "OK", last_notified_ns=0, now_ns=10**12, renotify_ns=10) is None
