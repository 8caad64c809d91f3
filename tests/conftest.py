from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, settings

from tests.helpers import WeirProcess, ui_build

# Hypothesis' time limits measure the machine, not the code: its 200 ms per-example deadline
# and its too_slow health check fail property tests on a loaded CI runner (and a deadline
# overrun that does not repeat is reported as a flaky failure). Neither is used here. On CI
# (CI set, as CI services do) the examples are also derandomized and no example database is
# read: each CI run checks the same cases, and a failure reproduces from the commit alone.
# Registered here, before any test module is imported, so every @settings inherits it; a
# test that lists its own suppress_health_check must list too_slow as well.
settings.register_profile("weir", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("weir-ci", parent=settings.get_profile("weir"), derandomize=True, database=None)
settings.load_profile("weir-ci" if os.environ.get("CI") else "weir")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One `weir serve` per test module, on loopback, in a fresh data folder."""
    proc = WeirProcess(tmp_path_factory.mktemp("weir") / "data")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def built_ui():
    """The web UI's build folder (built once per session when stale), or None when Node.js is absent."""
    dist, why = ui_build()
    return dist, why


@pytest.fixture
def api(server):
    return server.http


@pytest.fixture(scope="session")
def moto_server():
    """The one moto server of the test session, on loopback; yields its endpoint URL.

    Dummy credentials and region are set for the session, so no test can reach AWS.
    """
    import os

    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in _AWS_ENV}
    os.environ.update(_AWS_ENV)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


@pytest.fixture(scope="session")
def moto_endpoint(moto_server):
    """The same server under the name the files tests use."""
    return moto_server


def aws_client(service: str, endpoint_url: str):
    """A real boto3 client against the moto server, with throwaway credentials passed explicitly."""
    import boto3

    return boto3.client(
        service, endpoint_url=endpoint_url, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )


@pytest.fixture
def s3_bucket(moto_server):
    """A fresh private bucket per test: (client, bucket name)."""
    import uuid

    client = aws_client("s3", moto_server)
    name = f"weir-test-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    client.put_public_access_block(
        Bucket=name,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
        },
    )
    return client, name


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


@pytest.fixture
def alerts_table(dynamodb):
    """A fresh alert-configuration table (ALERTS_TABLE_SCHEMA) per test; yields its name."""
    import uuid

    from weir.backends.aws.tables import ALERTS_TABLE_SCHEMA

    name = f"weir-alerts-{uuid.uuid4().hex[:10]}"
    dynamodb.create_table(TableName=name, **ALERTS_TABLE_SCHEMA)
    yield name
    dynamodb.delete_table(TableName=name)


class FakeClock:
    """The one clock tests move by hand: `clock()` is epoch seconds, like `time.time`.

    Kept in integer nanoseconds, so `clock.ns += 10 * NS` stays exact (alert deliveries are
    compared to the nanosecond); `clock.t` reads and sets it in seconds. Starts at `t`
    (seconds), or `ns`, or now.
    """

    def __init__(self, t: float | None = None, *, ns: int | None = None) -> None:
        self.ns = ns if ns is not None else round((time.time() if t is None else t) * 1_000_000_000)

    @property
    def t(self) -> float:
        return self.ns / 1_000_000_000

    @t.setter
    def t(self, seconds: float) -> None:
        self.ns = round(seconds * 1_000_000_000)

    def __call__(self) -> float:
        return self.ns / 1_000_000_000


@pytest.fixture
def no_scan():
    """`no_scan(client)` records the DynamoDB calls of `client` and returns their names; the
    test fails if any was a Scan. Weir never scans a table (its IAM policies grant no Scan,
    tests/infra), so every backend's contract suite runs its DynamoDB store under this.
    Request it before the store's fixture, so the check also covers the store's `close`."""
    watched: list[tuple[object, object, list[str]]] = []

    def watch(client) -> list[str]:
        calls: list[str] = []

        def record(model, **_):
            calls.append(model.name)

        client.meta.events.register("before-call.dynamodb", record)
        watched.append((client, record, calls))
        return calls

    yield watch
    for client, record, calls in watched:
        client.meta.events.unregister("before-call.dynamodb", record)
        assert "Scan" not in calls, "a store operation scanned a DynamoDB table"

