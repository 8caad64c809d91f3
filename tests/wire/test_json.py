import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weir.errors import InvalidInputError, PayloadTooLargeError
from weir.metrics import limits
from weir.metrics.model import decode_dimensions
from weir.wire.json import decode_points


def test_batch_fast_path():
    body = json.dumps({"metrics": [{"name": "a", "value": 1}, {"name": "b", "value": 2.5, "type": "counter"}]})
    points, rejected = decode_points(body)
    assert rejected == []
    assert [(p.name, p.value, p.type) for p in points] == [("a", 1.0, "gauge"), ("b", 2.5, "counter")]


def test_single_point_and_seed_shape():
    [p], _ = decode_points('{"name": "a", "value": 1, "dimensions": {"h": "x"}}')
    assert p.name == "a" and decode_dimensions(p.dimensions) == {"h": "x"}
    [p], _ = decode_points('{"metric_name": "a", "value": 1, "metric_type": "counter"}')
    assert (p.name, p.type) == ("a", "counter")


def test_per_index_errors_keep_the_rest():
    body = json.dumps({"metrics": [{"name": "a", "value": 1}, {"name": "b"}, {"name": "c", "value": [1]}]})
    points, rejected = decode_points(body)
    assert points[0].name == "a" and points[1] is None and points[2] is None
    assert [(r.index, r.error) for r in rejected] == [
        (1, "object missing required field value"),
        (2, "value: expected float, got array"),
    ]


@pytest.mark.parametrize("body, batch", [
    ('{"name": "cpu", "value": "42"}', '{"metrics": [{"name": "cpu", "value": "42"}]}'),
    ('{"name": "cpu", "value": 1, "type": "histogram"}',
     '{"metrics": [{"name": "cpu", "value": 1, "type": "histogram"}]}'),
    ('{"metric_name": "cpu", "value": "42"}', None),
])
def test_a_single_point_of_the_wrong_type_gets_the_per_point_message(body, batch):
    """Not "body is not valid JSON": the body is JSON, one field has the wrong type."""
    with pytest.raises(InvalidInputError) as single:
        decode_points(body)
    assert "not valid JSON" not in single.value.message
    assert single.value.message.startswith("value: " if "value\": \"42" in body else "type: ")
    if batch is not None:
        _, [rejected] = decode_points(batch)
        assert single.value.message == rejected.error


def test_a_body_that_is_not_json_still_says_so():
    with pytest.raises(InvalidInputError, match="body is not valid JSON"):
        decode_points('{"name": "cpu", "value": 4')


def test_count_limits():
    with pytest.raises(InvalidInputError, match="empty"):
        decode_points('{"metrics": []}')
    many = json.dumps({"metrics": [{"name": "a", "value": 1}] * (limits.MAX_POINTS_PER_REQUEST + 1)})
    with pytest.raises(PayloadTooLargeError):
        decode_points(many)


def test_dimension_errors_name_the_key():
    from msgspec import Raw

    with pytest.raises(InvalidInputError, match="^dimensions.host: expected str, got int"):
        decode_dimensions(Raw(b'{"host": 1}'))


@given(st.binary(max_size=300) | st.text(max_size=300))
def test_arbitrary_bytes_never_crash(body):
    try:
        points, rejected = decode_points(body)
    except InvalidInputError:
        return
    assert len(points) >= 1
    assert all(r.error for r in rejected)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)


@given(st.lists(st.dictionaries(st.sampled_from(["name", "value", "timestamp", "type", "x"]), json_values), max_size=5))
def test_arbitrary_json_batches_never_crash(items):
    try:
        points, rejected = decode_points(json.dumps({"metrics": items}))
    except InvalidInputError:
        return
    assert len(points) == len(items)
    assert sum(p is None for p in points) == len(rejected)


@pytest.mark.parametrize("inner", ["metrics", "dimensions"])
def test_deep_nesting_is_a_400_not_a_crash(inner):
    deep = "[" * 100_000 + "]" * 100_000
    body = f'{{"metrics": {deep}}}' if inner == "metrics" else f'{{"name": "x", "value": 1, "dimensions": {deep}}}'
    with pytest.raises(InvalidInputError, match="nested too deeply"):
        decode_points(body)
