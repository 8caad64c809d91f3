"""Prometheus text exposition format (0.0.4) and Pushgateway grouping keys → Weir points.

Mapping (README "Prometheus Pushgateway"): every sample line is one point, named exactly as
the sample is exposed (`requests_total`, `latency_seconds_bucket`, `latency_seconds_sum`,
`latency_seconds_count`, `rpc_seconds{quantile="0.5"}`, `requests_created`), so what a
Prometheus user reads in the exposition is what they query in Weir. Labels become
dimensions (`le` and `quantile` included), and the grouping labels of the URL are added to
every sample, overwriting a body label of the same name as the Pushgateway does. A label with
an empty value means "no label" in Prometheus and is dropped. Series type: `counter` for a
counter's samples and the `_bucket`, `_count` and `_sum` samples of histograms and summaries;
`gauge` for everything else (gauges, untyped samples, quantiles, `_created`). NaN and ±Inf
samples are rejected one by one (Weir stores finite numbers only).

A syntax error anywhere rejects the whole push (a Pushgateway does the same), so a `PUT`
never replaces a group with half of a broken body.
"""

from __future__ import annotations

import base64
import binascii
import re

from weir.errors import InvalidInputError
from weir.metrics.model import Rejected, WirePoint
from weir.wire.shared import PointCounter, ns_timestamp, raw_dims

_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_LABEL_RE = re.compile(r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\\n]|\\.)*)"[ \t]*')
_ESCAPE_RE = re.compile(r"\\(.)")
_UNESCAPE = {"n": "\n", "\\": "\\", '"': '"'}
TYPES = frozenset({"counter", "gauge", "histogram", "summary", "untyped", "unknown", "info", "stateset",
                   "gaugehistogram"})
_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created", "_gcount", "_gsum", "_info")
PREFIX = "/metrics/job/"


class Sample:
    __slots__ = ("name", "labels", "value", "ts_ms", "family", "kind", "line")

    def __init__(self, name, labels, value, ts_ms, family, kind, line) -> None:
        self.name, self.labels, self.value, self.ts_ms = name, labels, value, ts_ms
        self.family, self.kind, self.line = family, kind, line


class Decoded:
    """Points (None where rejected), rejections, and per point its line, family and dimensions."""

    __slots__ = ("points", "rejected", "samples", "dims")

    def __init__(self) -> None:
        self.points: list[WirePoint | None] = []
        self.rejected: list[Rejected] = []
        self.samples: list[Sample] = []
        self.dims: list[dict[str, str]] = []

    def where(self, index: int) -> str:
        return f"line {self.samples[index].line}" if index < len(self.samples) else ""


def parse_grouping(path: str) -> dict[str, str]:
    """`/metrics/job/<job>{/<label>/<value>}` → labels; `<label>@base64` marks a base64url value.

    `path` is the route table's: percent-decoded once already (by the ASGI server locally,
    by the `api` handler behind API Gateway), so it is split on `/` as it is and nothing is
    decoded again: a literal `%41` in a value stays `%41`. As in the Pushgateway, a `/` in a
    value, even sent as `%2F`, separates segments: such values must use `@base64`.
    """
    if not path.startswith(("/metrics/job/", "/metrics/job@base64/")):
        raise InvalidInputError(f"the path must look like {PREFIX}<job>{{/<label>/<value>}}")
    segments = path[len("/metrics/"):].rstrip("/").split("/")
    if len(segments) % 2:
        raise InvalidInputError(
            f"grouping key: {path[:200]!r} does not end in label/value pairs; "
            f"use {PREFIX}<job>{{/<label>/<value>}} and `<label>@base64/<base64url value>` for values with '/'"
        )
    labels: dict[str, str] = {}
    for k, v in zip(segments[::2], segments[1::2]):
        name = k
        if name.endswith("@base64"):
            name = name[: -len("@base64")]
            value = _b64(name, v)
        else:
            value = v
        if not _LABEL_NAME_RE.match(name):
            raise InvalidInputError(f"grouping key: {name[:80]!r} is not a Prometheus label name")
        if name in labels:
            raise InvalidInputError(f"grouping key: label {name!r} appears twice in the path")
        labels[name] = value
    if not labels.get("job"):
        raise InvalidInputError("grouping key: the job name must not be empty")
    return {k: v for k, v in labels.items() if v != ""}


def _b64(name: str, text: str) -> str:
    try:
        padded = text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, ValueError):
        raise InvalidInputError(
            f"grouping key: the value of {name + '@base64'!r} is not base64url-encoded UTF-8"
        ) from None


def parse_text(text: str) -> list[Sample]:
    """All samples of a text-format body; raises InvalidInputError naming the first bad line."""
    types: dict[str, str] = {}
    samples: list[Sample] = []
    counter = PointCounter("samples")
    for lineno, line in enumerate(text.split("\n"), 1):
        line = line.strip(" \t\r")
        if not line:
            continue
        if line[0] == "#":
            _comment(line, lineno, types)
            continue
        counter.add()
        samples.append(_sample(line, lineno, types))
    return samples


def _comment(line: str, lineno: int, types: dict[str, str]) -> None:
    parts = line[1:].split(None, 3)
    if len(parts) >= 2 and parts[0] == "TYPE":
        if len(parts) != 3 or parts[2] not in TYPES or not _NAME_RE.fullmatch(parts[1]):
            raise InvalidInputError(f"line {lineno}: malformed TYPE line {line[:120]!r}")
        if parts[1] in types:
            raise InvalidInputError(f"line {lineno}: second TYPE line for {parts[1]!r}")
        types[parts[1]] = parts[2]


def _sample(line: str, lineno: int, types: dict[str, str]) -> Sample:
    m = _NAME_RE.match(line)
    if not m:
        raise InvalidInputError(f"line {lineno}: {line[:80]!r} does not start with a metric name")
    name = m.group()
    i = m.end()
    labels: dict[str, str] = {}
    if i < len(line) and line[i] == "{":
        i += 1
        while True:
            while i < len(line) and line[i] in " \t":
                i += 1
            if i < len(line) and line[i] == "}":
                i += 1
                break
            lm = _LABEL_RE.match(line, i)
            if not lm:
                raise InvalidInputError(f"line {lineno}: malformed label set in {line[:120]!r}")
            key = lm.group(1)
            if key in labels:
                raise InvalidInputError(f"line {lineno}: label {key!r} appears twice")
            labels[key] = _ESCAPE_RE.sub(lambda e: _UNESCAPE.get(e.group(1), e.group()), lm.group(2))
            i = lm.end()
            if i < len(line) and line[i] == ",":
                i += 1
            elif i >= len(line) or line[i] != "}":
                raise InvalidInputError(f"line {lineno}: expected ',' or '}}' in {line[:120]!r}")
    rest = line[i:].split()
    if not rest or len(rest) > 2 or (i < len(line) and line[i] not in " \t"):
        raise InvalidInputError(f"line {lineno}: expected `name{{labels}} value [timestamp]`, got {line[:120]!r}")
    value = _float(rest[0], lineno)
    ts_ms = None
    if len(rest) == 2:
        body = rest[1][1:] if rest[1][:1] == "-" else rest[1]
        if not (body.isascii() and body.isdigit()):
            raise InvalidInputError(f"line {lineno}: timestamp {rest[1][:40]!r} is not integer milliseconds")
        ts_ms = int(rest[1])
    family, kind = family_of(name, types)
    return Sample(name, labels, value, ts_ms, family, kind, lineno)


def _float(text: str, lineno: int) -> float:
    try:
        if "_" in text or not text.isascii():
            raise ValueError
        return float(text)
    except ValueError:
        raise InvalidInputError(f"line {lineno}: {text[:40]!r} is not a number") from None


def family_of(name: str, types: dict[str, str]) -> tuple[str, str]:
    """(metric family, Weir series type) of a sample, from the `# TYPE` lines seen so far."""
    t = types.get(name)
    if t is not None:
        return name, "counter" if t == "counter" else "gauge"
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            t = types.get(base)
            if t is None:
                continue
            if suffix == "_created":
                return base, "gauge"
            if t == "counter" and suffix == "_total":
                return base, "counter"
            if t in ("histogram", "summary") and suffix in ("_bucket", "_count", "_sum"):
                return base, "counter"
            return base, "gauge"
    return name, "gauge"


def to_points(samples: list[Sample], grouping: dict[str, str]) -> Decoded:
    """Weir points for the samples, with the grouping labels added to each."""
    out = Decoded()
    for s in samples:
        dims = {k: v for k, v in s.labels.items() if v != ""}
        dims.update(grouping)
        out.samples.append(s)
        out.dims.append(dims)
        if s.value - s.value != 0.0:
            out.rejected.append(Rejected(
                len(out.points), f"line {s.line}: value {s.value} is not stored; Weir stores finite numbers only"
            ))
            out.points.append(None)
            continue
        ts = None if s.ts_ms is None else ns_timestamp(s.ts_ms * 1_000_000)
        out.points.append(WirePoint(s.name, s.value, ts, s.kind, None, raw_dims(dims)))
    return out
