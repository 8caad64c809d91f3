"""`weir serve`'s export thread: it runs the scheduler's passes, backs off after a failure,
wakes on late points, and stops between hours."""

from __future__ import annotations

import time

import pytest

from tests.conftest import FakeClock
from tests.metrics.export.test_service import FailingPuts
from weir.backends.folder.objects import FolderObjectStore
from weir.backends.sqlite.export_state import SqliteExportState
from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.jobs.exports import ExportWorker
from weir.metrics.export import render as export
from weir.metrics.export.schedule import ExportScheduler
from weir.metrics.export.service import ExportService
from weir.metrics.ports import PointBatch
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


def manifests(objects) -> list[str]:
    return [k.removesuffix("_manifest.json") for k in objects.list("metrics/") if k.endswith("_manifest.json")]


def worker(store, objects, tmp_path, clock, **kw) -> ExportWorker:
    scheduler = ExportScheduler(ExportService(store, objects, clock=clock), SqliteExportState(tmp_path / "metrics.db"),
                                retention_seconds=30 * 86400, delay_seconds=300, clock=clock)
    return ExportWorker(scheduler, **kw)


def test_the_thread_exports_then_retries_failures_until_stopped(store, tmp_path, clock):
    objects = FolderObjectStore(tmp_path / "exports")
    flaky = FailingPuts(objects, {1, 2})
    # On the test's clock (11:06): on the wall clock the due hour could change between the
    # thread's run and the check below, or the thread export the next hour too.
    w = worker(store, flaky, tmp_path, clock, retry_seconds=0.05)
    w.start()
    try:
        deadline = time.monotonic() + 60  # bounds a failure only
        while not manifests(objects) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        w.stop()
    assert manifests(objects) == [export.hour_prefix(HOUR)]
    assert flaky.puts == 3 and w.failures == 0 and w.last_error is None
    assert w._thread is None
    assert w.state.last_exported(objects.url) == HOUR and w.destination == objects.url


def test_the_wait_is_until_the_next_due_pass_within_the_poll(store, tmp_path, clock):
    objects = FolderObjectStore(tmp_path / "exports")
    w = worker(store, objects, tmp_path, clock, poll_seconds=60)
    w.scheduler.run_pending()
    assert w._until_next_due() == 60  # 12:05 is an hour away: poll after a minute
    clock.ns = HOUR + 2 * H + 5 * MIN - 10 * NS
    assert w._until_next_due() == 10
    w.state.mark_changed([HOUR], clock.ns - 6 * MIN)  # a changed hour, quiet long enough
    assert w._until_next_due() == 0.5  # due now: the least wait


def test_points_for_a_closed_hour_wake_the_thread(store, tmp_path, clock):
    w = worker(store, FolderObjectStore(tmp_path / "exports"), tmp_path, clock)
    w.points_ingested(PointBatch(series_ids=[1], timestamps=[HOUR + H + MIN], values=[1.0]))
    assert not w._wake.is_set()  # the current hour: nothing to re-export
    w.points_ingested(PointBatch(series_ids=[1], timestamps=[HOUR + 30 * MIN], values=[1.0]))
    assert w._wake.is_set()


def test_late_points_leave_a_thread_asleep_that_wakes_within_the_delay(store, tmp_path, clock):
    """A backfill's batches wake the thread once: after that it sleeps at most the delay, the
    quiet time of the marks they left, and no batch wakes it again."""
    w = worker(store, FolderObjectStore(tmp_path / "exports"), tmp_path, clock)
    late = PointBatch(series_ids=[1], timestamps=[HOUR + 30 * MIN], values=[1.0])
    w._wakes_at = clock.ns + 5 * MIN  # asleep until the delay's end at the latest
    w.points_ingested(late)
    assert not w._wake.is_set()
    w._wakes_at = clock.ns + 5 * MIN + 1  # would sleep past the new mark's quiet time
    w.points_ingested(late)
    assert w._wake.is_set()


def test_an_hour_waits_for_running_queries_but_not_for_ever(monkeypatch):
    """Between hours the export thread waits while the store is answering a query (a backlog
    of hours exported meanwhile made each query several times slower), at most QUERY_YIELD_S."""
    import time
    from types import SimpleNamespace

    from weir.jobs import exports

    running = [1]
    worker = exports.ExportWorker(SimpleNamespace(destination="file:///nowhere"), queries_running=lambda: running[0])
    monkeypatch.setattr(exports, "QUERY_YIELD_S", 0.3)
    t0 = time.monotonic()
    assert worker._between_hours() is False
    assert time.monotonic() - t0 >= 0.3  # waited its bound for the query
    running[0] = 0
    monkeypatch.setattr(exports, "QUERY_YIELD_S", 120.0)
    t0 = time.monotonic()
    assert worker._between_hours() is False
    assert time.monotonic() - t0 < 60  # nobody reading: no wait (a generous bound, not a timing)
    worker._stop.set()
    assert worker._between_hours() is True


def test_an_hour_export_pauses_between_series_while_a_query_runs_but_not_for_ever(monkeypatch):
    """Within an hour's export (pure Python, ~0.5 ms a series), a query that arrives makes the
    export wait at the next series until it ends; at most QUERY_YIELD_S in all per hour."""
    import threading

    from weir.jobs import exports

    running = [0]

    class Source:
        def scan(self, start_ns, end_ns):
            for i in range(3):
                if i == 1:
                    running[0] = 1  # a query starts while the first series is rendered
                yield i, [start_ns], [1.0]

    monkeypatch.setattr(exports, "QUERY_YIELD_S", 0.3)
    t0 = time.monotonic()
    assert [i for i, _, _ in exports.YieldingScan(Source(), lambda: running[0]).scan(0, 1)] == [0, 1, 2]
    assert time.monotonic() - t0 >= 0.3  # waited its bound for the query, once: not per series

    monkeypatch.setattr(exports, "QUERY_YIELD_S", 120.0)
    running[0] = 0
    ends = threading.Timer(0.05, lambda: running.__setitem__(0, 0))

    class Ending(Source):
        def scan(self, start_ns, end_ns):
            for item in super().scan(start_ns, end_ns):
                if item[0] == 1:
                    ends.start()  # the query ends shortly
                yield item

    t0 = time.monotonic()
    assert [i for i, _, _ in exports.YieldingScan(Ending(), lambda: running[0]).scan(0, 1)] == [0, 1, 2]
    assert time.monotonic() - t0 < 60  # resumed when the query ended (a generous bound, not a timing)
