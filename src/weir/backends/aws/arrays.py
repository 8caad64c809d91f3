"""The DynamoDB store's answers to the one read path, as arrays (numpy, imported only by
the query path): raw points, minute and hourly rollup records, and hourly sketches."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from weir.errors import TooManyPointsError
from weir.metrics.ports import RollupRead
from weir.metrics.records import HOUR_RECORD
from weir.metrics.sketch import Sketch

from .hourly import read_hourly
from .rollups import RollupSource
from .rollups import read_rollups as _read_rollups

if TYPE_CHECKING:
    from weir.metrics.arrays import RollupBlock, SeriesArrays

    from .dynamo import Dynamo
    from .series_index import SeriesIndex


def as_arrays(got: dict[int, tuple[list[int], list[float]]]) -> SeriesArrays:
    import numpy as np

    from weir.metrics.arrays import SeriesArrays

    return SeriesArrays.from_series([(sid, np.array(got[sid][0], dtype=np.int64), np.array(got[sid][1]))
                                     for sid in sorted(got) if got[sid][0]])


def minute_records(got: RollupRead) -> RollupBlock:
    """Minute rollups (which keep no last point: `last` is not answered from them)."""
    import numpy as np

    from weir.metrics.arrays import RollupBlock

    block = RollupBlock.empty("1m")
    block.covered = got.covered
    if got.series:
        items = sorted(got.series.items())
        n = [len(m) for _, m in items]
        cols = block.cols
        cols["sid"] = np.repeat(np.array([sid for sid, _ in items], dtype=np.int64), n)
        cols["t"] = np.array([x for _, m in items for x in m.ts], dtype=np.int64)
        cols["count"] = np.array([x for _, m in items for x in m.count], dtype=np.int64)
        for name in ("sum", "min", "max"):
            cols[name] = np.array([x for _, m in items for x in getattr(m, name)], dtype=np.float64)
        cols["last_ts"] = np.full(len(cols["t"]), np.iinfo(np.int64).min, dtype=np.int64)
        cols["last"] = np.full(len(cols["t"]), np.nan)
    return block


def hourly_records(source: RollupSource, series_ids: list[int], start_ns: int, end_ns: int) -> RollupBlock:
    import numpy as np

    from weir.metrics.arrays import RollupBlock
    from weir.metrics.records import hour_dtype

    covered, entries = read_hourly(source, series_ids, start_ns, end_ns)
    dtype = hour_dtype()
    recs = np.frombuffer(b"".join(rec for _, rec, _ in entries), dtype=dtype)
    cols = {name: recs[name] for name in dtype.names or ()}
    cols["sid"] = np.array([sid for sid, _, _ in entries], dtype=np.int64)
    return RollupBlock("1h", covered, cols)


def read_sketches(source: RollupSource, series_ids: list[int], spans: list[tuple[int, int]]
                  ) -> list[tuple[int, int, Sketch]]:
    out = []
    for a, b in spans:
        _, entries = read_hourly(source, series_ids, a, b)
        out += [(sid, HOUR_RECORD.unpack(rec)[0], Sketch.decode(sk)) for sid, rec, sk in entries]
    return out


class ArrayReads:
    """The DynamoDB store's read-path methods (mixed into `DynamoMetricStore`): what the one
    read path (`weir.metrics.query.read`) asks of a store, over its rollup items."""

    db: Dynamo
    table: str
    index: SeriesIndex
    clock: Callable[[], float]
    retention_s: int
    hour_retention_s: int
    _pending_hours: Callable[[str, int, int, float], set[int]]
    _run: Callable[[Sequence[Callable[[], Any]]], list[Any]]

    def read(self, series_ids: list[int], start_ns: int, end_ns: int) -> dict[int, tuple[list[int], list[float]]]:
        raise NotImplementedError

    def read_rollups(self, series_ids: list[int], start_ns: int, end_ns: int) -> RollupRead:
        """Minute rollups of the compacted hours in [start, end) (see `rollups.py`)."""
        return _read_rollups(self._rollup_source(), series_ids, start_ns, end_ns)

    # the read path's view of the rollups: minute records of compacted hours (without
    # `last`), hourly records and sketches of compacted hours (kept longer)
    record_levels = ("1m", "1h")
    record_stats = {"1m": frozenset({"count", "sum", "avg", "min", "max"}),
                    "1h": frozenset({"count", "sum", "avg", "min", "max", "last"})}

    @property
    def retention(self) -> dict[str, int]:
        return {"raw": self.retention_s, "1m": self.retention_s, "1h": self.hour_retention_s}

    def _rollup_source(self) -> RollupSource:
        return RollupSource(self.db, self.table, lambda sid: self.index.cached(sid) or self.index.get(sid),
                            self._pending_hours, self._run, self.clock())

    def read_sketches(self, series_ids: list[int], spans: list[tuple[int, int]]):
        """(series id, hour, sketch) of the compacted hours within `spans`."""
        return read_sketches(self._rollup_source(), series_ids, spans)

    def read_arrays(self, series_ids: list[int], start_ns: int, end_ns: int, limit: int | None = None):
        """`read` as arrays (numpy), for the query path. More than `limit` points:
        TooManyPointsError (counted once read: DynamoDB items carry no point count to bound
        the read before it)."""
        got = as_arrays(self.read(series_ids, start_ns, end_ns))
        if limit is not None and got.points > limit:
            raise TooManyPointsError(limit, got.points)
        return got

    def read_records(self, level: str, series_ids: list[int], start_ns: int, end_ns: int):
        """Rollup records of the compacted hours in [start, end): `1m` from the minute
        rollups (no `last`), `1h` from the hourly ones."""
        if level == "1h":
            return hourly_records(self._rollup_source(), series_ids, start_ns, end_ns)
        return minute_records(self.read_rollups(series_ids, start_ns, end_ns))

