"""Prometheus remote write 1.0 and 2.0 bodies (decompressed) → series of samples; no I/O.

Messages (field numbers from the published specifications, read by `weir.wire.pb`):
- 1.0 `prometheus.WriteRequest`: timeseries = 1 (labels = 1 {name = 1, value = 2},
  samples = 2 {value = 1 double, timestamp = 2 int64 ms}, exemplars = 3, histograms = 4),
  metadata = 3 {type = 1, metric_family_name = 2, help = 4, unit = 5}.
- 2.0 `io.prometheus.write.v2.Request`: symbols = 4, timeseries = 5 {labels_refs = 1 (packed
  pairs of indexes into symbols), samples = 2 {value = 1, timestamp = 2, start_timestamp = 3},
  histograms = 3, exemplars = 4, metadata = 5 {type = 1, help_ref = 3, unit_ref = 4},
  created_timestamp = 6 (2.0-rc.3; rc.4 moved it into the sample as start_timestamp)}.

Mapping to Weir (the Pushgateway path's, `weir.wire.prometheus`): `__name__` is the
metric name, every other label a dimension (a label with an empty value is no label, as in
Prometheus); the series type is `counter` for counters and for the `_bucket`, `_count` and
`_sum` series of histograms and summaries, `gauge` otherwise. The type comes from the
metadata where the sender gives it (2.0: per series; 1.0: the metadata records, which
Prometheus sends in their own requests, remembered here by family); without it, from the
name: the suffixes `_total`, `_count`, `_sum` and `_bucket` are reserved for counters by
Prometheus' naming rules, so they mean `counter`, anything else `gauge`. Help texts are
not kept (Weir has no place for them); a unit becomes the series' unit.

What is refused, per series (the rest of the request is stored; see `weir.wire.remote`):
labels Weir cannot store (no `__name__`, a label name twice, a name or value outside Weir's
rules), native histograms (Weir stores floats; Prometheus sends none unless its native
histograms are switched on), and NaN or infinite values. A staleness marker (the NaN
Prometheus writes when a series disappears) is a signal, not a value: it is skipped and
counted, not refused. Exemplars are skipped and counted.

Speed: a sender resends the same series every interval, so a series' label bytes (1.0) or
resolved label strings (2.0) key a cache of what they mean (its name, dimensions as the JSON
`WirePoint` carries, type). Samples are read in runs: a run of samples each encoded the usual
way (a non-zero value and a millisecond timestamp of six varint bytes: 18 bytes a sample) is
found by one regular expression and unpacked by `struct`, and becomes `WirePoint`s at once;
anything else takes the field-by-field path, which is the reference (the tests check that
both agree). What needs a look per series (a NaN, a time out of bounds, a start timestamp) is
found over the whole request first and left to `weir.wire.remote`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from weir.errors import InvalidInputError
from weir.metrics import limits
from weir.metrics.model import MetricType
from weir.metrics.series import canonical_key, check_dimensions, check_name
from weir.wire import pb
from weir.wire import prometheus as prom
from weir.wire.remote_columns import Decoded, FieldSamples, Run, label_end, label_records, top_level

if TYPE_CHECKING:
    from weir.metrics.ingest import SeriesKey

V1 = "prometheus.WriteRequest"
V2 = "io.prometheus.write.v2.Request"
TYPES = ("unknown", "counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset")
STALE_NAN = 0x7FF0000000000002  # Prometheus' staleness marker
_COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")
_CACHE_LIMIT = 100_000  # label sets (about 50 MB); past it, the cache starts again empty
_encode = msgspec.json.encode


class Labels:
    """What one label set means to Weir, worked out once and cached (kept small: a sender's
    every series has one; about 500 bytes with six labels)."""

    __slots__ = ("name", "type", "unit", "error", "start", "key")

    def __init__(self, labels: dict[str, str], error: str | None, mtype: str | None, unit: str | None) -> None:
        name = sys.intern(labels.pop("__name__", ""))
        dims = {k: v for k, v in labels.items() if v != ""}
        self.name = name
        self.error = error
        if error is None:
            if not name:
                self.error = "the series has no __name__ label"
            else:
                try:
                    check_name(name)
                    check_dimensions(dims)
                except InvalidInputError as exc:
                    self.error = exc.message
        self.type: MetricType = series_type(name, mtype)
        self.unit = unit if unit and len(unit) <= limits.MAX_UNIT_LENGTH else None
        self.start = 0  # the last start (created) timestamp a zero was written for (weir.wire.remote)
        # What names the series to the ingest service: name, type, unit, dimensions as JSON.
        self.key: SeriesKey = (name, self.type, self.unit, _encode(dims))

    def retype(self, mtype: MetricType, unit: str | None) -> None:
        self.type, self.unit = mtype, unit
        self.key = (self.name, mtype, unit, self.key[3])

    @property
    def dims(self) -> dict[str, str]:
        return msgspec.json.decode(self.key[3])

    @property
    def text(self) -> str:
        """The series as a person reads it, for messages."""
        return canonical_key(self.name, self.dims)[:300] or "{}"


def series_type(name: str, mtype: str | None) -> MetricType:
    """Weir's type for a series named `name` whose family has Prometheus type `mtype`."""
    if mtype is None or mtype == "unknown":
        return "counter" if name.endswith(_COUNTER_SUFFIXES) else "gauge"
    if mtype == "counter":
        return "counter"
    if mtype in ("histogram", "summary") and name.endswith(("_bucket", "_count", "_sum")):
        return "counter"
    return "gauge"


class Decoder:
    """Decodes requests; keeps the label cache and, for 1.0, the metadata seen so far.

    `resolve`, when given, is called once with each label set first seen (before its points
    are made), so the caller can settle its type and unit (`weir.wire.remote`).
    """

    def __init__(self, resolve: Callable[[Labels], None] | None = None) -> None:
        self._labels: dict[object, Labels] = {}
        self.families: dict[str, tuple[str, str | None]] = {}  # 1.0 metadata: family → (type, unit)
        self.resolve = resolve

    def decode(self, data: bytes, version: str) -> Decoded:
        return self.decode_v2(data) if version == V2 else self.decode_v1(data)

    # -- 1.0 ---------------------------------------------------------------------------

    def decode_v1(self, data: bytes) -> Decoded:
        out, created = self._decode_v1(data)
        if out.metadata and created:
            # Metadata came with samples (in field order, after them): label sets first seen
            # in this request were typed without it. Forget them and read the request again.
            for key in created:
                self._labels.pop(key, None)
            out, _ = self._decode_v1(data)
        return out

    def _decode_v1(self, data: bytes) -> tuple[Decoded, list]:
        """One pass over a WriteRequest; also returns the cache keys it created."""
        out = Decoded()
        run = Run(out)
        cache = self._labels
        created: list = []
        size = len(data)
        fast_series, fast_index, fast_counts, runs = run.series, run.index, run.counts, run.runs
        i = pos = 0
        try:
            while pos < size:
                if data[pos] != 0x0A:  # not a timeseries (tag 1, LEN): metadata, or a field to skip
                    num, wt, a, b, pos = pb.field_at(data, pos, size)
                    if num == 1:
                        pb.expect(num, wt, pb.LEN, "WriteRequest.timeseries")
                    elif num == 3:
                        pb.expect(num, wt, pb.LEN, "WriteRequest.metadata")
                        self._metadata(data[a:b])
                        out.metadata += 1
                    continue
                b1 = data[pos + 1]
                if b1 < 0x80:
                    p = pos + 2
                    e = p + b1
                elif data[pos + 2] < 0x80:
                    p = pos + 3
                    e = p + (b1 & 0x7F | data[pos + 2] << 7)
                else:
                    b1, p = pb.varint(data, pos + 1)
                    e = p + b1
                if e > size:
                    raise pb.MalformedError("malformed protobuf: a timeseries runs past the end of the request")
                pos = e
                # The usual series: label records, then a run of 18-byte samples to its end. The
                # run is found from the end (a sample per step; senders send one or a few per
                # series), the labels before it are the cache key. A key in the cache was
                # walked, when first seen, as whole label records; `run.check` then verifies
                # every run at once: so a hit parses as those labels and those samples.
                q = e - 18
                while q >= p and data[q] == 0x12 and data[q + 1] == 0x10 and data[q + 2] == 0x09:
                    q -= 18
                q += 18
                entry = cache.get(data[p:q]) if q < e else None
                if entry is None:  # first seen, or its labels end like a sample: walk them
                    q = label_end(data, p, e)
                    if q < e and not (e - q) % 18 and data[q] == 0x12:
                        key = data[p:q]
                        entry = cache.get(key)
                        if entry is None:
                            entry = self._v1_entry(label_records(key))
                            self._remember(key, entry)
                            created.append(key)
                if entry is not None and entry.error is None:  # runs are taken on trust, then checked
                    fast_series.append(entry)
                    fast_index.append(i)
                    fast_counts.append((e - q) // 18)
                    runs.append(data[q:e])
                    i += 1
                    continue
                run.fast_n = sum(fast_counts)
                self._v1_series(run, data, p, e, i, created)
                i += 1
            run.fast_n = sum(fast_counts)
            bad = run.check()
            if bad:
                spans = [(a, b) for num, _, a, b in pb.spans(data) if num == 1]
                bad_series = [(spans[run.index[k]], run.index[k]) for k in bad]
                run.drop_unchecked()
                for (p, e), i in bad_series:  # samples not all of the usual shape after all
                    self._v1_series(run, data, p, e, i, created)
        except IndexError:
            raise pb.MalformedError("malformed protobuf: the request is truncated") from None
        return run.done(), created

    def _v1_series(self, run: Run, data: bytes, p: int, e: int, i: int, created: list) -> None:
        """A series not of the usual shape, read field by field."""
        q = label_end(data, p, e)
        key: object = data[p:q]
        got = FieldSamples(data, q, e, v2=False)
        if got.late:  # label records after the samples: legal, rare; keyed by all of them
            key = tuple([v for _, _, v in pb.fields(data[p:q])] + got.late)
        entry = self._labels.get(key)
        if entry is None:
            entry = self._v1_entry(key if isinstance(key, tuple) else label_records(data[p:q]))
            self._remember(key, entry)
            created.append(key)
        run.accept(entry, i, got, v2=False)

    def _v1_entry(self, records) -> Labels:
        labels: dict[str, str] = {}
        error = None
        for record in records:
            # The usual label: name (field 1) then value (field 2), both under 128 bytes.
            n = record[1] if len(record) > 1 and record[0] == 0x0A else 0x80
            if n < 0x80 and (2 + n == len(record) or (record[2 + n] == 0x12 and record[3 + n] == len(record) - 4 - n)):
                labels_name = pb.text(record[2:2 + n], "a label name")
                if labels_name in labels and error is None:
                    error = f"label {labels_name[:80]!r} appears twice"
                labels[labels_name] = pb.text(record[4 + n:], "a label value")
                continue
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
        spans: list[tuple[int, int]] = []
        for num, wt, start, end in top_level(data, 0x2A):
            if num == 4:
                pb.expect(num, wt, pb.LEN, "Request.symbols")
                symbols.append(pb.text(data[start:end], "a symbol"))
            elif num == 5:
                pb.expect(num, wt, pb.LEN, "Request.timeseries")
                spans.append((start, end))
        run = Run(out)
        metas: dict[bytes, tuple[int, int, int]] = {}
        try:
            for i, (p, e) in enumerate(spans):
                self._v2_series(run, data, p, e, i, symbols, metas, True)
        except IndexError:
            raise pb.MalformedError("malformed protobuf: the request is truncated") from None
        bad = [(run.spans[k], run.index[k]) for k in run.check()]
        run.drop_unchecked()
        for (p, e), i in bad:  # samples not all of the usual shape after all: read field by field
            self._v2_series(run, data, p, e, i, symbols, metas, False)
        return run.done()

    def _v2_series(self, run: Run, data: bytes, p: int, e: int, i: int, symbols: list[str],
                   metas: dict[bytes, tuple[int, int, int]], fast: bool) -> None:
        """One 2.0 series: labels_refs, then a run of usual samples (taken on trust, checked
        by `run.check`) and its metadata record, or else read field by field."""
        refs: list[int] = []
        q = p
        if q < e and data[q] == 0x0A:  # the usual leading labels_refs record, packed
            size, r = pb.varint(data, q + 1)
            q = r + size
            if q > e:
                raise pb.MalformedError("malformed protobuf: labels_refs runs past the end of its series")
            packed = data[r:q]
            refs = list(packed) if not packed or max(packed) < 0x80 else pb.packed_varints(packed)
        tail = q
        while tail + 18 <= e and data[tail] == 0x12 and data[tail + 1] == 0x10:
            tail += 18
        meta = b""
        if tail < e - 1 and data[tail] == 0x2A and data[tail + 1] < 0x80 and data[tail + 1] == e - tail - 2:
            meta = data[tail + 2:e]
        elif tail != e:
            fast = False
        got = None
        if not fast or tail == q:
            got = FieldSamples(data, q, e, v2=True)
            refs += got.late
            meta = got.metadata
        found = metas.get(meta)
        if found is None:
            found = metas[meta] = _v2_metadata(meta)
        mtype, help_ref, unit_ref = found
        n = len(symbols)
        bad = max(refs, default=0) >= n or help_ref >= n or unit_ref >= n
        if bad or len(refs) % 2:
            reason = (f"a symbol reference ({max(*refs, help_ref, unit_ref)}) is outside the symbols table "
                      f"({n} symbols)" if bad else "labels_refs holds an odd number of references")
            run.refuse(i, reason, got if got is not None else FieldSamples(data, q, e, v2=True))
            return
        names = tuple([symbols[r] for r in refs])
        key = (names, mtype, symbols[unit_ref] if unit_ref else "")
        entry = self._labels.get(key)
        if entry is None:
            entry = _v2_entry(names, mtype, key[2])
            self._remember(key, entry)
        if got is None and entry.error is None:
            run.add(entry, i, data[q:tail], (p, e))
        else:
            run.accept(entry, i, got if got is not None else FieldSamples(data, q, e, v2=True), v2=True)

    def _remember(self, key, entry: Labels) -> None:
        if len(self._labels) >= _CACHE_LIMIT:
            self._labels.clear()
        if self.resolve is not None and entry.error is None:
            self.resolve(entry)
        self._labels[key] = entry


class _Types(dict):
    """A view of 1.0 metadata as `prom.family_of` reads its `# TYPE` map: family → type."""

    def __init__(self, families) -> None:
        super().__init__()
        self._families = families

    def get(self, key, default=None):
        found = self._families.get(key)
        return found[0] if found is not None else default

    def __contains__(self, key) -> bool:
        return key in self._families


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
