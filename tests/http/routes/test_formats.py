"""The wire-format routes through the resolver as the `api` Lambda calls it."""

from __future__ import annotations

from weir.http.app import build_app


def test_lambda_style_base64_bodies(tmp_path):
    """API Gateway hands binary bodies (protobuf, gzip) to the Lambda base64-encoded."""
    import base64
    import gzip
    import time

    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as svc

    from weir.config import Settings
    from weir.http.gateway import LambdaContext, build_event
    from weir.wiring.serve import build_serve

    services = build_serve(Settings(data_dir=tmp_path))
    try:
        deadline = time.time() + 20
        while not services.api.store.ready() and time.time() < deadline:
            time.sleep(0.01)
        app = build_app(services.api)
        req = svc.ExportMetricsServiceRequest()
        m = req.resource_metrics.add().scope_metrics.add().metrics.add()
        m.name = "lambda_b64"
        dp = m.gauge.data_points.add()
        dp.time_unix_nano, dp.as_double = time.time_ns(), 4.5
        body = gzip.compress(req.SerializeToString())
        headers = {"content-type": "application/x-protobuf", "content-encoding": "gzip"}
        scope = {"method": "POST", "path": "/v1/metrics", "query_string": b""}
        event = build_event(scope, headers, b"")
        event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)
        out = app.resolve(event, LambdaContext())
        assert out["statusCode"] == 200, out
        assert out["isBase64Encoded"] is True  # protobuf answer, base64 for API Gateway
        assert svc.ExportMetricsServiceResponse.FromString(base64.b64decode(out["body"])).ByteSize() == 0
        line = build_event({"method": "POST", "path": "/write", "query_string": b"precision=s"},
                           {"content-encoding": "gzip"}, b"")
        line.update(body=base64.b64encode(gzip.compress(f"lambda_b64 value=1 {int(time.time())}".encode())).decode(),
                    isBase64Encoded=True)
        assert app.resolve(line, LambdaContext())["statusCode"] == 204
        assert [s.name for s in services.api.store.series_of("lambda_b64")] == ["lambda_b64"]
    finally:
        services.close()
