"""`weir repair`: copy what can be read from a damaged store into a fresh file.

For each damaged file of the data folder (see `integrity`), with the folder locked so no
server runs meanwhile:

1. the damaged file (and its `-wal`, `-shm`) moves, untouched, to `<data-dir>/damaged-<time>/`;
2. a scratch copy of it is read table by table, in rowid order. A read that fails on a
   damaged page is retried row by row, and the next readable row is found by galloping and
   bisecting over rowids, so one damaged page costs the rows on it, not the rest of the table;
3. what is read is checked as Weir reads it (`salvage_rules`: log checksums, series rows,
   chunks) and copied into a fresh file with the same schema, which then takes the old
   file's place;
4. the report says, per table, how many rows were kept and what could not be saved.

A file whose schema cannot be read at all is replaced by an empty one (its store creates its
tables at the next start), and the report says everything in it was lost.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .folder_lock import exclusive
from .integrity import check_file, check_folder
from .sqltext import Ident, fill, ident, idents

MIN_ROWID, MAX_ROWID = -(2**63), 2**63 - 1
BATCH = 256


@dataclass
class FileRepair:
    file: str
    aside: Path  # where the damaged file now is
    kept: dict[str, int] = field(default_factory=dict)  # table → rows copied
    notes: list[str] = field(default_factory=list)  # what was kept in another form (rebuilt rows)
    lost: list[str] = field(default_factory=list)  # what could not be saved, for a person
    remaining: list[str] = field(default_factory=list)  # what the check still finds afterwards


# A rule sees each row read from one table, as {column: value}, and returns the row to keep
# (maybe rebuilt) or None to drop it; it says what it dropped or rebuilt in the report.
Rule = Callable[[dict, "FileRepair"], "dict | None"]


def repair_folder(data_dir: Path, rules_for: Callable[[str], dict[str, Rule]], *,
                  now: datetime | None = None) -> list[FileRepair]:
    """Repair every damaged store of the folder (`rules_for(file name)`: what to keep of its
    rows, see `salvage_rules`); [] when none is damaged."""
    if not (data_dir / "metrics.db").exists() and not any(data_dir.glob("*.db")):
        raise FileNotFoundError(f"no Weir data in {data_dir}")
    if not check_folder(data_dir, full=True):
        return []  # nothing to do, whether a server runs or not
    lock = exclusive(data_dir / "metrics.lock")
    try:
        damaged = sorted({f.file for f in check_folder(data_dir, full=True)})  # again, now alone with it
        if not damaged:
            return []
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
        aside_dir = data_dir / f"damaged-{stamp}"
        aside_dir.mkdir()
        return [repair_file(data_dir / name, aside_dir, rules_for(name)) for name in damaged]
    finally:
        lock.close()


def repair_file(path: Path, aside_dir: Path, rules: dict[str, Rule]) -> FileRepair:
    report = FileRepair(path.name, aside_dir / path.name)
    for suffix in ("", "-wal", "-shm"):
        part = Path(f"{path}{suffix}")
        if part.exists():
            os.replace(part, aside_dir / part.name)
    fresh = path.with_name(path.name + ".repairing")
    fresh.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(dir=aside_dir) as scratch:
        for suffix in ("", "-wal"):
            part = aside_dir / f"{path.name}{suffix}"
            if part.exists():
                shutil.copyfile(part, Path(scratch) / part.name)
        src = _open(Path(scratch) / path.name)
        dst = sqlite3.connect(fresh, isolation_level=None)
        try:
            if src is None:
                report.lost.append("everything: the file cannot be opened as a database")
            else:
                _copy(src, dst, rules, report)
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
            if src is not None:
                src.close()
    _fsync(fresh)
    os.replace(fresh, path)
    _fsync(path.parent)
    report.remaining = [f"{f.where}: {f.problem}" for f in check_file(path, full=True)]
    return report


def _open(path: Path) -> sqlite3.Connection | None:
    try:
        conn = sqlite3.connect(path, isolation_level=None)
        # A file cut short still says its old size in its header, and SQLite refuses it
        # whole; with writable_schema it reads what is there (this is a scratch copy).
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.DatabaseError:
        return None


def _copy(src: sqlite3.Connection, dst: sqlite3.Connection, rules: dict[str, Rule], report: FileRepair) -> None:
    try:
        schema = src.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                             "AND name NOT LIKE 'sqlite_%' ORDER BY type = 'index', rowid").fetchall()
    except sqlite3.DatabaseError as exc:
        report.lost.append(f"everything: its schema cannot be read ({exc})")
        return
    dst.execute("BEGIN")
    for _kind, _name, sql in schema:
        dst.execute(sql)
    dst.execute("COMMIT")
    tables = [name for kind, name, _ in schema if kind == "table"]
    # The rules' order matters (series before the chunks and log rows that name them).
    for table in sorted(tables, key=lambda t: list(rules).index(t) if t in rules else len(rules)):
        _copy_table(src, dst, table, rules.get(table), report)


def _copy_table(src: sqlite3.Connection, dst: sqlite3.Connection, table: str, rule: Rule | None,
                report: FileRepair) -> None:
    try:
        info = src.execute(fill("PRAGMA table_info({table})", table=ident(table))).fetchall()
        without_rowid = "WITHOUT ROWID" in (src.execute(
            "SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0] or "").upper()
    except sqlite3.DatabaseError as exc:
        report.lost.append(f"table {table}: cannot be read ({exc})")
        return
    cols = idents(c[1] for c in info)
    marks = ", ".join("?" * (len(info) + (0 if without_rowid else 1)))
    insert = fill("INSERT OR IGNORE INTO {table} ({rowid}{cols}) VALUES ({marks})", table=ident(table),
                  rowid="" if without_rowid else "rowid, ", cols=cols, marks=marks)
    gaps: list[tuple[int, int | None]] = []
    rows = _scan(src, table, cols, report) if without_rowid else _walk(src, table, cols, gaps)
    kept = 0
    dst.execute("BEGIN")
    names = [c[1] for c in info]
    for row in rows:
        if rule is not None:
            body = rule(dict(zip(names, row if without_rowid else row[1:])), report)
            if body is None:
                continue
            values = tuple(body[n] for n in names)
            row = values if without_rowid else (row[0], *values)
        dst.execute(insert, row)
        kept += 1
    dst.execute("COMMIT")
    report.kept[table] = kept
    for lo, hi in gaps:
        upto = f"before rowid {hi}" if hi is not None else "to the end of the table"
        report.lost.append(f"table {table}: the rows from rowid {lo} {upto} are unreadable (damaged pages)")


def _scan(src: sqlite3.Connection, table: str, cols: Ident, report: FileRepair) -> Iterator[tuple]:
    """A table without rowids: read in order until the first damaged page."""
    cur = src.execute(fill("SELECT {cols} FROM {table}", cols=cols, table=ident(table)))
    count = 0
    while True:
        try:
            row = cur.fetchone()
        except sqlite3.DatabaseError as exc:
            report.lost.append(f"table {table}: the rows after the first {count} are unreadable ({exc})")
            return
        if row is None:
            return
        count += 1
        yield row


def _walk(src: sqlite3.Connection, table: str, cols: Ident, gaps: list[tuple[int, int | None]]) -> Iterator[tuple]:
    """(rowid, *columns) of every readable row, in rowid order; unreadable ranges go to `gaps`."""
    sql = fill("SELECT rowid, {cols} FROM {table} WHERE rowid >= ? ORDER BY rowid LIMIT ?",
               cols=cols, table=ident(table))
    lo, batch = MIN_ROWID, BATCH
    while True:
        try:
            rows = src.execute(sql, (lo, batch)).fetchall()
        except sqlite3.DatabaseError:
            if batch > 1:
                batch = 1  # read up to the damaged row one at a time
                continue
            nxt = _next_readable(src, table, lo)
            gaps.append((lo, nxt))
            if nxt is None:
                return
            lo = nxt
            continue
        if not rows:
            return
        yield from rows
        if rows[-1][0] >= MAX_ROWID:
            return
        lo, batch = rows[-1][0] + 1, min(BATCH, batch * 2)


def _next_readable(src: sqlite3.Connection, table: str, bad: int) -> int | None:
    """The smallest rowid above `bad` from which the table reads again, or None.

    Gallops up from `bad` (1, 2, 4, … rowids on) until a probe succeeds, then bisects between
    the last failing and the first succeeding probe: O(log n) probes for any damaged range.
    """
    def probe(at: int) -> tuple[bool, int | None]:
        try:
            row = src.execute(fill("SELECT rowid FROM {table} WHERE rowid >= ? ORDER BY rowid LIMIT 1",
                                   table=ident(table)), (at,)).fetchone()
        except sqlite3.DatabaseError:
            return False, None
        return True, (row[0] if row else None)

    failing, step = bad, 1
    while True:
        at = min(MAX_ROWID, bad + step)
        ok, found = probe(at)
        if ok:
            break
        failing = at
        if at == MAX_ROWID:
            return None
        step *= 2
    succeeding = at
    while succeeding - failing > 1:
        mid = (failing + succeeding) // 2
        ok, row = probe(mid)
        if ok:
            succeeding, found = mid, row
        else:
            failing = mid
    return found


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
