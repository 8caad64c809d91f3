"""`weir repair`'s table walk: damaged pages cost the rows on them, not the rest of the table."""

from __future__ import annotations

import sqlite3

from weir.backends.sqlite.salvage import repair_file
from weir.backends.sqlite.salvage_rules import _from_key
from weir.metrics.series import canonical_key

ROWS = 20_000


def make_db(path) -> int:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA page_size = 4096")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", ((i * 3, f"row {i:06d} " + "x" * 80) for i in range(ROWS)))
    conn.commit()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    return pages


def smash(path, page: int, count: int = 1) -> None:
    """Overwrite whole pages (1-based) with garbage: what a bad sector leaves."""
    with open(path, "r+b") as f:
        f.seek((page - 1) * 4096)
        f.write(b"\xa5" * 4096 * count)


def test_rows_around_damaged_pages_are_kept(tmp_path):
    path = tmp_path / "t.db"
    pages = make_db(path)
    smash(path, pages // 3, 2)
    smash(path, 2 * pages // 3)
    aside = tmp_path / "aside"
    aside.mkdir()
    report = repair_file(path, aside, {})
    conn = sqlite3.connect(path)
    kept = [i for (i,) in conn.execute("SELECT id FROM t ORDER BY id")]
    conn.close()
    assert report.kept["t"] == len(kept)
    lost = ROWS - len(kept)
    # three leaf pages hold ~40 rows each; an interior page could cost more, never most of the table
    assert 0 < lost < ROWS // 10, lost
    assert kept[0] == 0 and kept[-1] == (ROWS - 1) * 3  # both ends survive
    assert any("unreadable" in line for line in report.lost), report.lost
    assert (aside / "t.db").exists()  # the damaged file itself, untouched
    assert report.remaining == []


def test_a_file_that_is_no_database_is_replaced_by_an_empty_one(tmp_path):
    path = tmp_path / "keys.db"
    path.write_bytes(b"garbage" * 1000)
    aside = tmp_path / "aside"
    aside.mkdir()
    report = repair_file(path, aside, {})
    assert report.kept == {} and report.lost and "everything" in report.lost[0]
    assert (aside / "keys.db").read_bytes() == b"garbage" * 1000
    sqlite3.connect(path).execute("SELECT count(*) FROM sqlite_master").fetchone()


def test_keys_rebuild_dimensions():
    for name, dims in [("cpu", {}), ("cpu", {"host": "a", "path": 'C:\\x "q"\nz', "e": ""}),
                       ("m", {"k": "a,b=\"c\"}"})]:
        assert _from_key(canonical_key(name, dims)) == (name, dims)
    assert _from_key('cpu{host="a"') is None
    assert _from_key(None) is None
