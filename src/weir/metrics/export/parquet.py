"""Parquet parts, for Athena and DuckDB to read without parsing JSON (`pip install weir[parquet]`).

The same columns as the JSON lines (see `export.COLUMNS`): `timestamp` is a real
`timestamp[ns, UTC]` and `dimensions` a `map<string, string>`. Snappy compression: every
Parquet reader understands it, and it is fast to write. pyarrow is imported here only, so
the core install and the Lambda bundle do not carry it.
"""

from __future__ import annotations

import io

from weir.errors import InvalidInputError
from weir.metrics.series import Series

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise InvalidInputError(
        "Parquet export needs pyarrow: install it with `pip install 'weir[parquet]'`, or export JSON lines "
        "(--format jsonl)"
    ) from exc

SCHEMA = pa.schema(
    [
        ("series", pa.string()),
        ("name", pa.string()),
        ("dimensions", pa.map_(pa.string(), pa.string())),
        ("type", pa.string()),
        ("unit", pa.string()),
        ("timestamp", pa.timestamp("ns", tz="UTC")),
        ("timestamp_ns", pa.int64()),
        ("value", pa.float64()),
    ]
)


class ParquetPartBuilder:
    def __init__(self, hour_ns: int) -> None:
        self.rows = 0
        self._series: list[tuple[Series, int]] = []
        self._ts: list[int] = []
        self._vals: list[float] = []

    def add(self, series: Series, ts: list[int], vals: list[float]) -> None:
        self._series.append((series, len(ts)))
        self._ts.extend(ts)
        self._vals.extend(vals)
        self.rows += len(ts)

    def finish(self) -> bytes:
        # Per-series columns are built once per series and repeated, not per row.
        run_index = pa.array([i for i, (_, n) in enumerate(self._series) for _ in range(n)], pa.int32())

        def repeat(values, type_):
            return pa.array(values, type_).take(run_index)

        series = [s for s, _ in self._series]
        ts = pa.array(self._ts, pa.int64())
        table = pa.Table.from_arrays(
            [
                repeat([s.key for s in series], pa.string()),
                repeat([s.name for s in series], pa.string()),
                repeat([list(s.dimensions.items()) for s in series], SCHEMA.field("dimensions").type),
                repeat([s.type for s in series], pa.string()),
                repeat([s.unit for s in series], pa.string()),
                ts.cast(pa.timestamp("ns", tz="UTC")),
                ts,
                pa.array(self._vals, pa.float64()),
            ],
            schema=SCHEMA,
        )
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="snappy")
        return buf.getvalue()
