"""The export scheduler: each hour after its delay, catch-up after downtime, retries (the thread
that runs it in `weir serve`: tests/jobs/test_exports.py)."""

from __future__ import annotations

import pytest

from tests.conftest import FakeClock
from tests.metrics.export.test_service import FailingPuts, ingest, make_points, read_hour, wanted
from weir.backends.folder.objects import FolderObjectStore
from weir.backends.sqlite.export_state import SqliteExportState
from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.metrics.export import render as export
from weir.metrics.export.schedule import ExportScheduler, latest_due_hour
from weir.metrics.export.service import ExportService
from weir.metrics.timeutil import NS

H = export.HOUR_NS
HOUR = export.parse_hour("2026-11-22T10")
MIN = 60 * NS


@pytest.fixture
def clock():
    return FakeClock(ns=HOUR + H + 6 * MIN)  # 11:06: hour 10 closed six minutes ago


@pytest.fixture
def store(tmp_path, clock):
    s = SqliteMetricStore(tmp_path / "metrics.db", retention_seconds=30 * 86400, clock=clock)
    yield s
    s.close()


def scheduler(store, objects, tmp_path, clock, **kw) -> ExportScheduler:
    return ExportScheduler(ExportService(store, objects, clock=clock), SqliteExportState(tmp_path / "metrics.db"),
                           retention_seconds=30 * 86400, clock=clock, **kw)


def manifests(objects) -> list[str]:
    return [k.removesuffix("_manifest.json") for k in objects.list("metrics/") if k.endswith("_manifest.json")]


def test_latest_due_hour_waits_for_the_delay():
    assert latest_due_hour(HOUR + H + 4 * MIN, 5 * MIN) == HOUR - H
    assert latest_due_hour(HOUR + H + 5 * MIN, 5 * MIN) == HOUR
    assert latest_due_hour(HOUR + 2 * H - 1, 5 * MIN) == HOUR


def test_a_fresh_folder_starts_with_the_last_closed_hour(store, tmp_path, clock):
    objects = FolderObjectStore(tmp_path / "exports")
    s = scheduler(store, objects, tmp_path, clock)
    assert [r.hour_ns for r in s.run_pending()] == [HOUR]
    assert s.state.last_exported(objects.url) == HOUR
    assert s.run_pending() == []  # nothing new until 12:05
    clock.ns = HOUR + 2 * H + 4 * MIN
    assert s.run_pending() == []
    clock.ns = HOUR + 2 * H + 5 * MIN
    assert [r.hour_ns for r in s.run_pending()] == [HOUR + H]


def test_hours_missed_while_stopped_are_caught_up_in_order(store, tmp_path, clock):
    objects = FolderObjectStore(tmp_path / "exports")
    first = scheduler(store, objects, tmp_path, clock)
    first.run_pending()  # exported 10:00, then "stopped"
    first.state.close()
    points = [make_points(4, 300, HOUR + k * H, seed=k) for k in range(1, 6)]
    clock.ns = HOUR + 6 * H + 7 * MIN  # back at 16:07: hours 11..15 are due
    for p in points:
        ingest(store, p, clock)
    again = scheduler(store, objects, tmp_path, clock)  # a new process: state from SQLite
    assert again.pending_hours() == [HOUR + k * H for k in range(1, 6)]
    assert [r.hour_ns for r in again.run_pending()] == [HOUR + k * H for k in range(1, 6)]
    assert manifests(objects) == [export.hour_prefix(HOUR + k * H) for k in range(0, 6)]
    for k in range(1, 6):
        _, rows = read_hour(objects, HOUR + k * H)
        assert {(r["name"], tuple(sorted(r["dimensions"].items())), r["timestamp_ns"], r["value"], r.get("unit"))
                for r in rows} == wanted(points[k - 1], HOUR + k * H)
    assert again.state.last_exported(objects.url) == HOUR + 5 * H


def test_a_failed_hour_keeps_the_watermark_and_is_retried(store, tmp_path, clock):
    objects = FolderObjectStore(tmp_path / "exports")
    s = scheduler(store, objects, tmp_path, clock)
    s.run_pending()
    clock.ns = HOUR + 4 * H + 6 * MIN  # hours 11, 12, 13 due
    ingest(store, make_points(2, 600, HOUR + 2 * H), clock)
    s.service.target = FailingPuts(objects, {2})  # hour 11: manifest ok (empty hour); hour 12: part fails
    with pytest.raises(Exception, match="injected"):
        s.run_pending()
    assert s.state.last_exported(objects.url) == HOUR + H
    assert export.manifest_key(HOUR + 2 * H) not in objects.list("metrics/")
    assert [r.hour_ns for r in s.run_pending()] == [HOUR + 2 * H, HOUR + 3 * H]
    assert read_hour(objects, HOUR + 2 * H)[0]["rows"] == 12


def test_catch_up_never_goes_past_the_retention(store, tmp_path, clock):
    objects = FolderObjectStore(tmp_path / "exports")
    s = scheduler(store, objects, tmp_path, clock)
    s.state.set_last_exported(objects.url, HOUR - 100 * 24 * H)
    pending = s.pending_hours()
    assert pending[0] == export.floor_hour(clock.ns - 30 * 24 * H) and pending[-1] == HOUR
    assert len(pending) == 30 * 24  # 30 days back from 11:06, up to 10:00 today


def test_watermarks_are_per_destination(store, tmp_path, clock):
    a = FolderObjectStore(tmp_path / "a")
    s = scheduler(store, a, tmp_path, clock)
    s.state.set_last_exported(a.url, HOUR - 5 * H)
    b = FolderObjectStore(tmp_path / "b")
    assert scheduler(store, b, tmp_path, clock).pending_hours() == [HOUR]


def test_the_next_pass_is_due_at_the_next_hours_delay_or_when_a_changed_hour_settles(store, tmp_path, clock):
    objects = FolderObjectStore(tmp_path / "exports")
    s = scheduler(store, objects, tmp_path, clock)
    s.run_pending()  # 10:00 exported at 11:06
    assert s.next_due_ns(clock.ns) == HOUR + 2 * H + 5 * MIN  # 12:05, when 11:00 is due
    s.state.mark_changed([HOUR], clock.ns)  # a late point for 10:00, at 11:06
    assert s.next_due_ns(clock.ns) == clock.ns + 5 * MIN  # quiet for the delay
    assert s.next_due_ns(clock.ns + 20 * MIN) == clock.ns + 20 * MIN  # due already: now
