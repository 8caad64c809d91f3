"""Encoding the remote write and read messages (the other direction of `remote_write`/`remote_read`).

Weir encodes `ReadResponse`s for remote read; the write requests and read requests are what a
sender encodes, kept here for the tests, the benchmark and anyone scripting a sender. Field
numbers are those of the published specifications (see `weir.wire.remote_write`). Fields
holding their default value are left out, as protobuf 3 encoders do (a sample of value 0
has no value field), so a decoder meets the shapes real senders produce.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from weir.wire import pb

TYPE_NUMBERS = {"unknown": 0, "counter": 1, "gauge": 2, "histogram": 3, "gaugehistogram": 4, "summary": 5,
                "info": 6, "stateset": 7}
MATCHERS = {"=": 0, "!=": 1, "=~": 2, "!~": 3}


def _sample(value: float, ts_ms: int, start_ms: int = 0) -> bytearray:
    out = bytearray()
    if value != 0.0 or math.copysign(1.0, value) < 0:  # -0.0 keeps its sign bit on the wire
        pb.put_double(out, 1, value)
    if ts_ms:
        pb.put_int(out, 2, ts_ms)
    if start_ms:
        pb.put_int(out, 3, start_ms)
    return out


def timeseries_v1(labels: Mapping[str, str], samples: Iterable[tuple[int, float]]) -> bytearray:
    """A 1.0 `TimeSeries`: labels sorted by name (`__name__` among them), then the samples."""
    out = bytearray()
    for name in sorted(labels):
        label = bytearray()
        if name:
            pb.put_len(label, 1, name.encode())
        if labels[name]:
            pb.put_len(label, 2, labels[name].encode())
        pb.put_len(out, 1, label)
    for ts, value in samples:
        pb.put_len(out, 2, _sample(value, ts))
    return out


def write_request_v1(series: Iterable[tuple[Mapping[str, str], Iterable[tuple[int, float]]]],
                     metadata: Iterable[tuple[str, str, str, str]] = ()) -> bytes:
    """A `prometheus.WriteRequest`: (labels, [(ts ms, value)]) per series; metadata as
    (family, type, help, unit)."""
    out = bytearray()
    for labels, samples in series:
        pb.put_len(out, 1, timeseries_v1(labels, samples))
    for family, mtype, help_text, unit in metadata:
        m = bytearray()
        if TYPE_NUMBERS[mtype]:
            pb.put_int(m, 1, TYPE_NUMBERS[mtype])
        for num, text in ((2, family), (4, help_text), (5, unit)):
            if text:
                pb.put_len(m, num, text.encode())
        pb.put_len(out, 3, m)
    return bytes(out)


@dataclass
class SeriesV2:
    labels: Mapping[str, str]
    samples: Sequence[tuple[int, float]]
    type: str = "unknown"
    help: str = ""
    unit: str = ""
    start_ms: int = 0  # the start (created) timestamp, written into each sample (2.0-rc.4)
    exemplars: Sequence[tuple[Mapping[str, str], float, int]] = field(default_factory=list)


def write_request_v2(series: Iterable[SeriesV2]) -> bytes:
    """An `io.prometheus.write.v2.Request`, its symbols table starting with the empty string."""
    symbols: dict[str, int] = {"": 0}

    def ref(text: str) -> int:
        found = symbols.get(text)
        if found is None:
            found = symbols[text] = len(symbols)
        return found

    body = bytearray()
    for s in series:
        ts = bytearray()
        refs = bytearray()
        for name in sorted(s.labels):
            pb.put_varint(refs, ref(name))
            pb.put_varint(refs, ref(s.labels[name]))
        if refs:
            pb.put_len(ts, 1, refs)
        for t, v in s.samples:
            pb.put_len(ts, 2, _sample(v, t, s.start_ms))
        for labels, value, t in s.exemplars:
            ex = bytearray()
            erefs = bytearray()
            for name in sorted(labels):
                pb.put_varint(erefs, ref(name))
                pb.put_varint(erefs, ref(labels[name]))
            if erefs:
                pb.put_len(ex, 1, erefs)
            pb.put_double(ex, 2, value)
            pb.put_int(ex, 3, t)
            pb.put_len(ts, 4, ex)
        meta = bytearray()
        if TYPE_NUMBERS[s.type]:
            pb.put_int(meta, 1, TYPE_NUMBERS[s.type])
        if s.help:
            pb.put_int(meta, 3, ref(s.help))
        if s.unit:
            pb.put_int(meta, 4, ref(s.unit))
        if meta:
            pb.put_len(ts, 5, meta)
        pb.put_len(body, 5, ts)
    out = bytearray()
    for text in symbols:
        pb.put_len(out, 4, text.encode())
    return bytes(out + body)


def read_request(queries: Iterable[tuple[int, int, Sequence[tuple[str, str, str]]]],
                 accepted: Sequence[int] = ()) -> bytes:
    """A `ReadRequest`: (start ms, end ms, [(type, name, value)]) per query; `accepted`
    response types (0 SAMPLES, 1 STREAMED_XOR_CHUNKS), none as Prometheus 2.42 sends."""
    out = bytearray()
    for start, end, matchers in queries:
        q = bytearray()
        if start:
            pb.put_int(q, 1, start)
        if end:
            pb.put_int(q, 2, end)
        for op, name, value in matchers:
            m = bytearray()
            if MATCHERS[op]:
                pb.put_int(m, 1, MATCHERS[op])
            if name:
                pb.put_len(m, 2, name.encode())
            if value:
                pb.put_len(m, 3, value.encode())
            pb.put_len(q, 3, m)
        pb.put_len(out, 1, q)
    if accepted:
        packed = bytearray()
        for t in accepted:
            pb.put_varint(packed, t)
        pb.put_len(out, 2, packed)
    return bytes(out)
