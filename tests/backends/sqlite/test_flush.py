"""The flush in slices (backends/sqlite/flush.py), stepped one slice at a time.

`Stepped` lets its writer thread take a slice only when the test says so (`step()`), so
every read path can be checked between two slices: each point seen exactly once, the
flushing head's hours kept out of rollups and out of the finaliser's reach.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time

import pytest

from weir.backends.sqlite import flush
from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.metrics.ports import PointBatch
from weir.metrics.series import make_series
from weir.metrics.timeutil import NS

HOUR = 3600 * NS
HOUR0 = (int(time.time()) * NS // HOUR - 3) * HOUR  # a closed hour, well within retention
SERIES = [make_series("cpu", {"host": f"h{i}"}, "gauge", None) for i in range(5)]
LATE = make_series("cpu", {"host": "late"}, "gauge", None)  # first seen while the flush runs
WAIT = 30.0


class Stepped(SqliteMetricStore):
    """A store whose writer never flushes by itself and takes one slice per `step()`."""

    def __init__(self, *args, **kw) -> None:
        self.go = threading.Event()
        self.steps = 0
        self.finaliser_saw: list[int] = []  # the step count at each pass of the finaliser
        super().__init__(*args, flush_points=10**12, flush_seconds=10**9, sweep_seconds=10**9, **kw)

    def _step_due(self, now: float) -> bool:
        return bool(self._flushing) and self.go.is_set()

    def _flush_step(self) -> None:
        try:
            super()._flush_step()
        finally:
            self.steps += 1
            self.go.clear()

    def _finalise_some(self, budget_s: float = 0.25) -> bool:
        busy = super()._finalise_some(budget_s)
        self.finaliser_saw.append(self.steps)
        return busy

    def start_flush(self) -> None:
        self._flush_start()  # memory only, under the store's lock: safe from the test thread

    def step(self) -> None:
        done = self.steps + 1
        self.go.set()
        deadline = time.monotonic() + WAIT
        while self.steps < done:
            assert time.monotonic() < deadline, "the writer took no slice"
            time.sleep(0.001)

    def finaliser_ran_since_last_step(self) -> None:
        deadline = time.monotonic() + WAIT
        while self.steps not in self.finaliser_saw:
            assert time.monotonic() < deadline, "the finaliser did not run"
            time.sleep(0.005)


def batch(points, new=()):
    return PointBatch([s.id for s, _, _ in points], [t for _, t, _ in points], [v for _, _, v in points], list(new))


def counts(path) -> tuple[int, int, int]:
    """(chunk rows, log rows, pending pairs) as another process sees the folder."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("chunks", "log", "pending"))
    finally:
        conn.close()


@pytest.fixture
def stepped(tmp_path, monkeypatch):
    monkeypatch.setattr(flush, "FLUSH_SLICE", 2)  # 5 series: three slices
    store = Stepped(tmp_path / "m.db", retention_seconds=86400, finalise_grace_seconds=0)
    yield store
    store.close()


def test_reads_between_slices_see_every_point_exactly_once(stepped):
    store = stepped
    truth: dict[int, dict[int, float]] = {s.id: {} for s in [*SERIES, LATE]}

    def put(points, new=()):
        store.append(batch(points, new))
        for s, t, v in points:
            truth[s.id][t] = v

    put([(s, HOUR0 + k * NS, float(i * 10 + k)) for i, s in enumerate(SERIES) for k in range(4)], new=SERIES)
    store.start_flush()
    # While the flush runs: a new series, new points, and a rewrite of an instant the flushing
    # head holds (the later write must win whichever slice its series is in).
    put([(LATE, HOUR0, 1.0)], new=[LATE])
    put([(s, HOUR0 + 10 * NS, 5.0) for s in SERIES] + [(s, HOUR0, -1.0) for s in SERIES[::2]])
    sids = [s.id for s in [*SERIES, LATE]]
    window = (HOUR0 - HOUR, HOUR0 + HOUR)
    seen_chunks = []
    for step in range(4):
        want = {sid: (sorted(p), [p[t] for t in sorted(p)]) for sid, p in truth.items()}
        exact = sum(map(len, truth.values()))
        assert store.read(sids, *window) == want, f"after {step} slices"
        assert {s.id: (ts, vs) for s, ts, vs in store.scan(*window)} == want, f"after {step} slices"
        # Bounds counted from chunk rows and the heads: a point in a chunk and still in
        # the flushing head would be counted twice (only the rewritten instants are).
        rewritten = len(SERIES[::2])
        assert store.estimate_points(sids, *window) == exact + rewritten, f"after {step} slices"
        assert store.points_held() == exact + rewritten, f"after {step} slices"
        chunks, log_rows, pending = counts(store.path)
        seen_chunks.append(chunks)
        if step < 3:
            assert log_rows == 3  # the log rows go in the last slice only
            assert pending == chunks  # each slice marks what it wrote: one hour, one chunk per series
            store.step()
    assert seen_chunks == [0, 2, 4, 5]
    assert counts(store.path)[1] == 2 and not store._flushing  # the batches sent meanwhile: the head's
    store.flush()  # the head (what came during the flush) too
    want = {sid: (sorted(p), [p[t] for t in sorted(p)]) for sid, p in truth.items()}
    assert store.read(sids, *window) == want
    assert counts(store.path)[1] == 0


def test_the_finaliser_leaves_an_hour_alone_while_its_points_are_in_the_flushing_head(stepped):
    store = stepped
    sids = [s.id for s in SERIES]
    early = [(s, HOUR0 + k * NS, float(k)) for s in SERIES for k in range(3)]
    store.append(batch(early, new=SERIES))
    store.finalise()  # the hour is rolled up...
    assert store.read_records("1h", sids, HOUR0, HOUR0 + HOUR).covered == [(HOUR0, HOUR0 + HOUR)]
    late = [(s, HOUR0 + k * NS, float(k)) for s in SERIES for k in range(3, 6)]
    store.append(batch(late))  # ...then late points arrive for it
    store.start_flush()
    # Nothing written yet, nothing pending: only the flushing head says the records are stale.
    assert store.read_records("1h", sids, HOUR0, HOUR0 + HOUR).covered == []
    store.step()  # two series' chunks written, their (hour, series) pairs pending; three still in memory
    store.finaliser_ran_since_last_step()
    assert counts(store.path)[2] == 2, "an hour with points in the flushing head was finalised"
    block = store.read_records("1h", sids, HOUR0, HOUR0 + HOUR)
    assert block.covered == [] and len(block) == 0  # the hour is answered from raw points
    six = ([HOUR0 + k * NS for k in range(6)], [float(k) for k in range(6)])
    assert store.read(sids, HOUR0, HOUR0 + HOUR) == {sid: six for sid in sids}
    store.step()
    store.step()
    store.finaliser_ran_since_last_step()  # the flush is over: the hour is finalised whole
    assert counts(store.path) == (5, 0, 0)
    block = store.read_records("1h", sids, HOUR0, HOUR0 + HOUR)
    assert block.covered == [(HOUR0, HOUR0 + HOUR)]
    assert sorted(block.cols["sid"].tolist()) == sorted(sids) and block.points == len(early) + len(late)


def test_a_slice_that_fails_on_a_full_disk_is_retried_and_loses_nothing(stepped):
    store = stepped
    rng = random.Random(3)  # random values: chunks that need new pages
    points = [(s, HOUR0 + k * NS, rng.random()) for s in SERIES for k in range(3000)]
    store.append(batch(points, new=SERIES))
    store.start_flush()
    store.step()
    pages = store._w.execute("PRAGMA page_count").fetchone()[0]
    store._w.execute(f"PRAGMA max_page_count = {pages}")  # full: the next slice cannot be written
    store.step()
    assert counts(store.path)[:2] == (2, 1) and len(store._flushing) == 3  # rolled back whole, still in memory
    sids = [s.id for s in SERIES]
    got = store.read(sids, HOUR0, HOUR0 + HOUR)
    want: dict[int, tuple[list[int], list[float]]] = {sid: ([], []) for sid in sids}
    for s, t, v in points:
        want[s.id][0].append(t)
        want[s.id][1].append(v)
    assert got == want
    store._w.execute("PRAGMA max_page_count = 1000000000")  # space again
    store.flush()  # the slice is retried; the flush ends
    assert counts(store.path)[:2] == (5, 0)
    assert store.read(sids, HOUR0, HOUR0 + HOUR) == got


def test_the_retention_sweep_keeps_series_whose_points_are_only_in_the_flushing_head(stepped):
    store = stepped
    points = [(s, HOUR0 + k * NS, float(k)) for s in SERIES for k in range(3)]
    store.append(batch(points, new=SERIES))
    store.start_flush()
    store.step()  # three series have nothing on disk yet: no chunk, no rollup
    store.sweep()  # a sweep in the middle of the flush: nothing expires, nothing is flushed whole
    assert len(store._flushing) == 3
    assert all(store.get_series(s.id) == s for s in SERIES)
    store.flush()
    sids = [s.id for s in SERIES]
    got = store.read(sids, HOUR0, HOUR0 + HOUR)
    assert got == {sid: ([HOUR0, HOUR0 + NS, HOUR0 + 2 * NS], [0.0, 1.0, 2.0]) for sid in sids}
