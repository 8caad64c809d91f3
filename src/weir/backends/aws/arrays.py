"""The DynamoDB store's answers to the one read path, as arrays (numpy, imported only by
the query path): raw points, minute and hourly rollup records, and hourly sketches."""

from __future__ import annotations

from typing import TYPE_CHECKING

from weir.metrics.records import HOUR_RECORD
from weir.metrics.sketch import Sketch

from .hourly import read_hourly

if TYPE_CHECKING:
    from weir.metrics.arrays import RollupBlock, SeriesArrays
    from weir.metrics.ports import RollupRead

    from .rollups import RollupSource


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
