"""Weir's botocore session: botocore's clients and models, without walking every service folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import botocore
import pytest
from botocore.exceptions import UnknownServiceError
from botocore.loaders import Loader
from botocore.session import get_session

from weir.backends.aws.session import LeanLoader, aws_client, new_session
from weir.config import MissingSettingError

BOTOCORE_DATA = Path(botocore.__file__).parent / "data"


@pytest.fixture
def region(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def count_listdir(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = os.listdir

    def listdir(path="."):
        calls.append(str(path))
        return real(path)

    monkeypatch.setattr(os, "listdir", listdir)
    return calls


@pytest.mark.parametrize("service", ["dynamodb", "s3", "sns"])
def test_clients_are_botocores_own(region, service):
    session = new_session()
    assert isinstance(session.get_component("data_loader"), LeanLoader)
    lean = aws_client(service, session=session)
    plain = get_session().create_client(service)
    assert lean.meta.service_model.operation_names == plain.meta.service_model.operation_names
    assert lean.meta.service_model.api_version == plain.meta.service_model.api_version
    assert lean.meta.endpoint_url == plain.meta.endpoint_url and lean.meta.region_name == "eu-west-1"


def test_creating_a_client_looks_in_its_own_folder_not_all_of_them(region, monkeypatch):
    calls = count_listdir(monkeypatch)
    get_session().create_client("dynamodb")
    walked = len(calls)
    assert walked > 400  # botocore's own check lists every service folder it ships
    calls.clear()
    aws_client("dynamodb", session=new_session())
    assert len(calls) < 10, calls
    assert all("dynamodb" in c or c.endswith("models") for c in calls)


def test_an_unknown_service_is_botocores_error_with_the_known_names(region):
    with pytest.raises(UnknownServiceError) as err:
        aws_client("dynamodbx", session=new_session())
    assert "dynamodbx" in str(err.value) and "dynamodb, " in str(err.value)


def test_the_service_list_is_botocores_list_when_read_whole():
    lean, plain = LeanLoader(), Loader()
    names = lean.list_available_services("service-2")
    expected = plain.list_available_services("service-2")
    assert "sns" in names and "no-such-service" not in names and 42 not in names
    assert list(names) == expected and len(names) == len(expected) and names[0] == expected[0]


def test_aws_data_path_is_searched(region, monkeypatch, tmp_path):
    """A model under AWS_DATA_PATH (a private or preview service) loads, as with botocore."""
    shutil.copytree(BOTOCORE_DATA / "sns", tmp_path / "weir-private-sns")
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    client = aws_client("weir-private-sns", session=new_session())
    assert "Publish" in client.meta.service_model.operation_names
    monkeypatch.delenv("AWS_DATA_PATH")
    with pytest.raises(UnknownServiceError):
        aws_client("weir-private-sns", session=new_session())


def test_without_a_region_the_error_names_the_variable(monkeypatch, tmp_path):
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(MissingSettingError, match="AWS_DEFAULT_REGION"):
        aws_client("dynamodb", session=new_session())
