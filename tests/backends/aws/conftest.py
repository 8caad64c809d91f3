from __future__ import annotations

import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.helpers import free_port

REGION = "eu-west-1"


@pytest.fixture(scope="session")
def moto_server():
    """One moto server per test session, on loopback."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def aws(moto_server):
    """A client factory bound to the moto server (explicit region and dummy keys; no env changes)."""

    def client(service: str):
        return boto3.client(service, endpoint_url=moto_server, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    return client
