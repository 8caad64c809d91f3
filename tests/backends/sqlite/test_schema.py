"""Opening data folders: a previous release's folder (schema 1) upgrades and every point
reads back, before and after its hours are rewritten; what Weir cannot read is refused
with a clear message and left untouched."""

from __future__ import annotations

import sqlite3
import time

import pytest
from click.testing import CliRunner

from tests.backends.sqlite.v1_folder import HOUR, write_v1
from weir.backends.sqlite import schema
from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.backends.sqlite.reader import SqliteMetricReader
from weir.errors import StorageError
from weir.metrics.series import make_series
from weir.metrics.timeutil import NS

H0 = (int(time.time()) // 3600 - 30) * 3600 * NS  # 30 hours ago, an hour boundary
SERIES = [make_series("cpu", {"host": f"h{i}"}, "gauge", None) for i in range(5)]


def old_folder(tmp_path):
    """Two flushes (the second overlapping the first, with a rewritten point) and a log row."""
    first = {s.id: {H0 + k * 10 * NS: float(i * 1000 + k) for k in range(6 * 360)} for i, s in enumerate(SERIES)}
    second = {SERIES[0].id: {H0 + 60 * NS: -1.0, H0 + 61 * NS: -2.0}}
    unflushed = [(SERIES[1].id, H0 + 5 * HOUR + 1 * NS, 42.0), (SERIES[1].id, H0 + 90 * NS, 43.0)]
    write_v1(tmp_path / "m.db", SERIES, [first, second], unflushed)
    truth = {sid: dict(points) for sid, points in first.items()}
    truth[SERIES[0].id].update(second[SERIES[0].id])
    truth[SERIES[1].id].update({t: v for _, t, v in unflushed})
    return {sid: (sorted(p), [p[t] for t in sorted(p)]) for sid, p in truth.items()}


def test_a_schema_1_folder_upgrades_and_every_point_reads_back(tmp_path):
    want = old_folder(tmp_path)
    store = SqliteMetricStore(tmp_path / "m.db", retention_seconds=30 * 86400, finalise_grace_seconds=0)
    try:
        assert store.upgraded_from == 1
        ids = [s.id for s in SERIES]
        assert store.read(ids, 0, H0 + 10 * HOUR) == want  # old arrays, not rewritten yet
        assert store.backlog() > 0
        done = []
        store.finalise(lambda d, t: done.append((d, t)))
        assert done[-1][0] == done[-1][1] and store.backlog() == 0
        assert store.read(ids, 0, H0 + 10 * HOUR) == want
        assert store.read_arrays(ids, H0, H0 + 10 * HOUR).to_lists() == want
    finally:
        store.close()
    db = sqlite3.connect(tmp_path / "m.db")
    assert db.execute("SELECT DISTINCT fmt FROM chunks").fetchall() == [(2,)]
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(schema.VERSION),)
    assert db.execute("SELECT count(*) FROM hourly").fetchone()[0] == len(SERIES)
    db.close()
    store = SqliteMetricStore(tmp_path / "m.db", retention_seconds=30 * 86400)  # again: nothing to do
    try:
        assert store.upgraded_from == schema.VERSION and store.read([s.id for s in SERIES], 0, H0 + 10 * HOUR) == want
    finally:
        store.close()


def test_the_read_only_reader_reads_a_schema_1_folder(tmp_path):
    want = old_folder(tmp_path)
    reader = SqliteMetricReader(tmp_path / "m.db")
    try:
        got = {s.id: (ts, vals) for s, ts, vals in reader.scan(0, H0 + 10 * HOUR)}
    finally:
        reader.close()
    assert got == want


def test_weir_migrate_rewrites_and_compacts_with_progress(tmp_path):
    from weir.cli import main

    want = old_folder(tmp_path / "data")
    (tmp_path / "data" / "m.db").rename(tmp_path / "data" / "metrics.db")
    before = (tmp_path / "data" / "metrics.db").stat().st_size
    result = CliRunner().invoke(main, ["migrate", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 0, result.output
    assert f"schema 1 → {schema.VERSION}" in result.output and "done:" in result.output
    assert (tmp_path / "data" / "metrics.db").stat().st_size < before
    store = SqliteMetricStore(tmp_path / "data" / "metrics.db", retention_seconds=30 * 86400)
    try:
        assert store.read([s.id for s in SERIES], 0, H0 + 10 * HOUR) == want
    finally:
        store.close()


def test_a_folder_weir_cannot_read_is_refused_untouched(tmp_path):
    garbage = b"this is not a database, but somebody's notes" * 100
    (tmp_path / "notes.db").write_bytes(garbage)
    with pytest.raises(StorageError, match="cannot be read as a Weir metrics database.*nothing was changed"):
        SqliteMetricStore(tmp_path / "notes.db", retention_seconds=86400)
    assert (tmp_path / "notes.db").read_bytes() == garbage
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE invoices (id INTEGER)")
    other.commit()
    other.close()
    with pytest.raises(StorageError, match="Weir did not write"):
        SqliteMetricStore(tmp_path / "other.db", retention_seconds=86400)
    assert sqlite3.connect(tmp_path / "other.db").execute("SELECT name FROM sqlite_master").fetchall() == [
        ("invoices",)]
    newer = sqlite3.connect(tmp_path / "newer.db")
    newer.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                        "INSERT INTO meta VALUES ('schema_version', '99');")
    newer.close()
    with pytest.raises(StorageError, match="newer Weir"):
        SqliteMetricStore(tmp_path / "newer.db", retention_seconds=86400)
    # the folder lock is released: the folder can be opened again once fixed
    (tmp_path / "notes.db").unlink()
    SqliteMetricStore(tmp_path / "notes.db", retention_seconds=86400).close()


@pytest.mark.parametrize("found", [2, 3])
def test_an_older_schema_moves_to_the_current_number_untouched_and_an_older_weir_would_refuse_it(tmp_path, found):
    """Schema 3 only says chunks may be bit-packed, 4 adds `hourly_first`: a schema 2 or 3
    folder keeps every row (its zlib chunks still read), gets the new number and table, and
    is not re-finalised; the number is what makes the Weir that knew only the older schema
    refuse it as newer instead of calling it damaged."""
    store = SqliteMetricStore(tmp_path / "m.db", retention_seconds=10**9)
    store.close()
    db = sqlite3.connect(tmp_path / "m.db")
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(found),))
    if found < 4:
        db.execute("DROP TABLE hourly_first")
    db.commit()
    db.close()
    store = SqliteMetricStore(tmp_path / "m.db", retention_seconds=10**9)
    try:
        assert store.upgraded_from == found and store.backlog() == 0
    finally:
        store.close()
    db = sqlite3.connect(tmp_path / "m.db")
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(schema.VERSION),)
    assert db.execute("SELECT count(*) FROM hourly_first").fetchone() == (0,)
    db.close()
    old = sqlite3.connect(tmp_path / "m.db")
    try:
        with pytest.raises(StorageError, match="newer Weir"):
            saved = schema.VERSION
            schema.VERSION = found  # the release that wrote it
            try:
                schema.migrate(old, tmp_path / "m.db")
            finally:
                schema.VERSION = saved
    finally:
        old.close()
