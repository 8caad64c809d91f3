"""The post-ingest hook: told after the batch is durable, and never able to fail the ingest."""

from __future__ import annotations

import time

from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.durability import deferred
from weir.metrics.ingest import IngestService
from weir.wire.json import ingest_json


def body(n=3):
    now = int(time.time())
    points = ",".join(f'{{"name": "l{i}", "value": 1, "timestamp": {now}}}' for i in range(n))
    return f'{{"metrics": [{points}]}}'


def test_listener_gets_the_batch_after_it_is_durable(tmp_path):
    store = SqliteMetricStore(tmp_path / "m.db", retention_seconds=86400)
    seen = []
    svc = IngestService(store, 86400, listener=lambda batch: seen.append(
        sorted(store.get_series(sid).name for sid in batch.series_ids)))
    assert ingest_json(svc, body()).accepted == 3
    assert seen == [["l0", "l1", "l2"]]
    with deferred() as pending:  # the gateway's path: the commit completes later
        ingest_json(svc, body())
        assert len(seen) == 1 or pending[0].done()
        pending[0].result()
    assert len(seen) == 2
    store.close()


def test_a_failing_listener_never_fails_ingest(tmp_path, caplog):
    store = SqliteMetricStore(tmp_path / "m.db", retention_seconds=86400)

    def broken(batch):
        raise RuntimeError("boom")

    assert ingest_json(IngestService(store, 86400, listener=broken), body()).accepted == 3
    assert "ingest listener failed" in caplog.text
    store.close()
