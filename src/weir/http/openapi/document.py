"""The OpenAPI 3.1 document, generated from the same msgspec models the decoder uses.

`ROUTES` lists every route of `weir.http.app`; a test checks both cover the same set,
so an undocumented route fails the build.
"""

from __future__ import annotations

from functools import cache

import msgspec

from weir import __version__
from weir.files.record import FileList, FileRecord
from weir.files.service import DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT
from weir.http.openapi.formats import FORMAT_ROUTES
from weir.http.openapi.prometheus import PROMETHEUS_ROUTES
from weir.http.status import Status
from weir.metrics import limits
from weir.metrics.aggregate import STATS
from weir.metrics.alerts.model import (
    EventList,
    RuleList,
    RuleOut,
    RuleSpec,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionSpec,
)
from weir.metrics.cardinality import TsdbStatus
from weir.metrics.model import (
    Batch,
    Datapoint,
    ErrorBody,
    Health,
    IngestResult,
    MetricList,
    QueryResult,
    SeriesList,
)
from weir.metrics.query.service import DEFAULT_LIST_LIMIT as QUERY_LIST_DEFAULT
from weir.metrics.query.service import MAX_LIST_LIMIT as QUERY_LIST_MAX
from weir.metrics.query.service import QueryBounds

QUERY_BOUNDS = QueryBounds()
_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_.:\-]*$", "maxLength": limits.MAX_NAME_LENGTH},
}
_DIMS = {
    "name": "dimensions",
    "in": "query",
    "description": "Dimension filters as `dim.<key>=<value>`, for example `dim.host=h1`.",
    "schema": {"type": "object", "additionalProperties": {"type": "string"}},
    "style": "form",
    "explode": True,
}


def _q(name: str, description: str, default: str | None = None) -> dict:
    schema: dict = {"type": "string"}
    if default is not None:
        schema["default"] = default
    return {"name": name, "in": "query", "description": description, "schema": schema}


def _errors(*codes: int) -> dict:
    body = {"description": "Error", "content": {"application/json": {"schema": _ref(ErrorBody)}}}
    return {str(c): body for c in codes}


def _ok(model: type, description: str = "OK", status: str = "200") -> dict:
    return {status: {"description": description, "content": {"application/json": {"schema": _ref(model)}}}}


def _ref(model: type) -> dict:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _body(model: type) -> dict:
    return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}


def _path(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


_RULE_ID, _SUB_ID = _path("rule_id"), _path("sub_id")
_ALLOW_UNKNOWN = {
    "name": "allow_unknown_metric", "in": "query",
    "description": "Accept a metric that has no series yet (default: refuse, as it is usually a typo)",
    "schema": {"type": "boolean", "default": False},
}


ROUTES: dict[tuple[str, str], dict] = {
    ("get", "/health"): {
        "summary": "Liveness and readiness",
        "description": "`ok` only when the stores can serve; a damaged or unrecoverable store is a 503 "
                       "whose `reason` names the file and the command that repairs it.",
        "responses": {**_ok(Health), **_ok(Health, "The stores cannot serve", "503")},
    },
    ("post", "/metrics"): {
        "summary": "Ingest datapoints",
        "description": (
            f"A batch `{{\"metrics\": [...]}}` of up to {limits.MAX_POINTS_PER_REQUEST} points or one "
            f"datapoint object; at most {limits.MAX_BODY_BYTES} bytes. Valid points are stored even "
            "when others are rejected; the answer is sent once they are durable."
        ),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"oneOf": [_ref(Batch), _ref(Datapoint)]}}},
        },
        "responses": {**_ok(IngestResult), **_errors(400, 413, 415, 503)},
    },
    ("get", "/metrics"): {"summary": "Metric names with series counts", "responses": _ok(MetricList)},
    ("get", "/metrics/{name}/series"): {
        "summary": "The series of a metric, filtered by dimensions, a page at a time",
        "description": ("By canonical key. A page holds at most `limit` series; `next_cursor`, when not null, "
                        "asks for the next page. Selecting by dimensions reads an inverted index: its cost follows "
                        "the series selected, not the metric's."),
        "parameters": [_NAME, _DIMS,
                       _q("limit", f"At most this many series, 1-{QUERY_LIST_MAX}", str(QUERY_LIST_DEFAULT)),
                       _q("cursor", "`next_cursor` of the previous page")],
        "responses": {**_ok(SeriesList), **_errors(400, 404)},
    },
    ("get", "/metrics/{name}"): {
        "summary": "Statistics per period",
        "parameters": [
            _NAME,
            _q("start", "`now`, relative (`-1h`), RFC 3339 or epoch seconds", "-1h"),
            _q("end", "As start", "now"),
            _q("period", "Seconds or a duration such as `1m`, `1h`", "60"),
            _q("stat", f"Comma-separated: {','.join(STATS)}", "avg"),
            _q("group_by", "A dimension key: one group per value"),
            _DIMS,
        ],
        "description": (
            f"Bounded before any point is read: at most {QUERY_BOUNDS.max_series} series selected, "
            f"{QUERY_BOUNDS.max_groups} groups and {QUERY_BOUNDS.max_values} values (groups x periods x "
            f"statistics) in the answer (422 `query_too_large` past these), and {QUERY_BOUNDS.max_points} points "
            "read (413; estimated from chunk metadata where the store can, checked again after the read)."),
        "responses": {**_ok(QueryResult), **_errors(400, 404, 413, 422)},
    },
    ("get", "/files"): {
        "summary": "File metadata records by key prefix",
        "description": "Keys in UTF-8 byte order. Deleted keys are left out unless include_deleted=true.",
        "parameters": [
            _q("prefix", "Only keys that start with this", ""),
            _q("bucket", "The bucket (default: the one this deployment indexes)"),
            _q("limit", f"At most this many records, 1-{MAX_LIST_LIMIT}", str(DEFAULT_LIST_LIMIT)),
            _q("cursor", "`next_cursor` of the previous page"),
            _q("include_deleted", "Also list tombstones", "false"),
            _q("delimiter", "Group keys by what follows the prefix up to this (`/`): each group once in "
               "`prefixes`, as folders (S3's CommonPrefixes); without it every key is listed"),
        ],
        "responses": {**_ok(FileList), **_errors(400)},
    },
    ("get", "/files/{key}"): {
        "summary": "The metadata record of one key",
        "description": "The key may contain `/`; percent-encode what a path cannot hold.",
        "parameters": [
            {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}},
            _q("bucket", "The bucket (default: the one this deployment indexes)"),
            _q("include_deleted", "Return the tombstone of a deleted key instead of 404", "false"),
        ],
        "responses": {**_ok(FileRecord), **_errors(400, 404)},
    },
    ("get", "/openapi.json"): {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}},
    ("get", "/status"): {
        "summary": "Version, uptime, ingest rate, what is stored, exports and the configured limits",
        "responses": _ok(Status),
    },
    # -- the web UI (issue 16): pages and files, open to reads even where keys are required --
    ("get", "/"): {
        "summary": "A browser (Accept: text/html) is redirected to the web UI; other clients get a 404",
        "responses": {"302": {"description": "To /ui/"}, **_errors(404)},
    },
    ("get", "/ui"): {"summary": "Redirects to /ui/", "responses": {"302": {"description": "To /ui/"}}},
    ("get", "/ui/capabilities.json"): {
        "summary": "What this API offers the web UI (PromQL, metadata, status, folders in the file listing)",
        "responses": {"200": {"description": "Flags", "content": {"application/json": {"schema": {"type": "object"}}}}},
    },
    ("get", "/ui/{path}"): {
        "summary": "The web UI: its pages (`/ui/`, `/ui/explore`, `/ui/alerts`, `/ui/files`, `/ui/status`) and files",
        "description": "Without a built UI (`make ui`), every page says how to build it (404).",
        "parameters": [{"name": "path", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {
            "200": {"description": "HTML, JavaScript, CSS (gzip when accepted)",
                    "content": {"text/html": {"schema": {"type": "string"}}}},
            "404": {"description": "No such page or file"},
        },
    },
    # -- alerts and subscriptions (issue 3) --
    ("post", "/alerts"): {
        "summary": "Create an alert rule",
        "parameters": [_ALLOW_UNKNOWN],
        "requestBody": _body(RuleSpec),
        "responses": {**_ok(RuleOut, "Created", "201"), **_errors(400, 409, 415)},
    },
    ("get", "/alerts"): {"summary": "Alert rules with their current states", "responses": _ok(RuleList)},
    ("get", "/alerts/events"): {
        "summary": "Recent alert events (transitions and reminders) with their delivery outcomes",
        "parameters": [_q("limit", "At most this many, newest first", "100"), _q("rule_id", "Only this rule"),
                       _q("kind", "`transition` or `renotify`")],
        "responses": {**_ok(EventList), **_errors(400)},
    },
    ("get", "/alerts/{rule_id}"): {
        "summary": "One alert rule and its states",
        "parameters": [_RULE_ID],
        "responses": {**_ok(RuleOut), **_errors(404)},
    },
    ("put", "/alerts/{rule_id}"): {
        "summary": "Replace an alert rule (states restart if what it watches changed)",
        "parameters": [_RULE_ID, _ALLOW_UNKNOWN],
        "requestBody": _body(RuleSpec),
        "responses": {**_ok(RuleOut), **_errors(400, 404, 409, 415)},
    },
    ("delete", "/alerts/{rule_id}"): {
        "summary": "Delete an alert rule (its events stay in GET /alerts/events)",
        "parameters": [_RULE_ID],
        "responses": {"204": {"description": "Deleted"}, **_errors(404)},
    },
    ("get", "/alerts/{rule_id}/history"): {
        "summary": "State transitions of a rule, newest first",
        "parameters": [_RULE_ID, _q("limit", "At most this many", "100")],
        "responses": {**_ok(EventList), **_errors(400, 404)},
    },
    ("post", "/subscriptions"): {
        "summary": "Subscribe a webhook to alert events, optionally filtered by an SNS filter policy",
        "requestBody": _body(SubscriptionSpec),
        "responses": {**_ok(SubscriptionOut, "Created", "201"), **_errors(400, 415)},
    },
    ("get", "/subscriptions"): {"summary": "Webhook subscriptions", "responses": _ok(SubscriptionList)},
    ("get", "/subscriptions/{sub_id}"): {
        "summary": "One subscription and its last delivery",
        "parameters": [_SUB_ID],
        "responses": {**_ok(SubscriptionOut), **_errors(404)},
    },
    ("delete", "/subscriptions/{sub_id}"): {
        "summary": "Delete a subscription (those from the config file are refused)",
        "parameters": [_SUB_ID],
        "responses": {"204": {"description": "Deleted"}, **_errors(404, 409)},
    },
    **FORMAT_ROUTES,
    **PROMETHEUS_ROUTES,
    ("get", "/api/v1/status/tsdb"): {
        "summary": "Cardinality: series per metric, values per dimension, the largest label pairs",
        "description": ("Prometheus' TSDB status shape; the metric name counts as the label `__name__`. On DynamoDB "
                        "the label statistics read every series: 413 past 200,000."),
        "parameters": [_q("limit", "Entries per list, 1-10000", "10")],
        "responses": {**_ok(TsdbStatus), **_errors(400, 413)},
    },
}


@cache
def document() -> str:
    models = [Batch, Datapoint, ErrorBody, Health, IngestResult, MetricList, QueryResult, SeriesList, TsdbStatus]
    models += [RuleSpec, RuleOut, RuleList, EventList, SubscriptionSpec, SubscriptionOut, SubscriptionList]
    models += [FileList, FileRecord, Status]
    _, components = msgspec.json.schema_components(models, ref_template="#/components/schemas/{name}")
    paths: dict[str, dict] = {}
    for (method, path), spec in ROUTES.items():
        op = {"operationId": f"{method}_{path}", **spec}
        if "{" in path and "404" not in op["responses"]:
            # A path parameter the route table cannot match (a newline, say) finds no route.
            op["responses"] = {**op["responses"], **_errors(404)}
        paths.setdefault(path, {})[method] = op
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "Weir", "version": __version__},
        "paths": paths,
        "components": {"schemas": components},
    }
    return msgspec.json.encode(doc).decode()
