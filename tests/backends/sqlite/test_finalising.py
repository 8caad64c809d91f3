"""When the store's writer finalises hours (backends/sqlite/finalising.py): it yields to
ingest, yet is never starved by it."""

from __future__ import annotations

import threading
import time

from weir.backends.sqlite import finalising
from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.metrics.ports import PointBatch
from weir.metrics.series import make_series
from weir.metrics.timeutil import NS

NOW = int(time.time()) * NS
HOUR_NS = 3600 * NS


class Recording(SqliteMetricStore):
    """A store that records the budget of every finalising slice its writer takes."""

    def __init__(self, *args, **kw) -> None:
        self.budgets: list[float] = []
        super().__init__(*args, **kw)

    def _finalise_some(self, budget_s: float = finalising.FINALISE_SLICE_S) -> bool:
        self.budgets.append(budget_s)
        return super()._finalise_some(budget_s)


def with_a_backlog(tmp_path) -> tuple[Recording, int, list]:
    """A store holding one point of 3,000 series in a closed hour, in its head: the flush
    leaves 3,000 (hour, series) pairs to finalise (six transactions). Nothing else runs."""
    hour = (NOW // HOUR_NS - 3) * HOUR_NS  # closed, within retention
    series = [make_series("cpu", {"host": f"h{i}"}, "gauge", None) for i in range(3000)]
    store = Recording(tmp_path / "m.db", retention_seconds=86400, finalise_grace_seconds=0,
                      flush_points=10**12, flush_seconds=10**9, sweep_seconds=10**9)
    store.append(PointBatch([s.id for s in series], [hour + NS] * len(series), [1.0] * len(series),
                            new_series=series))
    return store, hour, series


def test_finalising_yields_to_ingest_in_short_slices_yet_finishes_while_ingest_flows(tmp_path):
    """Issue 18: an hour's pairs were finalised in 0.25 s slices between commits, and known-series
    ingest at 1M series fell by half. While ingest flows the writer now takes short slices (and at
    most a share of its time); the backlog must still drain while the ingest goes on."""
    store, hour, series = with_a_backlog(tmp_path)
    try:
        stop = threading.Event()
        sent = [0]

        def ingest() -> None:  # the current hour: no new pairs for the finaliser
            while not stop.is_set():
                store.append(PointBatch([series[0].id], [NOW + sent[0]], [2.0]))
                sent[0] += 1

        feeder = threading.Thread(target=ingest)
        feeder.start()
        try:
            store.flush()  # 3,000 (hour, series) pairs pending: six transactions of finalising
            deadline = time.monotonic() + 60
            while store.backlog():
                assert time.monotonic() < deadline, "finalising was starved by ingest"
                time.sleep(0.01)
            assert feeder.is_alive(), "the ingest stopped before the backlog drained"
        finally:
            stop.set()
            feeder.join()
        assert finalising.FINALISE_BUSY_S in store.budgets
        got = store.read([series[0].id], hour, hour + HOUR_NS)
        assert got == {series[0].id: ([hour + NS], [1.0])}
    finally:
        store.close()


def test_finalising_yields_to_a_running_query_and_finishes_after(tmp_path):
    """A PromQL query asked just after a restart (a day's hours left to finalise) took 5x its
    time: the writer's pure-Python finalising held the GIL in 0.25 s slices. While a query
    reads, finalising takes the short slices it takes beside ingest; it drains after."""
    store, hour, series = with_a_backlog(tmp_path)
    try:
        with store._querying():  # a query reading meanwhile
            store.flush()
            deadline = time.monotonic() + 60
            while not store.budgets:
                assert time.monotonic() < deadline, "finalising never started"
                time.sleep(0.01)
            assert store.budgets[0] == finalising.FINALISE_BUSY_S
        deadline = time.monotonic() + 60
        while store.backlog():
            assert time.monotonic() < deadline, "finalising did not drain after the query"
            time.sleep(0.01)
        assert finalising.FINALISE_SLICE_S in store.budgets  # full slices once nobody reads
        assert store.read_arrays([series[0].id], hour, hour + HOUR_NS).points == 1
    finally:
        store.close()


def test_a_query_ends_each_slice_after_one_short_transaction_yet_the_backlog_drains(tmp_path, monkeypatch):
    """The one-host question after a restart with hours to finalise: its p90 was 70-90 ms, a
    500-pair transaction (~0.2 s of pure Python) sharing the GIL with it. While a query runs,
    each slice is one transaction of at most SLICE_BATCH pairs; held open for the whole
    backlog, the query slows finalising down but never stops it."""
    from weir.backends.sqlite import rollups

    slices: list[tuple[int | None, int]] = []
    real = rollups.finalise

    def spy(w, before, budget_s, done=None, **kw):
        got = real(w, before, budget_s, done, **kw)
        slices.append((kw.get("batch"), got.pairs))
        return got

    monkeypatch.setattr(rollups, "finalise", spy)
    store, hour, series = with_a_backlog(tmp_path)
    try:
        with store._querying():  # running for as long as the backlog takes
            store.flush()
            deadline = time.monotonic() + 60
            while store.backlog():
                assert time.monotonic() < deadline, "finalising was starved by a running query"
                time.sleep(0.01)
        worked = [(b, n) for b, n in slices if n]
        assert len(worked) >= 3000 // finalising.SLICE_BATCH
        assert all(b == finalising.SLICE_BATCH and n <= finalising.SLICE_BATCH for b, n in worked)
        assert store.read_arrays([series[0].id], hour, hour + HOUR_NS).points == 1
    finally:
        store.close()
