"""The alert store on SQLite: rules, states, events, the notification outbox, subscriptions.

It has its own database file (`alerts.db` in the data folder) and its own connection:
the metrics store's connection belongs to its writer thread. The API, the evaluator and
the dispatcher all call in, so one lock serialises them; every call is a few small
statements. A transition, its event and its pending deliveries commit together
(`synchronous=FULL`), which is what makes the outbox survive a crash: on restart the
dispatcher finds the same pending rows and delivers them.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec

from weir.errors import ConflictError, StorageError
from weir.metrics.alerts.model import AlertEvent, Delivery, EventOut, Rule, RuleSpec, Subscription
from weir.metrics.alerts.ports import (
    PendingDelivery,
    StateChange,
    StateRecord,
    config_subscriptions_clash,
    rule_name_taken,
)
from weir.metrics.timeutil import ns_to_rfc3339

from . import txn
from .sqltext import fill

VERSION = 1
DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rules (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, metric TEXT NOT NULL, spec TEXT NOT NULL,
    created_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL, version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS states (
    rule_id TEXT NOT NULL, group_key TEXT NOT NULL, grp TEXT NOT NULL, state TEXT NOT NULL,
    since_ns INTEGER NOT NULL, reason TEXT NOT NULL, value REAL, last_notified_ns INTEGER,
    version INTEGER NOT NULL, PRIMARY KEY (rule_id, group_key)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, rule_id TEXT NOT NULL,
    kind TEXT NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_rule ON events (rule_id, seq);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY, event_id TEXT NOT NULL, target TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, next_ns INTEGER, delivered_ns INTEGER,
    UNIQUE (event_id, target)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_ns);
CREATE INDEX IF NOT EXISTS deliveries_target ON deliveries (target, id);
CREATE TABLE IF NOT EXISTS subscriptions (id TEXT PRIMARY KEY, source TEXT NOT NULL, body TEXT NOT NULL);
"""

_spec = msgspec.json.Decoder(RuleSpec)
_event = msgspec.json.Decoder(AlertEvent)
_sub = msgspec.json.Decoder(Subscription)
_group = msgspec.json.Decoder(dict[str, str])
_encode = msgspec.json.Encoder().encode


class SqliteAlertStore:
    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(DDL)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(VERSION),))
            elif int(row[0]) > VERSION:
                raise StorageError(f"alerts.db was written by a newer Weir (schema {row[0]}, this one knows {VERSION})")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the alert store {path}: {exc}") from None

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._db
            try:
                if write:
                    db.execute("BEGIN IMMEDIATE")
                yield db
                if write:
                    db.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                txn.rollback(db)
                raise ConflictError(f"conflicts with a stored object: {exc}") from None
            except sqlite3.Error as exc:
                txn.rollback(db)
                raise StorageError(f"the alert store failed: {exc}") from None
            except BaseException:
                txn.rollback(db)
                raise

    # -- rules and states -----------------------------------------------------------

    def put_rule(self, rule: Rule, *, reset_states: bool = False) -> None:
        with self._tx(write=True) as db:
            clash = db.execute("SELECT id FROM rules WHERE name = ? AND id != ?", (rule.spec.name, rule.id)).fetchone()
            if clash:
                raise rule_name_taken(rule.spec.name, clash[0])
            db.execute(
                "INSERT INTO rules VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
                "metric = excluded.metric, spec = excluded.spec, updated_ns = excluded.updated_ns, "
                "version = excluded.version",
                (rule.id, rule.spec.name, rule.spec.metric, _encode(rule.spec).decode(), rule.created_ns,
                 rule.updated_ns, rule.version),
            )
            if reset_states:
                db.execute("DELETE FROM states WHERE rule_id = ?", (rule.id,))

    def get_rule(self, rule_id: str) -> Rule | None:
        with self._tx() as db:
            row = db.execute("SELECT id, spec, created_ns, updated_ns, version FROM rules WHERE id = ?",
                             (rule_id,)).fetchone()
        return _rule(row) if row else None

    def list_rules(self) -> list[Rule]:
        with self._tx() as db:
            rows = db.execute("SELECT id, spec, created_ns, updated_ns, version FROM rules ORDER BY name").fetchall()
        return [_rule(r) for r in rows]

    def delete_rule(self, rule_id: str) -> bool:
        with self._tx(write=True) as db:
            gone = db.execute("DELETE FROM rules WHERE id = ?", (rule_id,)).rowcount
            db.execute("DELETE FROM states WHERE rule_id = ?", (rule_id,))
        return bool(gone)

    def get_states(self, rule_id: str) -> list[StateRecord]:
        with self._tx() as db:
            rows = db.execute(
                "SELECT group_key, grp, state, since_ns, reason, value, last_notified_ns, version FROM states "
                "WHERE rule_id = ? ORDER BY group_key", (rule_id,)).fetchall()
        return [StateRecord(r[0], _group.decode(r[1]), *r[2:]) for r in rows]

    def record(self, rule_id: str, rule_version: int, changes: list[StateChange]) -> list[AlertEvent]:
        recorded: list[AlertEvent] = []
        with self._tx(write=True) as db:
            row = db.execute("SELECT version FROM rules WHERE id = ?", (rule_id,)).fetchone()
            if row is None or row[0] != rule_version:
                return []  # deleted or changed while it was being evaluated: the next evaluation decides
            for ch in changes:
                rec = ch.record
                values = (rec.state, rec.since_ns, rec.reason, rec.value, rec.last_notified_ns, rec.version)
                if ch.expected_version == 0:
                    applied = db.execute(
                        "INSERT OR IGNORE INTO states VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (rule_id, rec.group_key, _encode(rec.group).decode(), *values)).rowcount
                else:
                    applied = db.execute(
                        "UPDATE states SET state = ?, since_ns = ?, reason = ?, value = ?, last_notified_ns = ?, "
                        "version = ? WHERE rule_id = ? AND group_key = ? AND version = ?",
                        (*values, rule_id, rec.group_key, ch.expected_version)).rowcount
                if not applied or ch.event is None:
                    continue
                ev = ch.event
                db.execute("INSERT INTO events (event_id, rule_id, kind, body) VALUES (?, ?, ?, ?)",
                           (ev.event_id, rule_id, ev.kind, _encode(ev).decode()))
                db.executemany(
                    "INSERT INTO deliveries (event_id, target, status, next_ns) VALUES (?, ?, 'pending', 0)",
                    [(ev.event_id, t) for t in ch.targets])
                recorded.append(ev)
        return recorded

    # -- events and the outbox ------------------------------------------------------

    def events(self, *, rule_id: str | None = None, kind: str | None = None, limit: int = 100) -> list[EventOut]:
        sql = "SELECT event_id, body FROM events"
        args: list[str | int] = []
        where = []
        if rule_id is not None:
            where.append("rule_id = ?")
            args.append(rule_id)
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq DESC LIMIT ?"
        args.append(limit)
        with self._tx() as db:
            rows = db.execute(sql, args).fetchall()
            out = []
            for event_id, body in rows:
                ds = db.execute(
                    "SELECT target, status, attempts, last_error, next_ns, delivered_ns FROM deliveries "
                    "WHERE event_id = ? ORDER BY id", (event_id,)).fetchall()
                out.append(EventOut(event=_event.decode(body), deliveries=[_delivery(d) for d in ds]))
        return out

    def due_deliveries(self, now_ns: int, limit: int = 100, *, skip_targets: Collection[str] = (),
                       skip_ids: Collection[int] = ()) -> list[PendingDelivery]:
        skip_t, skip_i = list(skip_targets), list(skip_ids)
        where = "".join((f" AND d.target NOT IN ({','.join('?' * len(skip_t))})" if skip_t else "",
                         f" AND d.id NOT IN ({','.join('?' * len(skip_i))})" if skip_i else ""))
        with self._tx() as db:
            rows = db.execute(
                fill("SELECT d.id, e.body, d.target, d.attempts FROM deliveries d JOIN events e USING (event_id) "
                     "WHERE d.status = 'pending' AND d.next_ns <= ?{where} ORDER BY d.next_ns, d.id LIMIT ?",
                     where=where),
                (now_ns, *skip_t, *skip_i, limit)).fetchall()
        return [PendingDelivery(r[0], _event.decode(r[1]), r[2], r[3]) for r in rows]

    def next_due_ns(self) -> int | None:
        with self._tx() as db:
            row = db.execute("SELECT MIN(next_ns) FROM deliveries WHERE status = 'pending'").fetchone()
        return row[0]

    def deliveries_done(self, delivery_ids: list[int], now_ns: int) -> None:
        if not delivery_ids:
            return
        with self._tx(write=True) as db:
            db.executemany(
                "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_ns = ?, "
                "next_ns = NULL WHERE id = ?", [(now_ns, i) for i in delivery_ids])

    def delivery_failed(self, delivery_id: int, error: str, next_attempt_ns: int | None) -> None:
        status = "pending" if next_attempt_ns is not None else "failed"
        with self._tx(write=True) as db:
            db.execute(
                "UPDATE deliveries SET status = ?, attempts = attempts + 1, last_error = ?, next_ns = ? WHERE id = ?",
                (status, error[:2000], next_attempt_ns, delivery_id))

    def last_delivery(self, target: str) -> Delivery | None:
        with self._tx() as db:
            row = db.execute(
                "SELECT target, status, attempts, last_error, next_ns, delivered_ns FROM deliveries "
                "WHERE target = ? ORDER BY id DESC LIMIT 1", (target,)).fetchone()
        return _delivery(row) if row else None

    # -- subscriptions ----------------------------------------------------------------

    def put_subscription(self, sub: Subscription) -> None:
        with self._tx(write=True) as db:
            db.execute("INSERT OR REPLACE INTO subscriptions VALUES (?, ?, ?)",
                       (sub.id, sub.source, _encode(sub).decode()))

    def get_subscription(self, sub_id: str) -> Subscription | None:
        with self._tx() as db:
            row = db.execute("SELECT body FROM subscriptions WHERE id = ?", (sub_id,)).fetchone()
        return _sub.decode(row[0]) if row else None

    def list_subscriptions(self) -> list[Subscription]:
        with self._tx() as db:
            rows = db.execute("SELECT body FROM subscriptions ORDER BY id").fetchall()
        return [_sub.decode(r[0]) for r in rows]

    def delete_subscription(self, sub_id: str) -> bool:
        with self._tx(write=True) as db:
            return bool(db.execute("DELETE FROM subscriptions WHERE id = ?", (sub_id,)).rowcount)

    def replace_config_subscriptions(self, subs: list[Subscription]) -> None:
        with self._tx(write=True) as db:
            taken = {r[0] for r in db.execute("SELECT id FROM subscriptions WHERE source = 'api'")}
            clash = [s.id for s in subs if s.id in taken]
            if clash:
                raise config_subscriptions_clash(clash)
            db.execute("DELETE FROM subscriptions WHERE source = 'config'")
            db.executemany("INSERT INTO subscriptions VALUES (?, 'config', ?)",
                           [(s.id, _encode(s).decode()) for s in subs])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _rule(row) -> Rule:
    return Rule(id=row[0], spec=_spec.decode(row[1]), created_ns=row[2], updated_ns=row[3], version=row[4])


def _delivery(row) -> Delivery:
    target, status, attempts, error, next_ns, delivered_ns = row
    return Delivery(
        target=target, status=status, attempts=attempts, last_error=error,
        next_attempt=ns_to_rfc3339(next_ns) if status == "pending" and next_ns else None,
        delivered_at=ns_to_rfc3339(delivered_ns) if delivered_ns else None,
    )
