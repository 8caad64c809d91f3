"""Value formatting as Go's strconv.FormatFloat(v, 'f', -1, 64), and row merging."""

from __future__ import annotations

import numpy as np
import pytest

from weir.promql.errors import ExecutionError
from weir.promql.values import Block, format_value, format_values, labels_of, merge_rows


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (1.0, "1"),
        (-0.0, "-0"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e21, "1000000000000000000000"),
        (1.5e-7, "0.00000015"),
        (123456789.125, "123456789.125"),
        (float("nan"), "NaN"),
        (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"),
        (5e-324, "0." + "0" * 323 + "5"),
        (2.0**53 + 2, "9007199254740994"),
    ],
)
def test_format_value_like_go(x, text):
    assert format_value(x) == text
    assert format_values(np.array([x])) == [text]


def test_format_values_in_bulk_equals_one_by_one():
    rng = np.random.default_rng(7)
    values = np.concatenate(
        [
            rng.normal(size=2000) * 10.0 ** rng.integers(-30, 30, 2000),
            np.round(rng.normal(size=2000) * 1e6),
            np.array([0.0, -0.0, 1e16, 1e-4, 9.999e-5, np.nan, np.inf]),
        ]
    )
    assert format_values(values) == [format_value(float(v)) for v in values]


def test_labels_drop_empty_values_and_sort():
    assert labels_of({"b": "2", "a": "1", "c": ""}) == (("a", "1"), ("b", "2"))


def _block(labels, values, masks):
    return Block([labels_of(x) for x in labels], np.array(values, dtype=float), np.array(masks, dtype=bool))


def test_rows_with_one_label_set_join_when_they_never_share_a_step():
    merged = merge_rows(_block([{"a": "1"}, {"a": "1"}], [[1, 0], [0, 2]], [[True, False], [False, True]]))
    assert len(merged) == 1 and merged.v.tolist() == [[1, 2]] and merged.m.all()


def test_same_label_set_at_the_same_step_is_an_error():
    with pytest.raises(ExecutionError, match="same labelset"):
        merge_rows(_block([{"a": "1"}, {"a": "1"}], [[1, 0], [3, 2]], [[True, False], [True, True]]))


def test_strict_merging_refuses_any_duplicate():
    with pytest.raises(ExecutionError):
        merge_rows(_block([{"a": "1"}, {"a": "1"}], [[1, 0], [0, 2]], [[True, False], [False, True]]), strict=True)
