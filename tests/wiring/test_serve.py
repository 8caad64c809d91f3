"""The composition root's lifecycle: what wiring opens for `weir serve`, `close()` closes."""

from __future__ import annotations

from weir.config import Settings
from weir.wiring.aws import AwsClients
from weir.wiring.serve import build_serve


def test_close_closes_every_sqlite_database_the_local_services_opened(tmp_path):
    """SQLite removes a database's `-wal` file when its last connection closes: none may be
    left, the API-key store's included (it was left open)."""
    settings = Settings(data_dir=tmp_path / "data")
    services = build_serve(settings)
    assert services.api.auth is not None
    assert services.api.auth.store.digests() == []  # the key store is read per request
    opened = sorted(p.name for p in settings.data_dir.glob("*.db-wal"))
    assert "keys.db-wal" in opened and "pushgroups.db-wal" in opened, opened
    services.close()
    services.close()  # safe twice (the lifespan shutdown, then serve's `finally`)
    assert sorted(p.name for p in settings.data_dir.glob("*.db-wal")) == []


def _pooled_connections(client) -> int:
    # botocore keeps connections in urllib3 pools; `close()` empties them (no public view).
    return len(client._endpoint.http_session._manager.pools)


def test_close_releases_the_aws_clients_wiring_created(aws_env, aws_tables):
    settings = Settings(backend="aws", endpoint_url=aws_env, metrics_table=aws_tables[0],
                        series_table=aws_tables[1], exports=False)
    services = build_serve(settings)
    client = services.api.store.db.client
    services.api.query.list_metrics()
    assert _pooled_connections(client) == 1
    services.close()
    assert _pooled_connections(client) == 0


def test_close_leaves_a_client_it_was_given_open(aws_env, aws_tables, dynamodb):
    settings = Settings(backend="aws", endpoint_url=aws_env, metrics_table=aws_tables[0],
                        series_table=aws_tables[1], exports=False)
    services = build_serve(settings, clients=AwsClients(dynamodb=dynamodb))
    services.api.query.list_metrics()
    services.close()
    assert _pooled_connections(dynamodb) == 1, "the caller owns the client it passed in"
