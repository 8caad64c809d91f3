"""The local gateway: proxy events as API Gateway builds them, and no answer before the
write it acknowledges is durable."""

from __future__ import annotations

import asyncio
import base64
from concurrent.futures import Future

from weir.durability import settle
from weir.errors import StorageError
from weir.http.gateway import LocalGateway, build_event


def scope(method="POST", path="/metrics", qs=b""):
    return {"type": "http", "method": method, "path": path, "query_string": qs,
            "headers": [(b"content-type", b"application/json"), (b"x-a", b"1"), (b"x-a", b"2")],
            "client": ("127.0.0.1", 5000)}


def run_request(gateway, body=b"{}"):
    sent = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    return sent, gateway(scope(), receive, send)


def test_answer_waits_for_the_durable_write():
    future: Future = Future()

    def handler(event, context):
        settle(future)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}

    async def main():
        sent, call = run_request(LocalGateway(handler))
        task = asyncio.ensure_future(call)
        await asyncio.sleep(0.05)
        assert sent == [], "answered before the write was durable"
        future.set_result(None)
        await task
        return sent

    sent = asyncio.run(main())
    assert sent[0]["status"] == 200


def test_failed_durable_write_is_not_acknowledged():
    future: Future = Future()
    future.set_exception(StorageError("disk full"))

    def handler(event, context):
        settle(future)
        return {"statusCode": 200, "body": "{}"}

    async def main():
        sent, call = run_request(LocalGateway(handler))
        await call
        return sent

    sent = asyncio.run(main())
    assert sent[0]["status"] == 503
    assert b"disk full" in sent[1]["body"]


def test_event_shape():
    event = build_event(scope(qs=b"a=1&a=2&b=x"), {"content-type": "application/json"}, b'{"x": 1}')
    assert event["httpMethod"] == "POST" and event["path"] == "/metrics"
    assert event["queryStringParameters"] == {"a": "2", "b": "x"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x"]}
    assert event["body"] == '{"x": 1}' and event["isBase64Encoded"] is False
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"
    binary = build_event(scope(), {}, b"\x1f\x8b\xff")
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\x1f\x8b\xff"
