"""Ingest's cache of validated series: series id by (name, type, unit), then dimension bytes.

Why two levels: nearly every batch is points of one metric (one name, type and unit), and
at a million series the lookup was the largest cost of ingesting known series (issue 18).
A flat dict keyed by the 4-tuple built, hashed and compared a tuple per point; here a batch
picks its metric's dict once and each point looks up its raw dimension bytes alone, which
measured 15-40% cheaper per point (10k and 1M series; /tmp micro-benchmarks, noisy machine).

A key is what identifies a series in a `WirePoint`: (name, type, unit, dimensions as their
raw JSON bytes) -- `weir.metrics.ingest.SeriesKey`.
"""

from __future__ import annotations

from typing import Any

Kind = tuple[str, str, "str | None"]


class SeriesCache:
    """At most `limit` series ids; full, it is cleared (and refilled from the store)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.by_kind: dict[Kind, dict[bytes, int]] = {}  # read it, never write it
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def __contains__(self, key: tuple[Any, Any, Any, bytes]) -> bool:
        return self.get(key) is not None

    def get(self, key: tuple[Any, Any, Any, bytes]) -> int | None:
        ids = self.by_kind.get(key[:3])
        return None if ids is None else ids.get(key[3])

    def kind(self, name: str, mtype: str, unit: str | None) -> dict[bytes, int] | None:
        """The ids of one (name, type, unit) by dimension bytes: read it, never write it."""
        return self.by_kind.get((name, mtype, unit))

    def put(self, key: tuple[Any, Any, Any, bytes], sid: int) -> None:
        if self._n >= self.limit:
            self.clear()
        ids = self.by_kind.setdefault(key[:3], {})
        if key[3] not in ids:
            self._n += 1
        ids[key[3]] = sid

    def pop(self, key: tuple[Any, Any, Any, bytes]) -> None:
        ids = self.by_kind.get(key[:3])
        if ids is not None and ids.pop(key[3], None) is not None:
            self._n -= 1

    def clear(self) -> None:
        self.by_kind.clear()
        self._n = 0
