"""The file catalog on SQLite (`files.db` in the data folder).

One row per (bucket, key) holding the record as JSON, with the ordering key (`seq`, the
padded sequencer) beside it so that "store only if newer" is one upsert whose `WHERE`
compares strings, the same rule the DynamoDB adapter states as a condition expression.

The catalog is derived state: everything in it can be rebuilt from the folder
(`weir files reindex`). So commits use `synchronous=NORMAL` (WAL): a crash of the process
loses nothing committed; a power cut may lose the last commits, which the startup
reconcile puts back.

Keys sort by their UTF-8 bytes (SQLite's BINARY collation on UTF-8 text), as DynamoDB
sorts string sort keys, so both backends list in the same order.
"""

from __future__ import annotations

import builtins
import sqlite3
import threading
from pathlib import Path

import msgspec

from weir.errors import StorageError
from weir.files.record import FileRecord

from . import txn

DDL = """
CREATE TABLE IF NOT EXISTS files (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    seq TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    expires_at INTEGER,
    record BLOB NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
"""

_UPSERT = """
INSERT INTO files (bucket, key, seq, deleted, expires_at, record) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (bucket, key) DO UPDATE SET
    seq = excluded.seq, deleted = excluded.deleted, expires_at = excluded.expires_at,
    record = excluded.record
WHERE excluded.seq > files.seq
"""

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(FileRecord).decode


class SqliteFileCatalog:
    backend = "sqlite"

    def __init__(self, path: Path | str) -> None:
        try:
            self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(DDL)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the file catalog {path}: {exc}") from None
        # One connection shared by the watcher thread and request handlers; SQLite
        # serialises writers anyway, and a lock keeps transactions from interleaving.
        self._lock = threading.Lock()

    def put(self, record: FileRecord) -> bool:
        return self.put_many([record])[0]

    def put_many(self, records: list[FileRecord]) -> list[bool]:
        out: list[bool] = []
        with self._lock:
            try:
                with txn.immediate(self._conn) as conn:
                    for r in records:
                        cur = conn.execute(
                            _UPSERT, (r.bucket, r.key, r.order, int(r.deleted), r.expires_at, _encode(r))
                        )
                        out.append(cur.rowcount == 1)
            except sqlite3.Error as exc:
                raise StorageError(f"the file catalog could not store {len(records)} record(s): {exc}") from None
        return out

    def get(self, bucket: str, key: str) -> FileRecord | None:
        row = self._query("SELECT record FROM files WHERE bucket = ? AND key = ?", (bucket, key))
        return _decode(row[0][0]) if row else None

    def list(
        self, bucket: str, prefix: str, *, after: str | None, limit: int, include_deleted: bool, now_s: int
    ) -> tuple[list[FileRecord], str | None]:
        sql = ["SELECT key, record FROM files WHERE bucket = ? AND (expires_at IS NULL OR expires_at > ?)"]
        args: list = [bucket, now_s]
        if not include_deleted:
            sql.append("AND deleted = 0")
        lower = max(prefix, after) if after is not None else prefix
        if lower:
            sql.append("AND key > ?" if after is not None and after >= prefix else "AND key >= ?")
            args.append(lower)
        upper = prefix_end(prefix)
        if upper is not None:
            sql.append("AND key < ?")
            args.append(upper)
        sql.append("ORDER BY key LIMIT ?")
        args.append(limit + 1)
        rows = self._query(" ".join(sql), args)
        items = [_decode(r[1]) for r in rows[:limit]]
        next_after = items[-1].key if len(rows) > limit else None
        return items, next_after

    def max_sequencer(self, bucket: str) -> str | None:
        """The greatest ordering key stored for a bucket (seeds the local sequencer)."""
        row = self._query("SELECT max(seq) FROM files WHERE bucket = ?", (bucket,))
        return row[0][0] if row and row[0][0] is not None else None

    def purge_expired(self, now_s: int) -> int:
        """Drop tombstones past their `expires_at` (what DynamoDB's TTL does on AWS)."""
        with self._lock:
            try:
                cur = self._conn.execute("DELETE FROM files WHERE expires_at IS NOT NULL AND expires_at <= ?", (now_s,))
            except sqlite3.Error as exc:
                raise StorageError(f"the file catalog could not drop expired tombstones: {exc}") from None
        return cur.rowcount

    def _query(self, sql: str, args) -> builtins.list[tuple]:
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f"the file catalog could not be read: {exc}") from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def prefix_end(prefix: str) -> str | None:
    """The least string greater than every string that starts with `prefix` (code point
    order, which is UTF-8 byte order), or None when there is none (empty prefix, or only
    U+10FFFF)."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            nxt = last + 1
            if 0xD800 <= nxt <= 0xDFFF:  # surrogates cannot be stored as UTF-8
                nxt = 0xE000
            return "".join(chars) + chr(nxt)
    return None
