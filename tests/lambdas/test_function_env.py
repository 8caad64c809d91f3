"""Each function reads exactly its variables of `config.FUNCTION_ENV` (what infra/ sets for
it), and no other Weir variable, even when every one of them is set."""

from __future__ import annotations

import os

import pytest

from weir import config

from .conftest import apigw_event, context, scheduled_event

WEIR_NAMES = {v for k, v in vars(config).items() if k.startswith("ENV_") and isinstance(v, str)}

STREAM_EVENT = {"Records": [{
    "eventID": "1", "eventName": "REMOVE", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
    "awsRegion": "us-east-1", "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x",
    "dynamodb": {"Keys": {"pk": {"S": "pend#cpu"}, "timestamp": {"N": "0"}}, "SequenceNumber": "1",
                 "SizeBytes": 10, "StreamViewType": "NEW_AND_OLD_IMAGES"}}]}


class Recording(dict):
    """os.environ as a dict that remembers every name asked for."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.read: set[str] = set()

    def get(self, k, default=None):
        self.read.add(k)
        return super().get(k, default)

    def __getitem__(self, k):
        self.read.add(k)
        return super().__getitem__(k)

    def __contains__(self, k):
        self.read.add(k)
        return super().__contains__(k)


def invoke(function: str):
    from weir.lambdas import alerts, api, exporter, stream

    if function == "api":
        response = api.handler(apigw_event("get_health"), context())
        assert response["statusCode"] == 200, response
    elif function == "stream":
        assert stream.handler(STREAM_EVENT, context()) == {"batchItemFailures": []}
    elif function == "alerts":
        assert alerts.handler(scheduled_event(), context())["failed"] == 0
    else:
        assert len(exporter.handler(scheduled_event(), context())["exported"]) == 1  # the last closed hour, empty


def test_the_mapping_covers_the_four_functions_and_never_the_region():
    assert set(config.FUNCTION_ENV) == {"api", "stream", "alerts", "exporter"}
    for names in config.FUNCTION_ENV.values():
        assert set(names) <= WEIR_NAMES and not set(names) & set(config.REGION_ENV)
        assert len(set(names)) == len(names)
    assert all(set(config.REQUIRED_ENV[f]) <= set(config.FUNCTION_ENV[f]) for f in config.FUNCTION_ENV)


@pytest.mark.parametrize("function", ["api", "stream", "alerts", "exporter"])
def test_each_function_reads_exactly_its_variables(function, alerts_env, exporter_env, monkeypatch):
    from weir.lambdas import runtime

    for name in WEIR_NAMES - set(os.environ):  # every other Weir variable set too, to catch reading it
        monkeypatch.setenv(name, "/tmp/not-for-this-function" if name.endswith("_DIR") else "x")
    monkeypatch.setenv(config.ENV_RETENTION, "30d")
    monkeypatch.setenv(config.ENV_EXPORT_FORMAT, "jsonl")
    recording = Recording(os.environ)
    runtime.reset()
    with monkeypatch.context() as patch:
        patch.setattr(os, "environ", recording)
        invoke(function)
    runtime.reset()
    assert recording.read & WEIR_NAMES == set(config.FUNCTION_ENV[function])
