"""Reading a data folder from another process, while `weir serve` may be writing it.

`weir export` uses this instead of opening a `SqliteMetricStore`: a second store would
start a second writer thread, replay the log into its own head and flush it on exit,
racing the server's writer. This reader never writes. In WAL mode a reader in another
process is safe and sees a consistent snapshot: chunks, the `log` rows the server has
not flushed yet (its in-memory head, as written to disk before each acknowledgement) and
the series they name are all read inside one read transaction.

The log is read whole: it holds only what the server has not flushed (bounded by the
head's size and age limits), not the history, so the cost still follows the window.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import msgspec

from weir.errors import NotFoundError, StorageError, damaged
from weir.metrics.points import sorted_unique
from weir.metrics.series import Series

from . import schema
from .chunks import SCAN_SQL, scan_result, unpack_batch
from .logrow import LogRowError


class SqliteMetricReader:
    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        if not Path(path).is_file():
            raise NotFoundError(f"no metrics database at {path}; is --data-dir the folder `weir serve` uses?")
        self.path = path
        try:
            self._conn = schema.connect(str(path), readonly=True)
            version = schema.schema_version(self._conn)
        except sqlite3.Error as exc:
            raise StorageError(f"could not open {path}: {exc}") from exc
        if version > schema.VERSION:
            raise StorageError(f"{path} was written by a newer Weir (schema {version}); upgrade this one")
        # a folder not yet opened by this version's server: its chunks are all arrays
        self._scan_sql = SCAN_SQL if version >= 2 else SCAN_SQL.replace("fmt,", f"{schema.FMT_ARRAYS} AS fmt,")

    def scan(self, start_ns: int, end_ns: int) -> Iterator[tuple[Series, list[int], list[float]]]:
        conn = self._conn
        try:
            conn.execute("BEGIN")  # one snapshot for chunks, log and series
            try:
                rows = conn.execute(self._scan_sql, schema.window_bounds(start_ns, end_ns)).fetchall()
                head: dict[int, tuple[list[int], list[float]]] = {}
                for log_id, blob in conn.execute("SELECT id, data FROM log ORDER BY id"):
                    try:
                        points = unpack_batch(blob)
                    except LogRowError as exc:
                        raise damaged(self.path, f"write-ahead log row {log_id}: {exc}") from None
                    for sid, t, v in zip(*points):
                        if start_ns <= t < end_ns:
                            entry = head.get(sid)
                            if entry is None:
                                head[sid] = ([t], [v])
                            else:
                                entry[0].append(t)
                                entry[1].append(v)
                series = self._series({r[0] for r in rows} | head.keys())
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StorageError(f"could not read the metrics database: {exc}") from exc
        ordered = {sid: sorted_unique(*part) for sid, part in head.items()}
        return scan_result(rows, ordered, series.get, start_ns, end_ns)

    def _series(self, ids: set[int]) -> dict[int, Series]:
        # The ids go in as one JSON array parameter (json_each), so the SQL text is constant.
        out = {}
        ids_list = sorted(ids)
        for i in range(0, len(ids_list), 5000):
            batch = msgspec.json.encode(ids_list[i : i + 5000]).decode()
            for sid, name, dims, type_, unit in self._conn.execute(
                "SELECT id, name, dimensions, type, unit FROM series WHERE id IN (SELECT value FROM json_each(?))",
                (batch,),
            ):
                out[sid] = Series(sid, name, msgspec.json.decode(dims), type_, unit)
        return out

    def close(self) -> None:
        self._conn.close()
