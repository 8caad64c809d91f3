"""The OTLP/JSON metrics request as msgspec Structs: the subset of the proto Weir reads.

Field names follow the OTLP/JSON rules: lowerCamelCase keys, unknown keys ignored (so
exemplars, descriptions and metadata cost nothing), enums as integers. `decoder` runs with
`strict=False`, which is what lets 64-bit integers arrive as strings (`"timeUnixNano":
"1700000000000000000"`) and doubles as `"NaN"`/`"Infinity"`, as the protobuf JSON mapping
allows. The attribute names match the generated protobuf classes, so one walker
(`weir.wire.otlp.reference`) reads both encodings. A leaf: the reference and the fast
JSON path (`weir.wire.otlp.fast_json`) both read it.
"""

from __future__ import annotations

import msgspec


class _S(msgspec.Struct, rename="camel", omit_defaults=True):
    pass


class AnyValue(_S):
    string_value: str | None = None
    bool_value: bool | None = None
    int_value: int | None = None
    double_value: float | None = None
    array_value: ArrayValue | None = None
    kvlist_value: KeyValueList | None = None
    bytes_value: str | None = None


class ArrayValue(_S):
    values: list[AnyValue] = []


class KeyValue(_S):
    key: str = ""
    value: AnyValue | None = None


class KeyValueList(_S):
    values: list[KeyValue] = []


class Resource(_S):
    attributes: list[KeyValue] = []


class Scope(_S):
    name: str = ""
    version: str = ""
    attributes: list[KeyValue] = []


class NumberDataPoint(_S):
    attributes: list[KeyValue] = []
    time_unix_nano: int = 0
    as_double: float | None = None
    as_int: int | None = None
    flags: int = 0


class HistogramDataPoint(_S):
    attributes: list[KeyValue] = []
    time_unix_nano: int = 0
    count: int = 0
    sum: float | None = None
    bucket_counts: list[int] = []
    explicit_bounds: list[float] = []
    min: float | None = None
    max: float | None = None
    flags: int = 0


class Buckets(_S):
    offset: int = 0
    bucket_counts: list[int] = []


class ExponentialHistogramDataPoint(_S):
    attributes: list[KeyValue] = []
    time_unix_nano: int = 0
    count: int = 0
    sum: float | None = None
    scale: int = 0
    zero_count: int = 0
    positive: Buckets | None = None
    negative: Buckets | None = None
    min: float | None = None
    max: float | None = None
    flags: int = 0


class ValueAtQuantile(_S):
    quantile: float = 0.0
    value: float = 0.0


class SummaryDataPoint(_S):
    attributes: list[KeyValue] = []
    time_unix_nano: int = 0
    count: int = 0
    sum: float = 0.0
    quantile_values: list[ValueAtQuantile] = []
    flags: int = 0


class Gauge(_S):
    data_points: list[NumberDataPoint] = []


class Sum(_S):
    data_points: list[NumberDataPoint] = []
    aggregation_temporality: int | str = 0  # an integer per OTLP; names tolerated
    is_monotonic: bool = False


class Histogram(_S):
    data_points: list[HistogramDataPoint] = []
    aggregation_temporality: int | str = 0  # an integer per OTLP; names tolerated


class ExponentialHistogram(_S):
    data_points: list[ExponentialHistogramDataPoint] = []
    aggregation_temporality: int | str = 0  # an integer per OTLP; names tolerated


class Summary(_S):
    data_points: list[SummaryDataPoint] = []


class Metric(_S):
    name: str = ""
    unit: str = ""
    gauge: Gauge | None = None
    sum: Sum | None = None
    histogram: Histogram | None = None
    exponential_histogram: ExponentialHistogram | None = None
    summary: Summary | None = None


class ScopeMetrics(_S):
    scope: Scope | None = None
    metrics: list[Metric] = []


class ResourceMetrics(_S):
    resource: Resource | None = None
    scope_metrics: list[ScopeMetrics] = []


class ExportMetricsServiceRequest(_S):
    resource_metrics: list[ResourceMetrics] = []


decoder = msgspec.json.Decoder(ExportMetricsServiceRequest, strict=False)
