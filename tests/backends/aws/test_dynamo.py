"""Who retries DynamoDB calls, counted in HTTP attempts: one layer, `Dynamo`, with one budget
per call. Failures are injected under botocore's retry handler (its `before-send` event, on
the client Weir builds for every function), so every attempt either layer makes is seen;
the calls that get through go to the session's moto server."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError

from weir.backends.aws.dynamo import Dynamo
from weir.backends.aws.tables import ALERTS_TABLE_SCHEMA
from weir.errors import StorageError
from weir.wiring.aws import AwsClients


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_):
        yield self.data


class Faults:
    """Counts the HTTP attempts per operation; the next `fail[op]` attempts of an operation
    get `kind` (a throttling answer, a 500, or a closed connection) instead of moto's."""

    def __init__(self, client, kind: str = "throttle") -> None:
        self.kind = kind
        self.fail: dict[str, int] = {}
        self.attempts: dict[str, int] = {}
        client.meta.events.register("before-send.dynamodb", self.before_send)

    def before_send(self, request, **_):
        op = request.headers["X-Amz-Target"].decode().rpartition(".")[2]
        self.attempts[op] = self.attempts.get(op, 0) + 1
        if self.fail.get(op, 0) <= 0:
            return None  # sent for real
        self.fail[op] -= 1
        if self.kind == "connection":
            raise ConnectionClosedError(endpoint_url=request.url)
        status, code = (400, "ProvisionedThroughputExceededException") if self.kind == "throttle" else (
            500, "InternalServerError")
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"}).encode()
        return AWSResponse(request.url, status, {"x-amzn-RequestId": uuid.uuid4().hex,
                                                 "Content-Type": "application/x-amz-json-1.0"}, _Body(body))


@pytest.fixture
def clients(aws_env):
    c = AwsClients(aws_env)
    yield c
    c.close()


@pytest.fixture
def table(clients):
    client = clients.get("dynamodb")
    name = f"weir-dynamo-{uuid.uuid4().hex[:10]}"
    client.create_table(TableName=name, **ALERTS_TABLE_SCHEMA)
    yield name
    client.delete_table(TableName=name)


def item(i: int) -> dict:
    return {"pk": {"S": f"k{i}"}, "sk": {"S": "v"}}


@pytest.mark.parametrize("kind", ["throttle", "server", "connection"])
def test_a_call_that_keeps_failing_makes_max_attempts_http_attempts_in_all(clients, table, kind):
    sleeps: list[float] = []
    db = Dynamo(clients.get("dynamodb"), sleep=sleeps.append)
    faults = Faults(db.client, kind)
    faults.fail["PutItem"] = 1000
    with pytest.raises(StorageError, match="nothing of this request was acknowledged"):
        db.call("put_item", table, Item=item(1))
    assert faults.attempts["PutItem"] == db.max_attempts  # not max_attempts times botocore's own
    assert len(sleeps) == db.max_attempts - 1 and sum(sleeps) <= db.worst_case_backoff()


@pytest.mark.parametrize("kind", ["throttle", "server", "connection"])
def test_a_call_that_recovers_is_applied_once(clients, table, kind):
    db = Dynamo(clients.get("dynamodb"), sleep=lambda s: None)
    faults = Faults(db.client, kind)
    faults.fail["PutItem"] = 3
    db.call("put_item", table, Item={**item(1), "n": {"N": "1"}})
    assert faults.attempts["PutItem"] == 4
    got = db.call("get_item", table, Key=item(1), ConsistentRead=True)["Item"]
    assert got["n"] == {"N": "1"}


def test_batch_writes_and_transactions_share_the_one_budget(clients, table):
    db = Dynamo(clients.get("dynamodb"), sleep=lambda s: None)
    faults = Faults(db.client)
    faults.fail["BatchWriteItem"] = 1000
    with pytest.raises(StorageError, match="unprocessed after 8 attempts"):
        db.batch_write(table, [{"PutRequest": {"Item": item(i)}} for i in range(3)])
    assert faults.attempts["BatchWriteItem"] == db.max_attempts
    faults.fail["TransactWriteItems"] = 1000
    with pytest.raises(StorageError, match="after 8 attempts"):
        db.transact(table, [{"Put": {"TableName": table, "Item": item(9)}}])
    assert faults.attempts["TransactWriteItems"] == db.max_attempts
    faults.fail.clear()
    db.batch_write(table, [{"PutRequest": {"Item": item(i)}} for i in range(3)])
    assert len(db.batch_get(table, [item(i) for i in range(3)])) == 3


def test_a_transaction_resent_after_a_lost_connection_keeps_its_token(clients, table):
    """Resent after a connection error (it may have been applied) with the same client
    request token, which DynamoDB makes idempotent; so the put lands once."""
    db = Dynamo(clients.get("dynamodb"), sleep=lambda s: None)
    tokens: list[str] = []
    db.client.meta.events.register(
        "before-send.dynamodb.TransactWriteItems",
        lambda request, **_: tokens.append(json.loads(request.body)["ClientRequestToken"]))
    faults = Faults(db.client, "connection")
    faults.fail["TransactWriteItems"] = 2
    assert db.transact(table, [{"Put": {"TableName": table, "Item": item(5)}}]) is None
    assert len(tokens) == 3 and len(set(tokens)) == 1
