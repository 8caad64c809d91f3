"""Ingest's two-level series cache (weir.metrics.series_cache)."""

from __future__ import annotations

from weir.metrics.series_cache import SeriesCache

A = ("cpu", "gauge", None, b'{"host":"a"}')
B = ("cpu", "gauge", None, b'{"host":"b"}')
A_COUNTER = ("cpu", "counter", None, b'{"host":"a"}')
A_UNIT = ("cpu", "gauge", "percent", b'{"host":"a"}')


def test_a_key_is_the_whole_tuple_not_the_dimensions_alone():
    cache = SeriesCache(10)
    cache.put(A, 1)
    cache.put(A_COUNTER, 2)
    assert (cache.get(A), cache.get(A_COUNTER), cache.get(A_UNIT), cache.get(B)) == (1, 2, None, None)
    assert cache.kind("cpu", "gauge", None) == {A[3]: 1}
    assert cache.kind("mem", "gauge", None) is None
    assert A in cache and A_UNIT not in cache and len(cache) == 2


def test_putting_again_replaces_and_pop_forgets():
    cache = SeriesCache(10)
    cache.put(A, 1)
    cache.put(A, 3)
    assert cache.get(A) == 3 and len(cache) == 1
    cache.pop(B)  # not there: nothing happens
    cache.pop(A)
    assert cache.get(A) is None and len(cache) == 0


def test_a_full_cache_is_cleared_before_the_next_put():
    cache = SeriesCache(2)
    cache.put(A, 1)
    cache.put(B, 2)
    cache.put(A_COUNTER, 3)
    assert len(cache) == 1 and cache.get(A_COUNTER) == 3 and cache.get(A) is None
