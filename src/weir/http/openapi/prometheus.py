"""OpenAPI entries for Prometheus' HTTP API (`weir.http.routes.prometheus`), merged into ROUTES.

The answers use Prometheus' envelope, not Weir's error body: `{"status": "success", "data":
..., "warnings": [...]}` or `{"status": "error", "errorType": ..., "error": ...}`.
"""

from __future__ import annotations

from weir.promql import api

_ENVELOPE_ERROR = {
    "type": "object",
    "required": ["status", "errorType", "error"],
    "properties": {
        "status": {"const": "error"},
        "errorType": {"type": "string", "description": "bad_data, execution, timeout, unavailable or internal"},
        "error": {"type": "string"},
    },
}
_WARNINGS = {"type": "array", "items": {"type": "string"}}
_LABELS = {"type": "object", "additionalProperties": {"type": "string"}}
_STRINGS = {"type": "array", "items": {"type": "string"}}
# [time in float seconds, value as a string]
_SAMPLE = {"type": "array", "items": {"type": ["number", "string"]}, "minItems": 2, "maxItems": 2}
_QUERY_DATA = {
    "type": "object",
    "required": ["resultType", "result"],
    "properties": {
        "resultType": {"enum": ["matrix", "vector", "scalar", "string"]},
        "result": {
            "description": "matrix: [{metric, values}]; vector: [{metric, value}]; scalar and string: [time, value]",
            "anyOf": [
                {"type": "array", "items": {"type": "object", "required": ["metric"], "properties": {
                    "metric": _LABELS, "value": _SAMPLE, "values": {"type": "array", "items": _SAMPLE}}}},
                _SAMPLE,
            ],
        },
    },
}
_METADATA = {
    "type": "object",
    "additionalProperties": {"type": "array", "items": {
        "type": "object", "required": ["type", "help", "unit"],
        "properties": {"type": {"type": "string"}, "help": {"type": "string"}, "unit": {"type": "string"}},
    }},
}
_BUILDINFO = {
    "type": "object",
    "required": ["version", "revision", "branch", "buildUser", "buildDate", "goVersion"],
    "properties": {k: {"type": "string"} for k in ("version", "revision", "branch", "buildUser", "buildDate",
                                                    "goVersion")},
}


def _ok(data: dict) -> dict:
    schema = {
        "type": "object",
        "required": ["status", "data"],
        "properties": {"status": {"const": "success"}, "data": data, "warnings": _WARNINGS},
    }
    return {"200": {"description": "OK (Prometheus' envelope)", "content": {"application/json": {"schema": schema}}}}


def _errors(*codes: int) -> dict:
    body = {"application/json": {"schema": _ENVELOPE_ERROR}}
    what = {400: "bad_data: a malformed expression or parameter", 413: "The body is too large",
            415: "The body is not form-encoded", 422: "execution: the query cannot be evaluated as asked "
            "(too many samples, many-to-many matching, ...)", 503: "timeout, or the store is unavailable"}
    return {str(c): {"description": what[c], "content": body} for c in codes}


_TIME = "RFC 3339 or float seconds since the epoch"
_DURATION = "Float seconds or a duration such as `5m`, `1h30m`"
_PARAMS: dict[str, tuple[dict, str]] = {
    "query": ({"type": "string"}, "A PromQL expression"),
    "time": ({"type": "string"}, f"Evaluation time ({_TIME}); default now"),
    "start": ({"type": "string"}, f"Start ({_TIME})"),
    "end": ({"type": "string"}, f"End ({_TIME})"),
    "step": ({"type": "string"}, f"{_DURATION}; at most {api.MAX_POINTS_PER_SERIES:,} steps per series"),
    "timeout": ({"type": "string"}, f"{_DURATION}; default {api.DEFAULT_TIMEOUT_MS // 1000} s, "
                                    f"at most {api.MAX_TIMEOUT_MS // 1000} s"),
    "limit": ({"type": "integer", "minimum": 0}, "At most this many series (0: no limit); a warning says when cut"),
    "match[]": ({"type": "array", "items": {"type": "string"}}, "Series selectors, for example `cpu{host=\"a\"}`"),
    "metric": ({"type": "string"}, "Only this metric"),
    "limit_per_metric": ({"type": "integer"}, "At most this many entries per metric"),
}


def _query_params(names: list[str], required: tuple[str, ...] = ()) -> list[dict]:
    out = []
    for n in names:
        schema, description = _PARAMS[n]
        p = {"name": n, "in": "query", "description": description, "schema": schema, "required": n in required}
        if schema["type"] == "array":
            p.update(style="form", explode=True)
        out.append(p)
    return out


def _form(names: list[str], required: tuple[str, ...] = ()) -> dict:
    schema = {
        "type": "object",
        "properties": {n: _PARAMS[n][0] for n in names},
        "required": list(required),
    }
    return {"required": True, "content": {api.FORM: {"schema": schema}}}


def _pair(path: str, summary: str, description: str, names: list[str], data: dict, codes: tuple[int, ...],
          required: tuple[str, ...] = ()) -> dict:
    """GET with URL parameters and POST with the same parameters form-encoded."""
    get = {"summary": summary, "description": description, "parameters": _query_params(names, required),
           "responses": {**_ok(data), **_errors(*codes)}}
    post = {"summary": f"{summary} (form POST)", "description": description, "requestBody": _form(names, required),
            "responses": {**_ok(data), **_errors(*codes, 413, 415)}}
    return {("get", path): get, ("post", path): post}


_META_NOTE = ("`start` and `end` are checked but do not narrow the answer: Weir lists every series the "
              "selectors pick (it keeps no per-series time index).")

PROMETHEUS_ROUTES: dict[tuple[str, str], dict] = {
    **_pair("/api/v1/query", "PromQL instant query",
            "Prometheus' `/api/v1/query`. A query that would load more than the engine's sample limit "
            "is a 422; past its timeout a 503.",
            ["query", "time", "timeout", "limit"], _QUERY_DATA, (400, 422, 503), ("query",)),
    **_pair("/api/v1/query_range", "PromQL range query", "Prometheus' `/api/v1/query_range`.",
            ["query", "start", "end", "step", "timeout", "limit"], _QUERY_DATA, (400, 422, 503),
            ("query", "start", "end", "step")),
    **_pair("/api/v1/series", "Series matching selectors", _META_NOTE,
            ["match[]", "start", "end", "limit"], {"type": "array", "items": _LABELS}, (400, 503), ("match[]",)),
    **_pair("/api/v1/labels", "Label names", _META_NOTE,
            ["match[]", "start", "end", "limit"], _STRINGS, (400, 503)),
    **_pair("/api/v1/format_query", "Pretty-print a PromQL expression", "Prometheus' `/api/v1/format_query`.",
            ["query"], {"type": "string"}, (400,), ("query",)),
    **_pair("/api/v1/query_exemplars", "Exemplars of a query's series (always none)",
            "Prometheus' `/api/v1/query_exemplars`. Weir keeps no exemplars: a valid query is "
            "answered with an empty list, as Prometheus answers where it has none.",
            ["query", "start", "end"], {"type": "array", "items": {"type": "object"}}, (400,), ("query",)),
    ("get", "/api/v1/label/{name}/values"): {
        "summary": "Values of a label (`__name__`: the metric names)",
        "description": _META_NOTE,
        "parameters": [
            {"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "A label name; Prometheus 3's `U__` escaping is understood"},
            *_query_params(["match[]", "start", "end", "limit"]),
        ],
        "responses": {**_ok(_STRINGS), **_errors(400, 503)},
    },
    ("get", "/api/v1/metadata"): {
        "summary": "Metric metadata: type and unit per metric (help is always empty)",
        "parameters": [
            *_query_params(["metric"]),
            {"name": "limit", "in": "query", "schema": {"type": "integer"},
             "description": "At most this many metrics (negative: no limit)"},
            *_query_params(["limit_per_metric"]),
        ],
        "responses": {**_ok(_METADATA), **_errors(400, 503)},
    },
    ("get", "/api/v1/status/buildinfo"): {
        "summary": "Build information, in Prometheus' shape (no `features` map)",
        "responses": _ok(_BUILDINFO),
    },
}
