"""What the `stream` function does with the time-series table's stream: compaction.

Each segment write shows which metric is being written; once per invocation and metric,
the metric's pending hours that closed at least `GRACE_NS` ago are compacted into
per-series chunks (see `metrics.py`). Live metrics thus get compacted within minutes of
each hour's close, and a late write into a closed hour triggers its recompaction.

A failure marks every record of that metric failed, so Lambda retries from the first of
them (partial batch response); compaction is idempotent, so retries are harmless.
"""

from __future__ import annotations

from weir.errors import StorageError

from . import key_schema
from .metrics import CompactionResult, DynamoMetricStore


class StreamCompaction:
    """The work of one invocation."""

    def __init__(self, store: DynamoMetricStore) -> None:
        self.store = store
        self.results: list[CompactionResult] = []
        self._outcome: dict[str, str | None] = {}  # metric → error message, None when done

    def record(self, event_name: str, pk: str) -> None:
        parsed = key_schema.parse_segment_pk(pk)
        if parsed is None or event_name == "REMOVE":  # chunks, pending marks, TTL deletes
            return
        name = parsed[0]
        if name not in self._outcome:
            try:
                self.results += self.store.compact_due(name)
                self._outcome[name] = None
            except Exception as exc:  # reported per record, retried by Lambda
                self._outcome[name] = f"{type(exc).__name__}: {exc}"
        error = self._outcome[name]
        if error is not None:
            raise StorageError(f"compacting metric {name!r} failed: {error}")

    @property
    def hours(self) -> int:
        return sum(1 for r in self.results if r.compacted)

    @property
    def points(self) -> int:
        return sum(r.points for r in self.results if r.compacted)

    @property
    def raced(self) -> int:
        return sum(1 for r in self.results if not r.compacted and r.series)
