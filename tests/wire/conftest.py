from __future__ import annotations

import time

import pytest

from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.metrics.ingest import IngestService


@pytest.fixture(scope="module")
def ingest(tmp_path_factory):
    """A real ingest service on a real SQLite store, so the properties cover validation too."""
    store = SqliteMetricStore(tmp_path_factory.mktemp("fmt") / "m.db", retention_seconds=30 * 86400)
    deadline = time.time() + 20
    while not store.ready() and time.time() < deadline:
        time.sleep(0.01)
    yield IngestService(store)
    store.close()
