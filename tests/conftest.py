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


@pytest.fixture(scope="session")
def moto_endpoint():
    """One moto server per test session, on loopback; yields its URL.

    Credentials and region are dummies set for the session, so no test can reach AWS.
    """
    import os

    from moto.server import ThreadedMotoServer

    from tests.helpers import free_port

    saved = {k: os.environ.get(k) for k in _AWS_ENV}
    os.environ.update(_AWS_ENV)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
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
