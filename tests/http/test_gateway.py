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


def test_bodies_being_read_share_a_bounded_buffer():
    """Uploads in progress may hold at most `max_buffered` bytes together: one more is a 503
    with Retry-After, and what a finished request held is given back (issue 18, bug 8)."""
    def handler(event, context):
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}

    gateway = LocalGateway(handler, max_buffered=1000)

    async def main():
        first_rest: asyncio.Queue = asyncio.Queue()
        first_sent: list = []
        first_parts = [{"type": "http.request", "body": b"x" * 800, "more_body": True}]

        async def first_receive():
            return first_parts.pop(0) if first_parts else await first_rest.get()

        async def first_send(message):
            first_sent.append(message)

        first = asyncio.ensure_future(gateway(scope(), first_receive, first_send))
        while gateway.buffered < 800:  # the first upload holds 800 bytes and waits for more
            await asyncio.sleep(0)
        sent, call = run_request(gateway, body=b"y" * 300)
        await call
        assert sent[0]["status"] == 503 and (b"retry-after", b"1") in sent[0]["headers"]
        first_rest.put_nowait({"type": "http.request", "body": b"", "more_body": False})
        await first
        assert first_sent[0]["status"] == 200 and gateway.buffered == 0
        sent, call = run_request(gateway, body=b"y" * 300)
        await call
        assert sent[0]["status"] == 200 and gateway.buffered == 0

    asyncio.run(main())
