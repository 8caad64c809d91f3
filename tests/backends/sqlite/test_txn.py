"""Write transactions (backends/sqlite/txn.py): `derived` relaxes the fsync for its block only."""

from __future__ import annotations

import pytest

from weir.backends.sqlite import schema, txn

FULL, NORMAL = 2, 1


def synchronous(conn) -> int:
    return conn.execute("PRAGMA synchronous").fetchone()[0]


def test_derived_commits_without_fsync_inside_and_every_other_commit_stays_full(tmp_path):
    conn = schema.connect(str(tmp_path / "m.db"))
    try:
        assert synchronous(conn) == FULL
        with txn.derived(conn):
            assert synchronous(conn) == NORMAL
            with txn.immediate(conn):
                conn.execute("CREATE TABLE t (x)")
        assert synchronous(conn) == FULL
        with pytest.raises(RuntimeError), txn.derived(conn):
            raise RuntimeError("a failed background step")
        assert synchronous(conn) == FULL  # an acknowledged write after it is fsynced again
    finally:
        conn.close()
