"""Wire models of the metrics API, as msgspec Structs.

These types do double duty: msgspec decodes and type-checks request bodies against them
in C, and `weir.http.openapi.document` renders the same types into the OpenAPI document, so the
documentation cannot drift from what the decoder accepts.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from weir.errors import InvalidInputError

# NaN fails both bounds and an overflowing literal (1e999) decodes as out of range,
# so only finite floats get through.
FiniteFloat = Annotated[
    float,
    Meta(ge=-sys.float_info.max, le=sys.float_info.max, description="A finite number"),
]
Timestamp = Annotated[
    int | float | Annotated[datetime, Meta(tz=True)] | None,
    Meta(
        description="Epoch seconds, milliseconds, microseconds or nanoseconds (told apart by "
        "magnitude), or RFC 3339 with a time zone. Defaults to the time the server receives it."
    ),
]
MetricType = Literal["gauge", "counter"]


class Datapoint(msgspec.Struct, forbid_unknown_fields=True):
    """One datapoint as clients send it."""

    name: Annotated[str, Meta(description="Metric name, for example `cpu.usage`")]
    value: FiniteFloat
    timestamp: Timestamp = None
    type: MetricType = "gauge"
    unit: str | None = None
    dimensions: Annotated[dict[str, str], Meta(description="Up to 30 string pairs")] = {}


class WirePoint(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """How the decoder reads a datapoint: `Datapoint` with the dimensions left as raw JSON.

    The raw bytes are the cache key of the series; they are parsed and validated only the
    first time a series is seen, which halves decoding time for large batches. `gc=False`:
    these hold no reference cycles, and untracked objects keep the cyclic collector from
    running every few hundred points of a 10,000-point batch.
    """

    name: str
    value: FiniteFloat
    timestamp: Timestamp = None
    type: MetricType = "gauge"
    unit: str | None = None
    dimensions: msgspec.Raw = msgspec.Raw(b"{}")


class SeedDatapoint(msgspec.Struct, forbid_unknown_fields=True):
    """The single-point shape the seed system's API took (`metric_name`, `metric_type`)."""

    metric_name: str
    value: FiniteFloat
    timestamp: Timestamp = None
    metric_type: MetricType = "gauge"
    unit: str | None = None
    dimensions: dict[str, str] = {}

    def to_wire(self) -> WirePoint:
        dims = msgspec.Raw(msgspec.json.encode(self.dimensions))
        return WirePoint(self.metric_name, self.value, self.timestamp, self.metric_type, self.unit, dims)


class Batch(msgspec.Struct, forbid_unknown_fields=True):
    metrics: list[Datapoint]


class WireBatch(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    metrics: list[WirePoint]


class RawBatch(msgspec.Struct, forbid_unknown_fields=True):
    """Used only to report per-point errors once the fast whole-batch decode has failed."""

    metrics: list[msgspec.Raw]


class Rejected(msgspec.Struct):
    index: int
    error: str


class IngestResult(msgspec.Struct):
    accepted: int
    rejected: list[Rejected]


class ErrorBody(msgspec.Struct, omit_defaults=True):
    error: Annotated[str, Meta(description="A stable machine-readable code")]
    message: Annotated[str, Meta(description="What was wrong and what to do about it")]
    rejected: list[Rejected] | None = None


class MetricSummary(msgspec.Struct):
    name: str
    series: int


class MetricList(msgspec.Struct):
    metrics: list[MetricSummary]


class SeriesOut(msgspec.Struct):
    key: str
    name: str
    dimensions: dict[str, str]
    type: str
    unit: str | None = None


class SeriesList(msgspec.Struct):
    name: str
    series: list[SeriesOut]
    next_cursor: Annotated[
        str | None, Meta(description="Pass as `cursor` for the next page; null on the last page")
    ] = None


class StatPoint(msgspec.Struct, omit_defaults=True):
    """One period. Only the requested statistics are present."""

    timestamp: Annotated[datetime, Meta(description="Start of the period, RFC 3339 UTC")]
    count: int | None = None
    sum: float | None = None
    avg: float | None = None
    min: float | None = None
    max: float | None = None
    last: float | None = None
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None


class QueryGroup(msgspec.Struct):
    group: dict[str, str]
    series: int
    datapoints: list[StatPoint]


class ResolutionSpan(msgspec.Struct):
    """Which data answered a part of the range: `raw` points, `1m` or `1h` rollups."""

    start: str
    end: str
    resolution: Literal["raw", "1m", "1h"]


class QueryResult(msgspec.Struct, omit_defaults=True):
    name: str
    start: str
    end: str
    period: int
    stats: list[str]
    groups: list[QueryGroup]
    resolutions: Annotated[
        list[ResolutionSpan],
        Meta(description="Which resolution served which part of the range: rollups where they answer "
             "exactly (or where the raw points have expired), raw points elsewhere"),
    ] = []
    estimated: Annotated[
        dict[str, float] | None,
        Meta(description="Percentiles answered from quantile sketches (the raw points have expired), "
             "each with its relative error bound; absent when every percentile is exact"),
    ] = None


class Health(msgspec.Struct, omit_defaults=True):
    """`ok` only when the stores can serve; `failed` (a 503) says why in `reason` (absent otherwise)."""

    status: Literal["ok", "starting", "failed"]
    version: str
    backend: str
    name: str  # "weir": InfluxDB's /health shape has a name, influxdb-client's health() needs it
    reason: str | None = None


_dimensions = msgspec.json.Decoder(dict[str, str])


def decode_dimensions(raw: msgspec.Raw) -> dict[str, str]:
    try:
        return _dimensions.decode(raw)
    except msgspec.MsgspecError as exc:
        # msgspec reports a dict value's path as `$[...]`; name the key ourselves.
        loose = msgspec.json.decode(raw)
        if isinstance(loose, dict):
            for k, v in loose.items():
                if not isinstance(v, str):
                    raise InvalidInputError(
                        f"dimensions.{k}: expected str, got {type(v).__name__}; dimension values are strings"
                    ) from None
        raise InvalidInputError(msgspec_message(str(exc), "dimensions")) from None


def msgspec_message(msg: str, prefix: str = "") -> str:
    """`Expected float, got str - at $.value` → `value: expected float, got str`."""
    text, _, where = msg.partition(" - at `")
    where = where.rstrip("`").removeprefix("$").lstrip(".")
    if prefix:
        where = f"{prefix}.{where}" if where else prefix
    text = text.replace("`", "")
    if text[1:2].islower():
        text = text[:1].lower() + text[1:]
    return f"{where}: {text}" if where else text
