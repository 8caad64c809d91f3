"""The start-up check of a data folder (backends/sqlite/integrity.py) on files larger than
its quick_check bound, where it reads the right edge of every b-tree instead."""

from __future__ import annotations

import os
import time

import pytest

from weir.backends.sqlite import integrity
from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.errors import DamagedDataError
from weir.metrics.ports import PointBatch
from weir.metrics.series import make_series
from weir.metrics.timeutil import NS

NOW = int(time.time()) * NS


def write_store(data) -> None:
    """A metrics.db with series, chunks and pending pairs (WITHOUT ROWID tables among them)."""
    members = [make_series("cpu", {"host": f"h{i}"}, "gauge", None) for i in range(2000)]
    store = SqliteMetricStore(data / "metrics.db", retention_seconds=86400)
    try:
        for k in range(10):
            store.append(PointBatch([s.id for s in members], [NOW - k * NS] * len(members),
                                    [float(i * k) for i in range(len(members))], members if k == 0 else []))
    finally:
        store.close()  # flushes


@pytest.fixture
def large(monkeypatch):
    monkeypatch.setattr(integrity, "QUICK_CHECK_MAX_BYTES", 0)  # every file takes the large-file path


def test_a_sound_folder_larger_than_the_quick_check_bound_starts(tmp_path, large):
    write_store(tmp_path)
    assert integrity.check_folder(tmp_path) == []
    integrity.startup_check(tmp_path)


def test_a_cut_short_file_larger_than_the_quick_check_bound_is_refused(tmp_path, large):
    write_store(tmp_path)
    path = tmp_path / "metrics.db"
    os.truncate(path, path.stat().st_size // 2)
    with pytest.raises(DamagedDataError, match="metrics.db"):
        integrity.startup_check(tmp_path)
