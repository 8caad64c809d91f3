"""What `weir repair` keeps of each store's rows: the checks Weir itself applies when it reads.

- `metrics.db`: the labels index is left out and rebuilt from the kept series at the next
  start; a series row is kept when it is sound, or rebuilt from its canonical key
  when only its dimensions are damaged (the id, the key's hash, proves the key); a chunk is
  kept when `chunk_problem` finds nothing and its series was kept; a log row when its
  checksum holds, without the points of series that were lost. Every kept log row is
  written again with a checksum.
- `keys.db`: a key is kept when its name, date and digest are text. When none is kept the
  report says loudly that the server asks for no key until keys are added again.
- the other stores: every row SQLite can read.
"""

from __future__ import annotations

from weir.metrics.ports import PointBatch
from weir.metrics.series import canonical_key, series_id

from . import logrow
from .chunk_check import chunk_problem
from .damage import series_problem
from .salvage import FileRepair, Rule


def rules_for(name: str) -> dict[str, Rule]:
    if name == "metrics.db":
        return _metrics_rules()
    if name == "keys.db":
        return {"api_keys": _key}
    return {}


def _metrics_rules() -> dict[str, Rule]:
    kept: set[int] = set()
    lost_points = {"chunks": 0, "log": 0}

    def series(row: dict, report: FileRepair) -> dict | None:
        problem = series_problem((row["id"], row["name"], row["dimensions"], row["type"], row["unit"]))
        if problem is None:
            kept.add(row["id"])
            return row
        rebuilt = _from_key(row["key"])
        if rebuilt is not None and series_id(canonical_key(*rebuilt)) == row["id"]:
            import msgspec

            kept.add(row["id"])
            report.notes.append(f"series {rebuilt[0]} (row {row['id']}): {problem}; rebuilt from its key")
            return {**row, "name": rebuilt[0], "dimensions": msgspec.json.encode(rebuilt[1]).decode(),
                    "type": row["type"] if isinstance(row["type"], str) else "gauge",
                    "unit": row["unit"] if isinstance(row["unit"], (str, type(None))) else None}
        report.lost.append(f"series row {row['id']}: {problem}; its points cannot be named and are not kept")
        return None

    def chunks(row: dict, report: FileRepair) -> dict | None:
        problem = chunk_problem(row["n"], row["t_min"], row["t_max"], row.get("fmt", 1), row["ts"], row["vals"])
        if problem is not None:
            report.lost.append(f"chunk {row['id']} ({row['n']} points by its count): {problem}")
            return None
        if row["series_id"] not in kept:
            lost_points["chunks"] += row["n"]
            _say_unnamed(report, lost_points)
            return None
        return row

    def log(row: dict, report: FileRepair) -> dict | None:
        try:
            sids, tss, vals = logrow.unpack(row["data"])
        except logrow.LogRowError as exc:
            report.lost.append(f"write-ahead log row {row['id']} (about {logrow.estimated_points(row['data'])} "
                               f"points): {exc}")
            return None
        keep = [i for i, sid in enumerate(sids) if sid in kept]
        if len(keep) < len(sids):
            lost_points["log"] += len(sids) - len(keep)
            _say_unnamed(report, lost_points)
        if not keep:
            return None
        batch = PointBatch([sids[i] for i in keep], [tss[i] for i in keep], [vals[i] for i in keep])
        return {**row, "data": logrow.pack(batch)}

    def meta(row: dict, report: FileRepair) -> dict | None:
        return None if row["key"] == "labels_index" else row  # the labels are rebuilt from the series kept

    return {"meta": meta, "series": series, "chunks": chunks, "log": log, "labels": lambda row, report: None}


def _say_unnamed(report: FileRepair, lost_points: dict[str, int]) -> None:
    """One line, kept current, for the points of series whose row was lost."""
    line = (f"{lost_points['chunks']} points in chunks and {lost_points['log']} in the write-ahead log belong to "
            "series whose row was lost")
    report.lost[:] = [x for x in report.lost if not x.endswith("belong to series whose row was lost")] + [line]


def _key(row: dict, report: FileRepair) -> dict | None:
    if all(isinstance(row[c], str) and row[c] for c in ("name", "created", "digest")):
        return row
    report.lost.append(f"API key row {row.get('name')!r}: its name, date or digest is not text")
    return None


def _from_key(key: object) -> tuple[str, dict[str, str]] | None:
    """(name, dimensions) from a canonical key `name{k="v",...}` (weir.metrics.series), or None."""
    if not isinstance(key, str) or not key:
        return None
    if "{" not in key:
        return key, {}
    name, _, rest = key.partition("{")
    dims: dict[str, str] = {}
    i = 0
    while True:
        eq = rest.find('="', i)
        if eq < 0:
            return None
        k, i, value = rest[i:eq], eq + 2, []
        while i < len(rest) and rest[i] != '"':
            if rest[i] == "\\" and i + 1 < len(rest):
                value.append({"n": "\n"}.get(rest[i + 1], rest[i + 1]))
                i += 2
            else:
                value.append(rest[i])
                i += 1
        if i >= len(rest):
            return None
        dims[k] = "".join(value)
        i += 1
        if rest[i:] == "}":
            return name, dims
        if rest[i:i + 1] != ",":
            return None
        i += 1
