"""Write transactions whose failure reports the error that caused it.

When a write fails with SQLITE_FULL or SQLITE_IOERR (a full disk, a failing device),
SQLite may roll the whole transaction back by itself. A bare `ROLLBACK` after that fails
with "cannot rollback - no transaction is active", and raised from an `except` block that
error replaced the one that mattered ("database or disk is full"). Here the rollback is
done only when a transaction is still open, and its own failure is logged, never raised
over the original.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


def rollback(conn: sqlite3.Connection) -> None:
    """Undo the open transaction, if SQLite has not already done so. Never raises."""
    if not conn.in_transaction:
        return
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error as exc:  # the caller is already raising the error that matters
        log.warning("rolling back after a failed write also failed: %s", exc)


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE` … `COMMIT`; on any error (a failed COMMIT included) roll back and
    re-raise the error itself."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        rollback(conn)
        raise


@contextmanager
def derived(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Commits of data derived from what is already durable, made without an fsync each.

    For the writer's background steps whose every input is already on disk (finalising an
    hour rewrites its chunks and rollups from chunks committed earlier): `synchronous=NORMAL`
    in WAL mode still keeps each transaction atomic and survives a killed process whole; only
    a power cut may roll the last ones back, and the WAL's chained frame checksums make that
    a clean cut, never a later commit without an earlier one. A rolled-back step leaves its
    `pending` rows, so it is simply done again. The next ingest commit (`FULL`) fsyncs the
    WAL up to itself, these frames included. Acknowledged points are never committed here.
    """
    conn.execute("PRAGMA synchronous=NORMAL")
    try:
        yield conn
    finally:
        conn.execute("PRAGMA synchronous=FULL")
