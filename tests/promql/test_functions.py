"""Instant-vector functions: dates against Python's calendar, label_replace's template
expansion as Go's, absent()'s labels, histogram_quantile's grouping."""

from __future__ import annotations

import calendar
import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weir.promql import functions
from weir.promql.errors import ExecutionError
from weir.promql.source import Matcher
from weir.promql.values import Block, labels_of


@settings(max_examples=300, deadline=None)
@given(st.integers(-62_135_596_800, 253_402_300_799))  # years 1..9999
def test_date_parts_match_pythons_calendar(seconds):
    d = dt.datetime.fromtimestamp(seconds, dt.UTC)
    s = np.array([seconds])
    days_in_month = calendar.monthrange(d.year, d.month)[1]
    want = {
        "year": d.year,
        "month": d.month,
        "day_of_month": d.day,
        "day_of_year": d.timetuple().tm_yday,
        "day_of_week": (d.weekday() + 1) % 7,
        "hour": d.hour,
        "minute": d.minute,
        "days_in_month": days_in_month,
    }
    for name, value in want.items():
        assert functions.date_part(name, s)[0] == value, name


def _block(rows):
    return Block([labels_of(r) for r in rows], np.ones((len(rows), 1)), np.ones((len(rows), 1), dtype=bool))


@pytest.mark.parametrize(
    ("template", "want"),
    [
        ("$1", "ab"),
        ("${1}x", "abx"),
        ("$1x", ""),
        ("$name-$2", "ab-cd"),
        ("${name}", "ab"),
        ("$$1", "$1"),
        ("$9", ""),
        ("a$", "a$"),
        ("${", "${"),
    ],
)
def test_label_replace_expands_like_go(template, want):
    out = functions.label_replace(_block([{"src": "abcd"}]), "dst", template, "src", "(?P<name>ab)(cd)")
    assert dict(out.labels[0]).get("dst", "") == want


def test_label_replace_without_a_match_keeps_the_series_and_an_empty_result_deletes():
    b = _block([{"src": "zz", "dst": "keep"}])
    assert dict(functions.label_replace(b, "dst", "x", "src", "a+").labels[0])["dst"] == "keep"
    assert "dst" not in dict(functions.label_replace(b, "dst", "", "src", ".*").labels[0])


def test_label_functions_refuse_bad_names_and_regexes():
    with pytest.raises(ExecutionError):
        functions.label_replace(_block([{}]), "bad-name", "", "src", ".*")
    with pytest.raises(ExecutionError):
        functions.label_replace(_block([{}]), "dst", "", "src", "(")
    with pytest.raises(ExecutionError):
        functions.label_join(_block([{}]), "dst", ",", ["bad name"])


def test_label_join():
    out = functions.label_join(_block([{"a": "1", "b": "2"}]), "c", "-", ["a", "missing", "b"])
    assert dict(out.labels[0])["c"] == "1--2"


def test_absent_labels_keep_single_equality_matchers():
    matchers = [
        Matcher("job", "=", "a"),
        Matcher("env", "=~", "p.*"),
        Matcher("x", "=", "1"),
        Matcher("x", "=", "2"),
        Matcher("__name__", "=", "up"),
    ]
    assert functions.absent_labels(matchers) == (("job", "a"),)


def test_histogram_quantile_groups_by_all_labels_but_le_and_drops_the_name():
    rows = [{"__name__": "h_bucket", "job": "a", "le": le} for le in ("1", "+Inf")]
    rows.append({"__name__": "h_bucket", "job": "a", "le": "not-a-number"})
    b = Block([labels_of(r) for r in rows], np.array([[5.0], [10.0], [99.0]]), np.ones((3, 1), dtype=bool))
    out = functions.histogram_quantile(np.array([0.5]), b)
    assert out.labels == [(("job", "a"),)] and out.v[0, 0] == 1.0


def test_clamp_with_max_below_min_is_empty():
    b = _block([{"a": "1"}])
    assert not functions.clamp(b, np.array([2.0]), np.array([1.0])).m.any()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["0", "0.1", "0.5", "1", "1.0", "2.5", "10", "+Inf", "-1"]), min_size=1, max_size=6, unique=True
    ),
    st.lists(
        st.lists(st.sampled_from([0.0, 1.0, 2.0, 5.0, 7.5, 100.0]), min_size=6, max_size=6), min_size=1, max_size=4
    ),
    st.sampled_from([0.0, 0.25, 0.5, 0.9, 0.99, 1.0, -0.5, 1.5, float("nan")]),
)
def test_vectorized_histogram_quantile_equals_the_scalar_one(les, steps, q):
    """The all-steps path against `bucket_quantile` step by step (equal bounds spelled
    differently, non-monotonic counts and missing +Inf included)."""
    from weir.promql.quantile import bucket_quantile

    counts = np.array([[s[j] for s in steps] for j in range(len(les))])
    block = Block([labels_of({"le": le, "job": "a"}) for le in les], counts, np.ones_like(counts, dtype=bool))
    out = functions.histogram_quantile(np.full(len(steps), q), block)
    for s in range(len(steps)):
        want = bucket_quantile(q, [(float(le), counts[j, s]) for j, le in enumerate(les)])
        got = out.v[0, s]
        assert (np.isnan(want) and np.isnan(got)) or got == pytest.approx(want, rel=1e-12), (les, counts[:, s], q)
