"""Checking the files of a data folder: at start-up (bounded) and for `weir doctor` (everything).

Every store is a SQLite file. Each is checked for what SQLite can tell (`PRAGMA
quick_check`: pages, b-trees, indexes) and, for `metrics.db`, for what only Weir can tell:
every write-ahead log row's checksum (what recovery replays), and in a full check every
series row (its id is its key's hash) and every chunk (`chunk_problem`). A damaged file
found at start-up stops the server before it binds its port, with a message naming the
file and the way out, instead of a `/health` that says ok over stores that cannot serve.

The start-up check is bounded (about 1.5 s at most on this project's 2-core test machine):
the log is bounded by the head's flush limits; `quick_check`, whose cost follows the file's
size (about 3 s per GB), runs on files up to `QUICK_CHECK_MAX_BYTES`, and beyond that only
the schema and the right edge of every table are read; chunk sizes are compared with their
counts for the newest `STARTUP_CHUNKS` chunks, and the newest `STARTUP_DECODED` are decoded
whole; series rows are checked in SQL (valid JSON objects). `weir doctor` checks everything.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from weir.errors import DamagedDataError

from . import logrow
from .chunk_check import chunk_problem, size_mismatch_sql
from .damage import series_problem
from .sqltext import fill, ident

QUICK_CHECK_MAX_BYTES = 256 << 20
STARTUP_CHUNKS = 200_000  # the newest chunks whose sizes the start-up check compares with their counts
STARTUP_DECODED = 2_000  # the newest chunks the start-up check decodes whole (compressed sizes say little)
HEADER = b"SQLite format 3\x00"
# The stores of a data folder, by file name (see weir.config.Settings).
STORES = ("metrics.db", "keys.db", "alerts.db", "pushgroups.db", "files.db")
# What a damage report lists at most per file (the count of the rest is given).
MAX_LISTED = 20


@dataclass(frozen=True)
class Finding:
    file: str  # its name in the data folder
    where: str  # "file", "log row 12", "chunk 7", …
    problem: str


def check_folder(data_dir: Path, *, full: bool = False) -> list[Finding]:
    """What is damaged in the folder's stores; [] when nothing is. Never writes."""
    findings: list[Finding] = []
    for name in STORES:
        path = data_dir / name
        if path.exists():
            findings += check_file(path, full=full)
    return findings


def startup_check(data_dir: Path) -> None:
    """Raise DamagedDataError naming the damaged files and the commands when any is found."""
    findings = check_folder(data_dir)
    if findings:
        raise damage_error(data_dir, findings)


def damage_error(data_dir: Path, findings: list[Finding]) -> DamagedDataError:
    listed = "; ".join(f"{f.file}: {f.where}: {f.problem}" for f in findings[:5])
    more = f" (and {len(findings) - 5} more)" if len(findings) > 5 else ""
    files = sorted({str(data_dir / f.file) for f in findings})
    return DamagedDataError(
        f"damaged data in {', '.join(files)}: {listed}{more}. Nothing was changed. Run `weir doctor --data-dir "
        f"{data_dir}` to see everything that is damaged, then, with the server stopped, `weir repair --data-dir "
        f"{data_dir}` to salvage what can be into fresh files (the damaged ones are kept aside)"
    )


def check_file(path: Path, *, full: bool = False) -> list[Finding]:
    name = path.name
    size = path.stat().st_size
    if size:
        with open(path, "rb") as f:
            if f.read(len(HEADER)) != HEADER:
                return [Finding(name, "file", "not a SQLite database (its header is wrong)")]
    try:
        conn = open_readonly(path)
    except sqlite3.Error as exc:
        return [Finding(name, "file", f"cannot be opened: {exc}")]
    try:
        out = _sqlite_level(conn, name, whole=full or size <= QUICK_CHECK_MAX_BYTES)
        if out and any(f.where == "file" for f in out):
            return out
        tables = {t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if name == "metrics.db" and {"log", "series", "chunks"} <= tables:  # else the store creates them
            out += _metrics_content(conn, name, full=full)
        elif name == "keys.db" and "api_keys" in tables:
            out += _keys_content(conn, name)
        return out
    finally:
        conn.close()


def open_readonly(path: Path) -> sqlite3.Connection:
    """A connection that never writes the file (no checkpoint at close either)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False,
                           timeout=30)
    conn.execute("PRAGMA query_only=1")
    return conn


def _sqlite_level(conn: sqlite3.Connection, name: str, *, whole: bool) -> list[Finding]:
    try:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    except sqlite3.DatabaseError as exc:
        return [Finding(name, "file", f"its schema cannot be read: {exc}")]
    try:
        if whole:
            rows = [r for (r,) in conn.execute("PRAGMA quick_check")]
            if rows != ["ok"]:
                return [Finding(name, "file", f"SQLite's check fails: {r}") for r in rows[:MAX_LISTED]]
        else:
            for table in tables:  # the right edge of every b-tree: a cut-short file fails here
                conn.execute(fill("SELECT max({key}) FROM {table}", key=_key(conn, table),
                                  table=ident(table))).fetchone()
    except sqlite3.DatabaseError as exc:
        return [Finding(name, "file", f"SQLite cannot read it: {exc}")]
    return []


def _key(conn: sqlite3.Connection, table: str) -> str:
    """What orders the table's b-tree: `rowid`, or a WITHOUT ROWID table's first key column
    (such a table has no rowid: `max(rowid)` failed on it, and every folder over the
    quick_check size was refused as damaged)."""
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()[0]
    if "WITHOUT ROWID" not in (sql or "").upper():
        return "rowid"
    first = [row[1] for row in conn.execute(fill("PRAGMA table_info({table})", table=ident(table))) if row[5] == 1]
    return ident(first[0])


def _metrics_content(conn: sqlite3.Connection, name: str, *, full: bool) -> list[Finding]:
    out: list[Finding] = []
    fmt = "fmt" if "fmt" in {c[1] for c in conn.execute("PRAGMA table_info(chunks)")} else "1"
    try:
        for log_id, blob in conn.execute("SELECT id, data FROM log ORDER BY id"):
            try:
                logrow.unpack(blob)
            except logrow.LogRowError as exc:
                out.append(Finding(name, f"write-ahead log row {log_id}", str(exc)))
        if full:
            out += _limited(name, "series row", _bad_series(conn))
            out += _limited(name, "chunk", _bad_chunks(conn, fmt))
        else:
            for (chunk_id,) in conn.execute(size_mismatch_sql(fmt), (STARTUP_CHUNKS, MAX_LISTED)):
                out.append(Finding(name, f"chunk {chunk_id}", "its size disagrees with its count of points"))
            out += _limited(name, "chunk", _bad_chunks(conn, fmt, newest=STARTUP_DECODED))
            for (sid,) in conn.execute(_SERIES_SQL, (MAX_LISTED,)):
                out.append(Finding(name, f"series row {sid}", "its name, dimensions or type is not what Weir wrote"))
    except sqlite3.DatabaseError as exc:
        out.append(Finding(name, "file", f"SQLite cannot read it: {exc}"))
    return out


# Series rows that cannot be what Weir wrote, found in SQL (JSON1, in C: about 0.5 s per
# million rows) without decoding each in Python; `weir doctor` checks each row fully.
_SERIES_SQL = (
    "SELECT id FROM series WHERE typeof(name) != 'text' OR name = '' OR typeof(type) != 'text' "
    "OR typeof(dimensions) != 'text' OR NOT json_valid(dimensions) OR json_type(dimensions) != 'object' LIMIT ?"
)


def _limited(name: str, what: str, bad: Iterator[tuple[int, str]]) -> list[Finding]:
    out: list[Finding] = []
    more = 0
    for key, problem in bad:
        if len(out) < MAX_LISTED:
            out.append(Finding(name, f"{what} {key}", problem))
        else:
            more += 1
    if more:
        out.append(Finding(name, f"{more} more {what}s", "damaged as well"))
    return out


def _bad_series(conn: sqlite3.Connection) -> Iterator[tuple[int, str]]:
    for row in conn.execute("SELECT id, name, dimensions, type, unit FROM series"):
        problem = series_problem(row)
        if problem is not None:
            yield row[0], problem


def _bad_chunks(conn: sqlite3.Connection, fmt: str, newest: int | None = None) -> Iterator[tuple[int, str]]:
    sql = fill("SELECT id, n, t_min, t_max, {fmt}, ts, vals FROM chunks", fmt=fmt)  # fmt is 'fmt' or '1'
    rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", (newest,)) if newest is not None else conn.execute(sql)
    for chunk_id, n, t_min, t_max, f, ts, vals in rows:
        problem = chunk_problem(n, t_min, t_max, f, ts, vals)
        if problem is not None:
            yield chunk_id, problem


def _keys_content(conn: sqlite3.Connection, name: str) -> list[Finding]:
    out = []
    try:
        for rowid, key_name, created, digest in conn.execute("SELECT rowid, name, created, digest FROM api_keys"):
            if not all(isinstance(v, str) and v for v in (key_name, created, digest)):
                out.append(Finding(name, f"key row {rowid}", "its name, date or digest is not text"))
    except sqlite3.DatabaseError as exc:
        out.append(Finding(name, "file", f"its keys cannot be read: {exc}"))
    return out
