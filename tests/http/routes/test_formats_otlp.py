"""OTLP/HTTP metrics over loopback: the real OpenTelemetry SDK and exporter, queried back through Weir."""

from __future__ import annotations

import gzip
import time

import pytest
from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import Observation
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as svc
from opentelemetry.sdk.metrics import Counter, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    InMemoryMetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource

RESOURCE = Resource.create({"service.name": "shop", "deployment.environment.name": "test", "team": "core"})


def series(api, name):
    r = api.get(f"/metrics/{name}/series")
    assert r.status == 200, r
    return r.json()["series"]


_ACROSS_PERIODS = {"max": max, "min": min, "sum": sum, "count": sum}


def stat(api, name, stat="max", **dims):
    """The statistic over the points of the last ten minutes. The query's periods are hours,
    and two exports a moment apart can still fall either side of an hour boundary, so the
    periods' values are combined (the max of the maxes, the sum of the sums and counts)."""
    params = {"start": "-10m", "period": "1h", "stat": stat, **{f"dim.{k}": v for k, v in dims.items()}}
    r = api.get(f"/metrics/{name}", params=params)
    assert r.status == 200, r
    values = [p[stat] for g in r.json()["groups"] for p in g["datapoints"]]
    return _ACROSS_PERIODS[stat](values) if values else None


def provider_for(server, **exporter_kw):
    exporter = OTLPMetricExporter(endpoint=f"{server.url}/v1/metrics", **exporter_kw)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    return MeterProvider(resource=RESOURCE, metric_readers=[reader])


def record_all(meter, prefix: str) -> None:
    meter.create_counter(f"{prefix}.orders", unit="{order}").add(3, {"region": "eu"})
    q = meter.create_up_down_counter(f"{prefix}.queue")
    q.add(5)
    q.add(-2)
    h = meter.create_histogram(f"{prefix}.latency", unit="ms", explicit_bucket_boundaries_advisory=[10.0, 100.0])
    for v in (5, 50, 500):
        h.record(v, {"route": "/pay"})
    meter.create_gauge(f"{prefix}.temp", unit="Cel").set(21.5)
    meter.create_observable_gauge(f"{prefix}.load", callbacks=[lambda _opts: [Observation(0.75, {"cpu": "0"})]])


def check_all(api, prefix: str) -> None:
    [orders] = series(api, f"{prefix}.orders")
    assert orders["type"] == "counter" and orders["unit"] == "{order}"
    dims = orders["dimensions"]
    assert dims["region"] == "eu" and dims["service.name"] == "shop" and dims["team"] == "core"
    assert dims["deployment.environment.name"] == "test" and dims["otel.scope.name"] == "checkout"
    assert dims["otel.scope.version"] == "1.2"
    assert not any(k.startswith("telemetry.") for k in dims)
    assert stat(api, f"{prefix}.orders") == 3.0
    [queue] = series(api, f"{prefix}.queue")
    assert queue["type"] == "gauge" and stat(api, f"{prefix}.queue") == 3.0
    assert stat(api, f"{prefix}.latency.count") == 3.0
    assert stat(api, f"{prefix}.latency.sum") == 555.0
    assert stat(api, f"{prefix}.latency.min") == 5.0 and stat(api, f"{prefix}.latency.max") == 500.0
    buckets = {s["dimensions"]["le"]: stat(api, f"{prefix}.latency.bucket", le=s["dimensions"]["le"])
               for s in series(api, f"{prefix}.latency.bucket")}
    assert buckets == {"10": 1.0, "100": 2.0, "+Inf": 3.0}
    assert {s["unit"] for s in series(api, f"{prefix}.latency.sum")} == {"ms"}
    assert stat(api, f"{prefix}.temp") == 21.5
    assert stat(api, f"{prefix}.load", cpu="0") == 0.75


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip])
def test_sdk_exporter_protobuf(server, api, compression):
    prefix = f"otel_{compression.value}"
    provider = provider_for(server, compression=compression)
    record_all(provider.get_meter("checkout", "1.2"), prefix)
    assert provider.force_flush(10_000)
    provider.shutdown()
    check_all(api, prefix)


def test_delta_temporality_sums(server, api):
    provider = provider_for(server, preferred_temporality={Counter: AggregationTemporality.DELTA})
    c = provider.get_meter("checkout", "1.2").create_counter("otel_delta.orders")
    c.add(2)
    assert provider.force_flush(10_000)
    c.add(5)
    assert provider.force_flush(10_000)
    provider.shutdown()
    # Each export carries the increase since the previous one; the sum statistic adds them up.
    assert stat(api, "otel_delta.orders", "sum") == 7.0
    assert stat(api, "otel_delta.orders", "count") == 2


def sdk_request(prefix: str) -> svc.ExportMetricsServiceRequest:
    reader = InMemoryMetricReader()
    provider = MeterProvider(resource=RESOURCE, metric_readers=[reader])
    record_all(provider.get_meter("checkout", "1.2"), prefix)
    data = reader.get_metrics_data()
    provider.shutdown()
    return encode_metrics(data)


@pytest.mark.parametrize("use_gzip", [False, True])
def test_sdk_data_as_otlp_json(api, use_gzip):
    prefix = f"otel_json_{int(use_gzip)}"
    body = json_format.MessageToJson(sdk_request(prefix))
    r = api.post("/v1/metrics", body=body, headers={"Content-Type": "application/json"}, gzip=use_gzip)
    assert r.status == 200, r
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {}
    check_all(api, prefix)


def gauge_request(name: str, values, attrs=None) -> svc.ExportMetricsServiceRequest:
    req = svc.ExportMetricsServiceRequest()
    m = req.resource_metrics.add().scope_metrics.add().metrics.add()
    m.name = name
    now = time.time_ns()
    for v in values:
        dp = m.gauge.data_points.add()
        dp.time_unix_nano = now
        dp.as_double = v
        for k, val in (attrs or {}).items():
            kv = dp.attributes.add()
            kv.key = k
            kv.value.string_value = val
        now += 1
    return req


def test_partial_success_protobuf(api):
    req = gauge_request("otel_partial", [1.0, float("nan"), 2.0])
    r = api.post("/v1/metrics", body=req.SerializeToString(), headers={"Content-Type": "application/x-protobuf"})
    assert r.status == 200, r
    assert r.headers["content-type"] == "application/x-protobuf"
    resp = svc.ExportMetricsServiceResponse.FromString(r.body)
    assert resp.partial_success.rejected_data_points == 1
    assert "data point 1" in resp.partial_success.error_message
    assert "finite" in resp.partial_success.error_message
    assert stat(api, "otel_partial", "count") == 2


def test_partial_success_json_counts_data_points_not_weir_points(api):
    req = svc.ExportMetricsServiceRequest()
    m = req.resource_metrics.add().scope_metrics.add().metrics.add()
    m.name = "otel_hist_partial"
    for bounds, counts in (([1.0], [1, 1]), ([1.0, 2.0], [1, 1])):  # the second is inconsistent
        dp = m.histogram.data_points.add()
        dp.time_unix_nano = time.time_ns()
        dp.count, dp.sum = sum(counts), 3.0
        dp.explicit_bounds.extend(bounds)
        dp.bucket_counts.extend(counts)
    r = api.post("/v1/metrics", body=json_format.MessageToJson(req), headers={"Content-Type": "application/json"})
    out = r.json()["partialSuccess"]
    assert out["rejectedDataPoints"] == "1"
    assert "bucketCounts" in out["errorMessage"]
    assert stat(api, "otel_hist_partial.count") == 2.0


def test_attribute_bound_of_30_dimensions(api):
    req = gauge_request("otel_wide", [1.0], {f"a{i}": "x" for i in range(29)})
    res = req.resource_metrics[0].resource
    for k, v in (("service.name", "wide"), ("zone", "z1"), ("telemetry.sdk.name", "opentelemetry")):
        kv = res.attributes.add()
        kv.key, kv.value.string_value = k, v
    r = api.post("/v1/metrics", body=req.SerializeToString(), headers={"Content-Type": "application/x-protobuf"})
    resp = svc.ExportMetricsServiceResponse.FromString(r.body)
    assert resp.partial_success.rejected_data_points == 0
    assert "beyond 30 dimensions" in resp.partial_success.error_message
    [s] = series(api, "otel_wide")
    assert len(s["dimensions"]) == 30 and s["dimensions"]["service.name"] == "wide"
    assert "zone" not in s["dimensions"]


def test_everything_rejected_is_400_status(api):
    req = gauge_request("otel_all_bad", [float("inf")])
    r = api.post("/v1/metrics", body=req.SerializeToString(), headers={"Content-Type": "application/x-protobuf"})
    assert r.status == 400
    from google.rpc import status_pb2

    st = status_pb2.Status.FromString(r.body)
    assert st.code == 3 and "finite" in st.message


@pytest.mark.parametrize("ctype, body, status, fragment", [
    ("application/x-protobuf", b"\xff\xff\xff", 400, "not an OTLP protobuf"),
    ("application/json", b'{"resourceMetrics": 5}', 400, "not an OTLP/JSON"),
    ("application/json", b'{"resourceMetrics": [' * 5000, 400, "not an OTLP/JSON"),
    ("text/plain", b"x", 415, "content-type"),
    ("application/json", b"", 400, "empty"),
])
def test_malformed_requests(api, ctype, body, status, fragment):
    r = api.post("/v1/metrics", body=body, headers={"Content-Type": ctype})
    assert r.status == status, r
    if ctype == "application/x-protobuf":
        from google.rpc import status_pb2

        assert fragment in status_pb2.Status.FromString(r.body).message
    else:
        assert fragment in r.json()["message"]


def test_point_limit_counts_after_expansion(api):
    req = svc.ExportMetricsServiceRequest()
    m = req.resource_metrics.add().scope_metrics.add().metrics.add()
    m.name = "otel_big"
    for _i in range(3):  # 3 data points x (4,000 buckets + count + sum) > 10,000
        dp = m.histogram.data_points.add()
        dp.time_unix_nano = time.time_ns()
        dp.explicit_bounds.extend(float(b) for b in range(3_999))
        dp.bucket_counts.extend([1] * 4_000)
        dp.count, dp.sum = 4_000, 1.0
    body = gzip.compress(req.SerializeToString())
    r = api.post("/v1/metrics", body=body, headers={"Content-Type": "application/x-protobuf",
                                                    "Content-Encoding": "gzip"})
    assert r.status == 413
    assert api.get("/metrics/otel_big.count").status == 404
