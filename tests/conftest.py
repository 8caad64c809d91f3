from __future__ import annotations

import pytest

from tests.helpers import WeirProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One `weir serve` per test module, on loopback, in a fresh data folder."""
    proc = WeirProcess(tmp_path_factory.mktemp("weir") / "data")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def api(server):
    return server.http


# -- AWS on a moto server ---------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_server():
    """One moto server on loopback for the whole session (DynamoDB and DynamoDB Streams)."""
    import logging

    from moto.server import ThreadedMotoServer

    from tests.helpers import free_port

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws_env(moto_server, monkeypatch):
    """Fake credentials and a region for boto3, and every client pointed at the moto server.

    Set per test (monkeypatch), never for the whole process. AWS_DEFAULT_REGION is what a
    developer's shell would have; Weir's code never sets or requires AWS_REGION.
    """
    for key in ("AWS_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    return moto_server


@pytest.fixture
def dynamodb(aws_env):
    import boto3

    return boto3.client("dynamodb")


@pytest.fixture
def aws_tables(dynamodb):
    """A fresh pair of metrics tables per test: (metrics table, series table)."""
    import uuid

    from weir.backends.aws.tables import create_tables

    suffix = uuid.uuid4().hex[:10]
    names = (f"weir-metrics-{suffix}", f"weir-series-{suffix}")
    create_tables(dynamodb, metrics_table=names[0], series_table=names[1])
    yield names
    for name in names:
        dynamodb.delete_table(TableName=name)
