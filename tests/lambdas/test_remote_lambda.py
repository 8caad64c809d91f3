"""Remote write and read through the `api` handler, as API Gateway delivers them (binary bodies
base64-encoded, `x-api-key` passed through), over DynamoDB on moto."""

from __future__ import annotations

import base64
import time

from weir.wire import pb
from weir.wire import remote_encode as enc
from weir.wire import remote_write as rw

from .conftest import apigw_event, context

NOW_MS = (int(time.time()) // 60 - 10) * 60_000


def call(path: str, body: bytes, headers: dict[str, str]) -> dict:
    from weir.lambdas import api

    ev = apigw_event("post_metrics_batch")
    hdrs = {**{k: v for k, v in ev["headers"].items() if k != "Content-Type"}, **headers,
            "x-api-key": "key-checked-by-api-gateway"}
    ev.update(path=path, body=base64.b64encode(pb.snappy(body)).decode(), isBase64Encoded=True, headers=hdrs,
              multiValueHeaders={k: [v] for k, v in hdrs.items()})
    ev["pathParameters"] = {"proxy": path.lstrip("/")}
    return api.handler(ev, context())


def test_remote_write_then_read_through_the_handler(lambda_env):
    labels = {"__name__": "lambda_rw_temp", "room": "Küche/1 OG"}
    body = enc.write_request_v2([enc.SeriesV2(labels, [(NOW_MS, 19.5), (NOW_MS + 15_000, 20.0)], type="gauge")])
    out = call("/api/v1/write", body, {"Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request",
                                       "Content-Encoding": "snappy"})
    assert out["statusCode"] == 204, out
    headers = {k.lower(): v[0] for k, v in out["multiValueHeaders"].items()}
    assert headers["x-prometheus-remote-write-samples-written"] == "2"

    bad = call("/api/v1/write", b"\x0a\xff\xff\x01", {"Content-Type": "application/x-protobuf"})
    assert bad["statusCode"] == 400

    query = enc.read_request([(NOW_MS, NOW_MS + 15_000, [("=", "__name__", "lambda_rw_temp")])])
    out = call("/api/v1/read", query, {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy"})
    assert out["statusCode"] == 200 and out["isBase64Encoded"] is True, out
    headers = {k.lower(): v[0] for k, v in out["multiValueHeaders"].items()}
    assert (headers["content-type"], headers["content-encoding"]) == ("application/x-protobuf", "snappy")
    data = pb.unsnappy(base64.b64decode(out["body"]), 1 << 20)
    [(_, _, result)] = list(pb.fields(data))
    got = rw.Decoder().decode_v1(result)
    assert [e.text for e in got.series] == ['lambda_rw_temp{room="Küche/1 OG"}']
    assert got.samples_of(0) == [(NOW_MS, 19.5), (NOW_MS + 15_000, 20.0)]
