"""`StoreSource` over a real SQLite store: names and labels, matchers, ns→ms."""

from __future__ import annotations

import time

import numpy as np
import pytest

from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.metrics.ports import PointBatch
from weir.metrics.series import make_series
from weir.promql.errors import BadDataError
from weir.promql.source import Matcher, StoreSource

T = 1_704_067_200_000  # ms
NS = 1_000_000


@pytest.fixture
def store(tmp_path):
    s = SqliteMetricStore(tmp_path / "m.db", retention_seconds=400 * 86400, clock=lambda: T / 1000 + 3600)
    deadline = time.monotonic() + 30
    while not s.ready() and time.monotonic() < deadline:
        time.sleep(0.01)
    yield s
    s.close()


def _put(store, name, dims, points, type_="gauge", unit=None):
    series = make_series(name, dims, type_, unit)
    store.append(PointBatch([series.id] * len(points), [t for t, _ in points], [v for _, v in points], [series]))
    return series


def test_read_floors_to_milliseconds_and_keeps_the_last_in_a_millisecond(store):
    _put(store, "cpu", {"host": "a"}, [(T * NS + 5, 1.0), (T * NS + 999_999, 2.0), (T * NS + NS, 3.0)])
    [got] = StoreSource(store).read([Matcher("__name__", "=", "cpu")], T, T + 1)
    assert got.labels == {"__name__": "cpu", "host": "a"}
    assert got.t.tolist() == [T, T + 1] and got.v.tolist() == [2.0, 3.0]
    assert got.t.dtype == np.int64


def test_read_includes_both_ends(store):
    _put(store, "cpu", {}, [((T + i) * NS, float(i)) for i in range(5)])
    [got] = StoreSource(store).read([Matcher("__name__", "=", "cpu")], T + 1, T + 3)
    assert got.t.tolist() == [T + 1, T + 2, T + 3]


def test_matchers_select_by_labels_and_name_regex(store):
    _put(store, "cpu", {"host": "a", "dc": "x"}, [(T * NS, 1.0)])
    _put(store, "cpu", {"host": "b"}, [(T * NS, 2.0)])
    _put(store, "http.server.duration", {"host": "a"}, [(T * NS, 3.0)], "gauge", "s")
    _put(store, "mem", {"host": "a"}, [(T * NS, 4.0)], "counter")
    src = StoreSource(store)

    def names(*matchers):
        return sorted((s.labels["__name__"], s.labels.get("host")) for s in src.read(list(matchers), T, T))

    assert names(Matcher("__name__", "=~", "cpu|mem"), Matcher("host", "=", "a")) == [("cpu", "a"), ("mem", "a")]
    assert names(Matcher("__name__", "=~", "http\\..*")) == [("http.server.duration", "a")]
    assert names(Matcher("__name__", "=", "cpu"), Matcher("dc", "=", "")) == [("cpu", "b")]
    assert names(Matcher("__name__", "!=", "cpu"), Matcher("host", "=~", "a|b")) == [
        ("http.server.duration", "a"),
        ("mem", "a"),
    ]
    assert names(Matcher("__name__", "=", "nope")) == []
    infos = src.series([Matcher("__name__", "=", "http.server.duration")], T, T)
    assert [(i.labels, i.type, i.unit) for i in infos] == [
        ({"__name__": "http.server.duration", "host": "a"}, "gauge", "s")
    ]


def test_regexes_are_fully_anchored():
    m = Matcher("a", "=~", "foo")
    assert m.matches("foo") and not m.matches("foobar") and not m.matches("xfoo")
    assert Matcher("a", "!~", "fo+").matches("fox")
    assert Matcher("a", "=~", "").matches("") and not Matcher("a", "=~", "").matches("x")


def test_a_bad_regex_or_operator_is_bad_data():
    with pytest.raises(BadDataError):
        Matcher("a", "=~", "(")
    with pytest.raises(BadDataError):
        Matcher("a", "==", "x")
