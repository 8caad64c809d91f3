from __future__ import annotations

import boto3
import pytest

REGION = "eu-west-1"


@pytest.fixture(scope="session")
def aws(moto_server):
    """A client factory bound to the session's moto server (tests/conftest.py), explicit region and keys."""

    def client(service: str):
        return boto3.client(service, endpoint_url=moto_server, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    return client
