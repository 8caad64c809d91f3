"""Prometheus remote write 1.0 and 2.0 bodies (decompressed) → series of samples; no I/O.

Messages (field numbers from the published specifications, read by `weir.wire.pb`):
- 1.0 `prometheus.WriteRequest`: timeseries = 1 (labels = 1 {name = 1, value = 2},
  samples = 2 {value = 1 double, timestamp = 2 int64 ms}, exemplars = 3, histograms = 4),
  metadata = 3 {type = 1, metric_family_name = 2, help = 4, unit = 5}.
- 2.0 `io.prometheus.write.v2.Request`: symbols = 4, timeseries = 5 {labels_refs = 1 (packed
  pairs of indexes into symbols), samples = 2 {value = 1, timestamp = 2, start_timestamp = 3},
  histograms = 3, exemplars = 4, metadata = 5 {type = 1, help_ref = 3, unit_ref = 4},
  created_timestamp = 6 (2.0-rc.3; rc.4 moved it into the sample as start_timestamp)}.

Mapping to Weir (the Pushgateway path's, `weir.metrics.formats.prometheus`): `__name__` is the
metric name, every other label a dimension (a label with an empty value is no label, as in
Prometheus); the series type is `counter` for counters and for the `_bucket`, `_count` and
`_sum` series of histograms and summaries, `gauge` otherwise. The type comes from the
metadata where the sender gives it (2.0: per series; 1.0: the metadata records, which
Prometheus sends in their own requests, remembered here by family); without it, from the
name: the suffixes `_total`, `_count`, `_sum` and `_bucket` are reserved for counters by
Prometheus' naming rules, so they mean `counter`, anything else `gauge`. Help texts are
not kept (Weir has no place for them); a unit becomes the series' unit.

What is refused, per series (the rest of the request is stored; see `weir.metrics.remote`):
labels Weir cannot store (no `__name__`, a label name twice, a name or value outside Weir's
rules), native histograms (Weir stores floats; Prometheus sends none unless its native
histograms are switched on), and NaN or infinite values. A staleness marker (the NaN
Prometheus writes when a series disappears) is a signal, not a value: it is skipped and
counted, not refused. Exemplars are skipped and counted.

Speed: a sender resends the same series every interval, so a series' label bytes (1.0) or
resolved label strings (2.0) key a cache of what they mean. Samples are read in runs: a run
of samples each encoded the usual way (a non-zero value and a millisecond timestamp of six
varint bytes: 18 bytes a sample) is found by one regular expression and unpacked by `struct`;
anything else takes the field-by-field path, which is the reference (the tests check that
both agree).
"""

from __future__ import annotations

import re
import struct

import msgspec

from weir.errors import InvalidInputError
from weir.metrics import limits
from weir.metrics.formats import PointCounter
from weir.metrics.formats import prometheus as prom
from weir.metrics.series import canonical_key, check_dimensions, check_name
from weir.wire import pb

V1 = "prometheus.WriteRequest"
V2 = "io.prometheus.write.v2.Request"
TYPES = ("unknown", "counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset")
STALE_NAN = 0x7FF0000000000002  # Prometheus' staleness marker
_COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")
_CACHE_LIMIT = 200_000
_RUN = re.compile(rb"(?:\x12\x10\x09.{8}\x10[\x80-\xff]{5}[\x00-\x7f])+", re.S)
_REC = struct.Struct("<3xd1x6s")
_NAN_BITS = struct.Struct("<Q")
_encode = msgspec.json.encode


class Labels:
    """What one label set means to Weir, worked out once and cached."""

    __slots__ = ("name", "dims", "raw", "type", "unit", "text", "error", "start", "resolved")

    def __init__(self, labels: dict[str, str], error: str | None, mtype: str | None, unit: str | None) -> None:
        name = labels.pop("__name__", "")
        self.name = name
        self.dims = {k: v for k, v in labels.items() if v != ""}
        self.text = canonical_key(name, self.dims) or "{}"
        self.error = error
        if error is None:
            if not name:
                self.error = "the series has no __name__ label"
            else:
                try:
                    check_name(name)
                    check_dimensions(self.dims)
                except InvalidInputError as exc:
                    self.error = exc.message
        self.raw = msgspec.Raw(_encode(self.dims))
        self.type = series_type(name, mtype)
        self.unit = unit if unit and len(unit) <= limits.MAX_UNIT_LENGTH else None
        # Set by `weir.metrics.remote`: the last start (created) timestamp a zero was written
        # for, and whether type and unit were matched to the stored series yet.
        self.start = 0
        self.resolved = False


def series_type(name: str, mtype: str | None) -> str:
    """Weir's type for a series named `name` whose family has Prometheus type `mtype`."""
    if mtype is None or mtype == "unknown":
        return "counter" if name.endswith(_COUNTER_SUFFIXES) else "gauge"
    if mtype == "counter":
        return "counter"
    if mtype in ("histogram", "summary") and name.endswith(("_bucket", "_count", "_sum")):
        return "counter"
    return "gauge"


class Decoded:
    """The series of one request that carry samples, with what was refused or skipped.

    `series[k]`, `values[k]`, `times[k]` (ms) and `starts[k]` (start timestamp in ms, 0 for
    none) describe the k-th; `index[k]` is its position among the request's timeseries.
    `dropped` lists (position, reason) for series refused whole.
    """

    __slots__ = ("series", "values", "times", "starts", "index", "dropped", "samples", "exemplars",
                 "histograms", "stale", "metadata")

    def __init__(self) -> None:
        self.series: list[Labels] = []
        self.values: list[list[float]] = []
        self.times: list[list[int]] = []
        self.starts: list[int] = []
        self.index: list[int] = []
        self.dropped: list[tuple[int, str]] = []
        self.samples = self.exemplars = self.histograms = self.stale = self.metadata = 0


class Decoder:
    """Decodes requests; keeps the label cache and, for 1.0, the metadata seen so far."""

    def __init__(self) -> None:
        self._labels: dict[object, Labels] = {}
        self.families: dict[str, tuple[str, str | None]] = {}  # 1.0 metadata: family → (type, unit)

    def decode(self, data: bytes, version: str) -> Decoded:
        return self.decode_v2(data) if version == V2 else self.decode_v1(data)

    # -- 1.0 ---------------------------------------------------------------------------

    def decode_v1(self, data: bytes) -> Decoded:
        out = Decoded()
        spans: list[bytes] = []
        for num, wt, value in pb.fields(data):
            if num == 1:
                pb.expect(num, wt, pb.LEN, "WriteRequest.timeseries")
                spans.append(value)  # type: ignore[arg-type]
            elif num == 3:
                pb.expect(num, wt, pb.LEN, "WriteRequest.metadata")
                self._metadata(value)  # type: ignore[arg-type]
                out.metadata += 1
        counter = PointCounter("samples")
        tcache: dict[bytes, int] = {}
        for i, body in enumerate(spans):
            key, pos = _v1_label_bytes(body)
            got = _Samples(body, pos, tcache, v2=False)
            if got.late:  # label records after the samples: legal, rare; keyed by all of them
                records = [v for n, _, v in pb.fields(key) if n == 1] + got.late
                key = tuple(records)
            entry = self._labels.get(key)
            if entry is None:
                entry = self._v1_entry(key if isinstance(key, tuple) else [v for _, _, v in pb.fields(key)])
                self._remember(key, entry)
            _accept(out, i, entry, got, counter, v2=False)
        return out

    def _v1_entry(self, records) -> Labels:
        labels: dict[str, str] = {}
        error = None
        for record in records:
            name = val = ""
            for num, wt, value in pb.fields(record):
                if num == 1:
                    pb.expect(num, wt, pb.LEN, "Label.name")
                    name = pb.text(value, "a label name")  # type: ignore[arg-type]
                elif num == 2:
                    pb.expect(num, wt, pb.LEN, "Label.value")
                    val = pb.text(value, "a label value")  # type: ignore[arg-type]
            if name in labels and error is None:
                error = f"label {name[:80]!r} appears twice"
            labels[name] = val
        if "" in labels and error is None:
            error = "a label has an empty name"
        name = labels.get("__name__", "")
        mtype = unit = None
        families = self.families
        if name:
            family, _ = prom.family_of(name, _Types(families))
            if family in families:
                mtype, unit = families[family]
        return Labels(labels, error, mtype, unit)

    def _metadata(self, body: bytes) -> None:
        mtype, family, unit = 0, "", ""
        for num, wt, value in pb.fields(body):
            if num == 1:
                pb.expect(num, wt, pb.VARINT, "MetricMetadata.type")
                mtype = value  # type: ignore[assignment]
            elif num == 2:
                pb.expect(num, wt, pb.LEN, "MetricMetadata.metric_family_name")
                family = pb.text(value, "a metric family name")  # type: ignore[arg-type]
            elif num == 4:
                pb.expect(num, wt, pb.LEN, "MetricMetadata.help")
            elif num == 5:
                pb.expect(num, wt, pb.LEN, "MetricMetadata.unit")
                unit = pb.text(value, "a unit")  # type: ignore[arg-type]
        if family and 0 < mtype < len(TYPES):
            if len(self.families) >= _CACHE_LIMIT:
                self.families.clear()
            self.families[family] = (TYPES[mtype], unit or None)

    # -- 2.0 ---------------------------------------------------------------------------

    def decode_v2(self, data: bytes) -> Decoded:
        out = Decoded()
        symbols: list[str] = []
        spans: list[bytes] = []
        for num, wt, value in pb.fields(data):
            if num == 4:
                pb.expect(num, wt, pb.LEN, "Request.symbols")
                symbols.append(pb.text(value, "a symbol"))  # type: ignore[arg-type]
            elif num == 5:
                pb.expect(num, wt, pb.LEN, "Request.timeseries")
                spans.append(value)  # type: ignore[arg-type]
        counter = PointCounter("samples")
        tcache: dict[bytes, int] = {}
        n = len(symbols)
        for i, body in enumerate(spans):
            refs: list[int] = []
            pos = 0
            if body[:1] == b"\x0a":  # the usual leading labels_refs record, packed
                size, p = pb.varint(body, 1)
                if p + size > len(body):
                    raise pb.MalformedError("malformed protobuf: labels_refs runs past the end of its series")
                refs = pb.packed_varints(body[p:p + size])
                pos = p + size
            got = _Samples(body, pos, tcache, v2=True)
            refs += got.late
            mtype, help_ref, unit_ref = _v2_metadata(got.metadata) if got.metadata else (0, 0, 0)
            bad = [r for r in (*refs, help_ref, unit_ref) if r >= n]
            if bad:
                counter.add(len(got.values) + got.histograms)
                out.dropped.append((i, f"a symbol reference ({bad[0]}) is outside the symbols table ({n} symbols)"))
                continue
            if len(refs) % 2:
                counter.add(len(got.values) + got.histograms)
                out.dropped.append((i, "labels_refs holds an odd number of references"))
                continue
            names = tuple([symbols[r] for r in refs])
            unit = symbols[unit_ref] if n else ""
            key = (names, mtype, unit)
            entry = self._labels.get(key)
            if entry is None:
                entry = _v2_entry(names, mtype, unit)
                self._remember(key, entry)
            _accept(out, i, entry, got, counter, v2=True)
        return out

    def _remember(self, key, entry: Labels) -> None:
        if len(self._labels) >= _CACHE_LIMIT:
            self._labels.clear()
        self._labels[key] = entry


class _Samples:
    """The samples of one timeseries read from `pos` on, and what else it carried."""

    __slots__ = ("values", "times", "start", "histograms", "exemplars", "late", "metadata")

    def __init__(self, body: bytes, pos: int, tcache: dict[bytes, int], v2: bool) -> None:
        values: list[float] = []
        times: list[int] = []
        self.values, self.times = values, times
        self.start = self.histograms = self.exemplars = 0
        self.late: list = []  # 1.0: label records after the samples; 2.0: label refs there
        self.metadata = b""
        f_exemplar, f_histogram = (4, 3) if v2 else (3, 4)
        end = len(body)
        while pos < end:
            m = _RUN.match(body, pos) if body[pos] == 0x12 else None
            if m is not None:
                for v, b in _REC.iter_unpack(body[pos:m.end()]):
                    t = tcache.get(b)
                    if t is None:
                        t = tcache[b] = _varint6(b)
                    values.append(v)
                    times.append(t)
                pos = m.end()
                continue
            key, pos = pb.varint(body, pos)
            num, wt = key >> 3, key & 7
            value, pos = _field(body, pos, num, wt, end)
            if num == 2:
                pb.expect(num, wt, pb.LEN, "TimeSeries.samples")
                v, t, st = _sample(value)  # type: ignore[arg-type]
                values.append(v)
                times.append(t)
                if st:
                    self.start = st
            elif num == 1:
                if v2:
                    if wt == pb.LEN:
                        self.late += pb.packed_varints(value)  # type: ignore[arg-type]
                    else:
                        pb.expect(num, wt, pb.VARINT, "TimeSeries.labels_refs")
                        self.late.append(value)
                else:
                    pb.expect(num, wt, pb.LEN, "TimeSeries.labels")
                    self.late.append(value)
            elif num == f_exemplar:
                pb.expect(num, wt, pb.LEN, "TimeSeries.exemplars")
                self.exemplars += 1
            elif num == f_histogram:
                pb.expect(num, wt, pb.LEN, "TimeSeries.histograms")
                self.histograms += 1
            elif v2 and num == 5:
                pb.expect(num, wt, pb.LEN, "TimeSeries.metadata")
                self.metadata = value  # type: ignore[assignment]
            elif v2 and num == 6:
                pb.expect(num, wt, pb.VARINT, "TimeSeries.created_timestamp")
                self.start = pb.int64(value)  # type: ignore[arg-type]


def _accept(out: Decoded, i: int, entry: Labels, got: _Samples, counter: PointCounter, v2: bool) -> None:
    """Count the series' samples and keep it, or record why it is refused whole."""
    values, times = got.values, got.times
    counter.add(len(values) + got.histograms)
    out.samples += len(values)
    out.histograms += got.histograms
    out.exemplars += got.exemplars
    if got.histograms:
        out.dropped.append((i, f"{entry.text[:300]}: native histograms are not stored (Weir stores float "
                               f"samples); {got.histograms} dropped"))
        return
    if not values:
        if v2:
            out.dropped.append((i, f"{entry.text[:300]}: the series has no samples"))
        return
    if entry.error is not None:
        out.dropped.append((i, f"{entry.text[:300]}: {entry.error}"))
        return
    total = sum(values)
    if total - total != 0.0:  # NaN or ±Inf somewhere (or a sum that overflows)
        error = _not_finite(values, times, out)
        if error:
            out.dropped.append((i, f"{entry.text[:300]}: {error}"))
            return
        if not values:
            return
    out.series.append(entry)
    out.values.append(values)
    out.times.append(times)
    out.starts.append(got.start)
    out.index.append(i)


class _Types(dict):
    """A view of 1.0 metadata as `prom.family_of` reads its `# TYPE` map: family → type."""

    def __init__(self, families) -> None:
        super().__init__()
        self._families = families

    def get(self, key, default=None):  # type: ignore[override]
        found = self._families.get(key)
        return found[0] if found is not None else default

    def __contains__(self, key) -> bool:
        return key in self._families


def _v1_label_bytes(body: bytes) -> tuple[bytes, int]:
    """The leading run of label records (the cache key) and where it ends."""
    pos, end = 0, len(body)
    while pos < end and body[pos] == 0x0A:
        n = body[pos + 1] if pos + 1 < end else 0x80
        if n < 0x80:
            pos += 2 + n
        else:
            n, p = pb.varint(body, pos + 1)
            pos = p + n
    if pos > end:
        raise pb.MalformedError("malformed protobuf: a label runs past the end of its series")
    return body[:pos], pos


def _v2_entry(names: tuple[str, ...], mtype: int, unit: str) -> Labels:
    labels: dict[str, str] = {}
    error = None
    for k in range(0, len(names), 2):
        name = names[k]
        if name in labels and error is None:
            error = f"label {name[:80]!r} appears twice"
        labels[name] = names[k + 1]
    if "" in labels and error is None:
        error = "a label has an empty name"
    return Labels(labels, error, TYPES[mtype] if mtype < len(TYPES) else None, unit or None)


def _v2_metadata(body: bytes) -> tuple[int, int, int]:
    mtype = help_ref = unit_ref = 0
    for num, wt, value in pb.fields(body):
        if num == 1:
            pb.expect(num, wt, pb.VARINT, "Metadata.type")
            mtype = value  # type: ignore[assignment]
        elif num == 3:
            pb.expect(num, wt, pb.VARINT, "Metadata.help_ref")
            help_ref = value  # type: ignore[assignment]
        elif num == 4:
            pb.expect(num, wt, pb.VARINT, "Metadata.unit_ref")
            unit_ref = value  # type: ignore[assignment]
    return mtype, help_ref, unit_ref


def _field(body: bytes, pos: int, num: int, wt: int, end: int) -> tuple[object, int]:
    """One field's value after its key (the same rules as `pb.fields`)."""
    if num == 0:
        raise pb.MalformedError("malformed protobuf: field number 0")
    if wt == pb.VARINT:
        return pb.varint(body, pos)
    if wt == pb.LEN:
        n, pos = pb.varint(body, pos)
        if pos + n > end:
            raise pb.MalformedError("malformed protobuf: a length-delimited field runs past the end of its message")
        return body[pos:pos + n], pos + n
    if wt == pb.I64 or wt == pb.I32:
        size = 8 if wt == pb.I64 else 4
        if pos + size > end:
            raise pb.MalformedError("malformed protobuf: truncated fixed-width field")
        return int.from_bytes(body[pos:pos + size], "little"), pos + size
    raise pb.MalformedError(f"malformed protobuf: wire type {wt} (field {num}) is not valid here")


def _sample(body: bytes) -> tuple[float, int, int]:
    value, ts, start = 0.0, 0, 0
    for num, wt, v in pb.fields(body):
        if num == 1:
            pb.expect(num, wt, pb.I64, "Sample.value")
            value = pb.double(v)  # type: ignore[arg-type]
        elif num == 2:
            pb.expect(num, wt, pb.VARINT, "Sample.timestamp")
            ts = pb.int64(v)  # type: ignore[arg-type]
        elif num == 3:
            pb.expect(num, wt, pb.VARINT, "Sample.start_timestamp")
            start = pb.int64(v)  # type: ignore[arg-type]
    return value, ts, start


def _varint6(b: bytes) -> int:
    x = int.from_bytes(b, "little")
    return ((x & 0x7F) | (x >> 1 & 0x3F80) | (x >> 2 & 0x1FC000) | (x >> 3 & 0xFE00000)
            | (x >> 4 & 0x7F0000000) | (x >> 5 & 0x3F800000000))


def _not_finite(values: list[float], times: list[int], out: Decoded) -> str | None:
    """Drop staleness markers in place; name the first other NaN or infinity, if any."""
    keep_v, keep_t = [], []
    for v, t in zip(values, times):
        if v != v and _NAN_BITS.unpack(struct.pack("<d", v))[0] == STALE_NAN:
            out.stale += 1
            continue
        if v - v != 0.0:
            return f"value {v} at {t} ms is not stored; Weir stores finite numbers only"
        keep_v.append(v)
        keep_t.append(t)
    values[:] = keep_v
    times[:] = keep_t
    return None
