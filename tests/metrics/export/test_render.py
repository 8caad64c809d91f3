"""Rendering an hour: hour parsing, Hive-style keys, JSON-lines parts, Parquet parts, the manifest."""

from __future__ import annotations

import gzip
import hashlib
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weir.errors import InvalidInputError
from weir.metrics.export import render as export
from weir.metrics.series import make_series
from weir.metrics.timeutil import NS

HOUR = export.parse_hour("2026-11-22T10")


def test_parse_hour_accepts_the_documented_forms():
    assert HOUR == 1_795_341_600 * NS
    for text in ["2026-11-22T10:00", "2026-11-22T10:00:00Z", "2026-11-22 10", "2026-11-22T10:00:00+00:00",
                 " 2026-11-22T10 "]:
        assert export.parse_hour(text) == HOUR, text
    assert export.format_hour(HOUR) == "2026-11-22T10"


@pytest.mark.parametrize("text", ["2026-11-22", "2026-11-22T10:30", "2026-11-22T25", "2026-02-30T01",
                                  "2026-11-22T10:00:00+02:00", "yesterday", ""])
def test_parse_hour_rejects_anything_else_with_the_expected_form(text):
    with pytest.raises(InvalidInputError, match="YYYY-MM-DDTHH|valid date"):
        export.parse_hour(text)


def test_keys_are_hive_style():
    assert export.hour_prefix(HOUR) == "metrics/dt=2026-11-22/hour=10/"
    assert export.part_key(HOUR, 7, "jsonl") == "metrics/dt=2026-11-22/hour=10/part-00007.jsonl.gz"
    assert export.part_key(HOUR, 0, "parquet") == "metrics/dt=2026-11-22/hour=10/part-00000.parquet"
    assert export.manifest_key(HOUR) == "metrics/dt=2026-11-22/hour=10/_manifest.json"
    assert export.hour_prefix(HOUR + 13 * export.HOUR_NS) == "metrics/dt=2026-11-22/hour=23/"
    assert export.hour_prefix(HOUR + 14 * export.HOUR_NS) == "metrics/dt=2026-11-23/hour=00/"


def sample():
    a = make_series("cpu", {"host": "web-1", "note": 'quote " and \\ slash'}, "gauge", "percent")
    b = make_series("requests", {}, "counter", None)
    return [
        (a, [HOUR, HOUR + 1, HOUR + 61 * NS + 500_000_000], [1.0, -0.1, 1e300]),
        (b, [HOUR + 3599 * NS + 999_999_999], [5e-324]),
    ]


def render(points, **kw):
    summary = export.HourSummary(HOUR, kw.get("fmt", "jsonl"))
    parts = list(export.render_parts(HOUR, iter(points), summary, **kw))
    return summary, parts


def rows_of(parts):
    return [json.loads(line) for p in parts for line in gzip.decompress(p.data).decode().splitlines()]


def test_jsonl_rows_carry_every_column_and_exact_values():
    summary, parts = render(sample())
    rows = rows_of(parts)
    assert [c["name"] for c in export.COLUMNS] == list(rows[0])
    assert rows[0] == {
        "series": 'cpu{host="web-1",note="quote \\" and \\\\ slash"}', "name": "cpu",
        "dimensions": {"host": "web-1", "note": 'quote " and \\ slash'}, "type": "gauge", "unit": "percent",
        "timestamp": "2026-11-22T10:00:00Z", "timestamp_ns": HOUR, "value": 1.0,
    }
    assert [r["timestamp"] for r in rows] == [
        "2026-11-22T10:00:00Z", "2026-11-22T10:00:00.000000001Z", "2026-11-22T10:01:01.5Z",
        "2026-11-22T10:59:59.999999999Z",
    ]
    assert [r["value"] for r in rows] == [1.0, -0.1, 1e300, 5e-324]
    assert rows[3]["unit"] is None and rows[3]["dimensions"] == {}
    assert (summary.rows, summary.series, summary.first_ns, summary.last_ns) == (
        4, 2, HOUR, HOUR + 3599 * NS + 999_999_999)


def test_parts_split_by_row_count_even_inside_a_series():
    summary, parts = render(sample(), rows_per_part=3)
    assert [p.rows for p in parts] == [3, 1]
    assert [p.key.rsplit("/", 1)[1] for p in parts] == ["part-00000.jsonl.gz", "part-00001.jsonl.gz"]
    assert len(rows_of(parts)) == 4
    assert all(p.sha256 == hashlib.sha256(p.data).hexdigest() for p in parts)


def test_rendering_is_deterministic_to_the_byte():
    _, first = render(sample())
    _, second = render(sample())
    assert [p.data for p in first] == [p.data for p in second]
    assert first[0].data[4:8] == b"\0\0\0\0"  # gzip mtime zero


def test_an_empty_hour_has_no_parts_and_a_manifest_saying_so():
    summary, parts = render([])
    assert parts == []
    doc = export.read_manifest(export.render_manifest(summary, parts))
    assert doc["rows"] == 0 and doc["parts"] == [] and doc["first_timestamp"] is None


def test_manifest_lists_parts_with_hashes_and_the_schema():
    summary, parts = render(sample(), rows_per_part=3)
    doc = export.read_manifest(export.render_manifest(summary, parts))
    assert doc["schema_version"] == export.SCHEMA_VERSION
    assert doc["hour"] == "2026-11-22T10" and doc["start"] == "2026-11-22T10:00:00Z"
    assert doc["rows"] == 4 and doc["series"] == 2
    assert doc["first_timestamp"] == "2026-11-22T10:00:00Z"
    assert doc["last_timestamp"] == "2026-11-22T10:59:59.999999999Z"
    assert [(p["key"], p["rows"], p["bytes"], p["sha256"]) for p in doc["parts"]] == [
        (p.key, p.rows, len(p.data), p.sha256) for p in parts
    ]
    assert doc["format"] == "jsonl" and doc["content_encoding"] == "gzip"
    assert [c["name"] for c in doc["columns"]] == [c["name"] for c in export.COLUMNS]


def test_points_outside_the_hour_are_a_bug_not_silently_exported():
    a = make_series("cpu", {}, "gauge", None)
    with pytest.raises(ValueError, match="outside the hour"):
        render([(a, [HOUR + export.HOUR_NS], [1.0])])


def test_unknown_format_is_refused():
    with pytest.raises(InvalidInputError, match="jsonl, parquet"):
        render(sample(), fmt="csv")


def test_parquet_parts_read_back_with_typed_columns():
    pq = pytest.importorskip("pyarrow.parquet")
    summary, parts = render(sample(), fmt="parquet", rows_per_part=3)
    assert [p.key.rsplit("/", 1)[1] for p in parts] == ["part-00000.parquet", "part-00001.parquet"]
    tables = [pq.read_table(io.BytesIO(p.data)) for p in parts]
    rows = [r for t in tables for r in t.drop_columns(["timestamp"]).to_pylist()]
    assert [r["timestamp_ns"] for r in rows] == [t for _, ts, _ in sample() for t in ts]
    assert [r["value"] for r in rows] == [v for _, _, vs in sample() for v in vs]
    assert rows[0]["dimensions"] == [("host", "web-1"), ("note", 'quote " and \\ slash')]
    assert str(tables[0].schema.field("timestamp").type) == "timestamp[ns, tz=UTC]"
    assert tables[0].column("timestamp")[1].value == HOUR + 1
    assert rows[3]["unit"] is None and rows[3]["series"] == "requests"


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, export.HOUR_NS - 1), finite), min_size=1, max_size=50, unique_by=lambda p: p[0])
)
def test_any_point_of_the_hour_round_trips_exactly(points):
    points.sort()
    s = make_series("m", {"k": "v"}, "gauge", None)
    _, parts = render([(s, [HOUR + o for o, _ in points], [v for _, v in points])])
    rows = rows_of(parts)
    assert [(r["timestamp_ns"] - HOUR, r["value"]) for r in rows] == points
    assert [export.parse_hour(r["timestamp"][:13]) for r in rows] == [HOUR] * len(points)


def test_parquet_without_pyarrow_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    monkeypatch.delitem(sys.modules, "weir.metrics.export.parquet", raising=False)
    with pytest.raises(InvalidInputError, match=r"weir\[parquet\]"):
        export.check_format("parquet")
    export.check_format("jsonl")
