"""OpenAPI entries for the wire-format routes (`weir.http.routes.formats`), merged into ROUTES."""

from __future__ import annotations

from weir.metrics import limits


def _err(*codes: int) -> dict:
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    return {str(c): {"description": "Error", "content": body} for c in codes}


def _otlp_err(*codes: int) -> dict:
    """OTLP errors are a google.rpc.Status in the request's encoding (protobuf or JSON)."""
    out = _err(*codes)
    for spec in out.values():
        spec["content"]["application/x-protobuf"] = {"schema": {"type": "string", "format": "binary",
                                                                "description": "google.rpc.Status"}}
    return out


_PRECISION = {
    "name": "precision", "in": "query",
    "description": "Unit of the line timestamps: ns (default), us, ms, s (also n, u, m, h)",
    "schema": {"type": "string", "default": "ns"},
}
_IGNORED = [
    {"name": n, "in": "query", "description": "Accepted for compatibility and ignored: Weir has one namespace",
     "schema": {"type": "string"}}
    for n in ("db", "rp", "consistency", "u", "p", "org", "orgID", "bucket")
]
_LINES = {
    "required": True,
    "content": {"text/plain": {"schema": {
        "type": "string",
        "description": "`measurement[,tag=value...] field=value[,field=value...] [timestamp]`, one per line",
    }}},
}
_WRITE = {
    "description": (
        "InfluxDB line protocol. Each field is one point named `<measurement>.<field>` (just "
        "`<measurement>` for a field called `value`); tags are dimensions; integer, float and "
        f"boolean fields are stored as numbers, string fields are rejected. At most "
        f"{limits.MAX_POINTS_PER_REQUEST} points (fields) and {limits.MAX_BODY_BYTES} bytes; gzip accepted."
    ),
    "parameters": [_PRECISION, *_IGNORED],
    "requestBody": _LINES,
    "responses": {
        "204": {"description": "Every point was stored"},
        **_err(400, 413, 415, 503),
    },
}
_GROUPING = {
    "name": "grouping", "in": "path", "required": True,
    "description": "`<job>` then any number of `/<label>/<value>` pairs; `<label>@base64/<base64url>` "
                   "for values with `/` or empty values",
    "schema": {"type": "string"},
}
_PUSH_BODY = {
    "required": False,
    "content": {"text/plain": {"schema": {"type": "string", "description": "Prometheus text format 0.0.4"}}},
}
_PUSH_OK = {"200": {"description": "Stored", "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/IngestResult"}}}}}
_OTLP_BODY = {
    "required": True,
    "content": {
        "application/x-protobuf": {"schema": {"type": "string", "format": "binary",
                                              "description": "ExportMetricsServiceRequest"}},
        "application/json": {"schema": {"type": "object", "description": "ExportMetricsServiceRequest (OTLP/JSON)"}},
    },
}

_SNAPPY_PROTOBUF = {"application/x-protobuf": {"schema": {"type": "string", "format": "binary"}}}
_WRITTEN = {f"X-Prometheus-Remote-Write-{k}-Written": {
    "description": f"{k} stored (2.0 requests only)", "schema": {"type": "integer"}}
    for k in ("Samples", "Histograms", "Exemplars")}

FORMAT_ROUTES: dict[tuple[str, str], dict] = {
    ("post", "/api/v1/write"): {
        "summary": "Prometheus remote write 1.0 and 2.0",
        "description": (
            "A snappy-compressed (block format) protobuf: `prometheus.WriteRequest` (Content-Type "
            "`application/x-protobuf`, or with `proto=prometheus.WriteRequest`) or "
            "`io.prometheus.write.v2.Request` (`proto=io.prometheus.write.v2.Request`). Each float sample "
            "is a point named by `__name__`, the other labels its dimensions. A series Weir cannot store "
            "(labels, native histograms, a NaN, an instant out of the retention window) is dropped whole "
            "and named in a 400; the others are stored. Exemplars are skipped. At most "
            f"{limits.MAX_POINTS_PER_REQUEST} samples per request."
        ),
        "requestBody": {"required": True, "content": _SNAPPY_PROTOBUF},
        "responses": {"204": {"description": "Every series was stored", "headers": _WRITTEN},
                      **_err(400, 413, 415, 429, 503)},
    },
    ("post", "/api/v1/read"): {
        "summary": "Prometheus remote read (SAMPLES)",
        "description": (
            "A snappy-compressed `prometheus.ReadRequest`; answers a snappy-compressed `ReadResponse` "
            "with raw samples (matchers `=`, `!=`, `=~`, `!~`, fully anchored; hints ignored). Bounded: "
            "a read past its sample limit or answer size is a 400 saying so."
        ),
        "requestBody": {"required": True, "content": _SNAPPY_PROTOBUF},
        "responses": {"200": {"description": "ReadResponse", "content": _SNAPPY_PROTOBUF},
                      **_err(400, 413, 415, 503)},
    },
    ("post", "/write"): {"summary": "InfluxDB 1.x write (line protocol)", **_WRITE},
    ("post", "/api/v2/write"): {"summary": "InfluxDB 2.x write (line protocol)", **_WRITE},
    **{(method, "/ping"): {
        "summary": "InfluxDB liveness probe",
        "description": "As InfluxDB's /ping, for Telegraf and influxdb-client's ping(): no key needed.",
        "responses": {"204": {"description": "Up", "headers": {
            "X-Influxdb-Version": {"schema": {"type": "string"}, "description": "1.8-weir-<Weir's version>"},
            "X-Influxdb-Build": {"schema": {"type": "string"}}}}},
    } for method in ("get", "head")},
    ("put", "/metrics/job/{grouping}"): {
        "summary": "Pushgateway push: replace the group",
        "description": "Stores the samples; the group's membership becomes this push's series.",
        "parameters": [_GROUPING], "requestBody": _PUSH_BODY,
        "responses": {**_PUSH_OK, **_err(400, 413, 415, 501, 503)},
    },
    ("post", "/metrics/job/{grouping}"): {
        "summary": "Pushgateway push: add to the group",
        "description": "Stores the samples; replaces the group's membership of the pushed metric families only.",
        "parameters": [_GROUPING], "requestBody": _PUSH_BODY,
        "responses": {**_PUSH_OK, **_err(400, 413, 415, 501, 503)},
    },
    ("delete", "/metrics/job/{grouping}"): {
        "summary": "Pushgateway delete: forget the group's membership (stored points stay)",
        "parameters": [_GROUPING],
        "responses": {"202": {"description": "Done; `deleted` says whether the group existed"}, **_err(400, 501)},
    },
    ("get", "/pushgateway/groups"): {
        "summary": "Pushgateway groups, their last push and member series",
        "responses": {"200": {"description": "OK"}, **_err(501)},
    },
    ("post", "/v1/metrics"): {
        "summary": "OpenTelemetry OTLP/HTTP metrics export",
        "description": (
            "Protobuf or JSON, gzip accepted. Answers an ExportMetricsServiceResponse in the "
            "request's encoding, with `partial_success` when data points were rejected; errors are a "
            f"google.rpc.Status. At most {limits.MAX_POINTS_PER_REQUEST} Weir points after expanding "
            "histograms and summaries."
        ),
        "requestBody": _OTLP_BODY,
        "responses": {"200": {"description": "Accepted (see partial_success)"}, **_otlp_err(400, 413, 415, 503)},
    },
}
