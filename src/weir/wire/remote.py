"""Prometheus remote write and remote read over the metric store.

Write: a decoded request (`weir.wire.remote_write`) becomes Weir points that go through
`IngestService.ingest_points` like every other format: the same validation, limits,
duplicate rule (a point at a stored series and instant replaces it) and durability (the
answer waits for the commit). What remote write adds is the series as the unit of a partial
write: a series with any sample Weir refuses (out of the retention window, too far in the
future, NaN, bad labels) is dropped whole from the request, and the answer names it (400),
so no series is ever half stored by one request. The time bounds are checked here against
the same instant the ingest service then uses, so its checks cannot disagree with these.

A series keeps the type and unit it was first stored with: when a label set is first seen
in this process, the store is asked for its series and, if it exists, its type and unit are
used whatever the metadata says now (1.0 senders send metadata apart from samples, and late).

Start (created) timestamps of counters (2.0) are written as a zero at that instant when it
lies before the first sample and within the retention window, as Prometheus does with its
created-timestamp feature: the counter was zero when it was created, and `rate` and
`increase` see the reset. Each start instant is written once per process and series.

Read: matchers select series as PromQL does (`weir.promql.source`), their points are read
(`MetricStore.read`), bounded by `MAX_READ_SERIES` and `MAX_READ_SAMPLES`.
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass, field
from typing import cast

from weir.errors import InvalidInputError
from weir.metrics.model import MetricType, Rejected
from weir.metrics.series import canonical_key, series_id
from weir.metrics.timeutil import NS
from weir.wire import remote_read as rr
from weir.wire import remote_write as rw

MS = 1_000_000  # ns per ms
MAX_READ_SAMPLES = 1_000_000
MAX_READ_SERIES = 100_000
_READ_BATCH = 500  # series per store read


@dataclass
class WriteOutcome:
    written: int = 0  # samples stored
    dropped: list[Rejected] = field(default_factory=list)  # per refused series: its index in the request
    dropped_samples: int = 0
    exemplars: int = 0
    histograms: int = 0
    stale: int = 0
    samples: int = 0

    def message(self) -> str:
        n = len(self.dropped)
        first = "; ".join(r.error for r in self.dropped[:3])
        return (f"{n} series ({self.dropped_samples} samples) of the request were not stored, the other "
                f"{self.written} samples were: {first}{' ...' if n > 3 else ''}")


class RemoteWriteService:
    def __init__(self, ingest) -> None:
        self.ingest = ingest
        self.decoder = rw.Decoder(resolve=self._resolve)

    def write(self, data: bytes, version: str) -> WriteOutcome:
        d = self.decoder.decode(data, version)
        out = WriteOutcome(exemplars=d.exemplars, histograms=d.histograms, samples=d.samples)
        dropped = [Rejected(i, reason) for i, reason in d.dropped]
        now = int(self.ingest.clock() * NS)
        oldest, newest = self.ingest.time_bounds(now)
        cols = _Columns(None, d.counts, d.times, d.values)
        total = sum(d.values)
        if d.values and not (oldest <= d.tmin and d.tmax <= newest and total - total == 0.0 and not d.starts):
            cols = self._checked(d, oldest, newest, dropped, out)  # some series need a look
        if cols.values:
            series = d.series
            keys = [e.key for e in series] if cols.kept is None else [series[k].key for k in cols.kept]
            result = self.ingest.ingest_columns(keys, cols.counts, cols.times, cols.values, now_ns=now)
            out.written = result.accepted - cols.zeros
            if result.rejected:  # not expected after the checks; reported per series all the same
                dropped += _rejected_series(result.rejected, cols, d)
            for k, start in d.starts.items():
                d.series[k].start = start
        dropped.sort(key=lambda r: r.index)
        out.dropped = dropped
        out.dropped_samples = d.samples - out.written - out.stale
        return out

    def _checked(self, d: rw.Decoded, oldest: int, newest: int, dropped: list[Rejected], out: WriteOutcome):
        """Series by series: staleness markers skipped, a series with another non-finite value
        or an instant out of bounds dropped whole, a zero written at a counter's start."""
        cols = _Columns([], [], [], [])
        a = 0
        for k, entry in enumerate(d.series):
            b = a + d.counts[k]
            times, vals = d.times[a:b], d.values[a:b]
            a = b
            total = sum(vals)
            if total - total != 0.0:
                pairs = [(t, v) for t, v in zip(times, vals) if not _stale(v)]
                out.stale += len(times) - len(pairs)
                bad = next(((t, v) for t, v in pairs if v - v != 0.0), None)
                if bad is not None:
                    dropped.append(Rejected(d.index[k], f"{entry.text}: value {bad[1]} at {bad[0] // MS} ms is not "
                                                        f"stored; Weir stores finite numbers only"))
                    continue
                if not pairs:
                    continue
                times, vals = [t for t, _ in pairs], [v for _, v in pairs]
            lo, hi = min(times), max(times)
            if lo < oldest or hi > newest:
                bad_ns = lo if lo < oldest else hi
                dropped.append(Rejected(d.index[k], f"{entry.text}: {self.ingest.time_error(bad_ns, oldest, newest)}"))
                continue
            start = d.starts.get(k, 0) * MS
            if start and entry.type == "counter" and d.starts[k] != entry.start and oldest <= start < lo:
                times, vals = [start, *times], [0.0, *vals]
                cols.zeros += 1
            cols.kept.append(k)  # type: ignore[union-attr]
            cols.counts.append(len(times))
            cols.times += times
            cols.values += vals
        return cols

    def _resolve(self, entry: rw.Labels) -> None:
        """A label set seen for the first time: a stored series keeps its type and unit."""
        known = self.ingest.store.get_series(series_id(canonical_key(entry.name, entry.dims)))
        if known is not None:
            entry.retype(cast(MetricType, known.type), known.unit)


@dataclass
class _Columns:
    kept: list[int] | None  # positions in Decoded.series (None: all)
    counts: list[int]
    times: list[int]
    values: list[float]
    zeros: int = 0


def _stale(v: float) -> bool:
    return v != v and struct.unpack("<Q", struct.pack("<d", v))[0] == rw.STALE_NAN


def _rejected_series(rejected: list[Rejected], cols: _Columns, d: rw.Decoded) -> list[Rejected]:
    offsets = [0]
    for n in cols.counts[:-1]:
        offsets.append(offsets[-1] + n)
    seen: dict[int, Rejected] = {}
    for r in rejected:
        k = bisect.bisect_right(offsets, r.index) - 1
        k = k if cols.kept is None else cols.kept[k]
        seen.setdefault(k, Rejected(d.index[k], f"{d.series[k].text}: {r.error}"))
    return list(seen.values())


class ReadLimitError(InvalidInputError):
    """A read would return more than the documented bounds (as Prometheus, a 400)."""


class RemoteReadService:
    """Reads for remote read: series selected as PromQL selects them (`StoreSource`: matchers,
    the store's inverted index), points read in batches against a sample budget."""

    def __init__(self, store, max_samples: int = MAX_READ_SAMPLES, max_series: int = MAX_READ_SERIES) -> None:
        from weir.promql.source import StoreSource

        self.store = store
        self.source = StoreSource(store)
        self.max_samples = max_samples
        self.max_series = max_series

    def read(self, queries: list[rr.Query]) -> list[list[tuple[dict[str, str], list[int], list[float]]]]:
        budget = [self.max_samples]
        return [self._query(q, budget) for q in queries]

    def _query(self, q: rr.Query, budget: list[int]):
        series = self.source.select(q.matchers)
        if len(series) > self.max_series:
            raise ReadLimitError(
                f"the matchers {', '.join(map(str, q.matchers))} select {len(series)} series, more than the "
                f"{self.max_series} a remote read may return; narrow them"
            )
        start, end = q.start_ms * MS, (q.end_ms + 1) * MS  # the query's end is inclusive, in ms
        out = []
        for i in range(0, len(series), _READ_BATCH):
            chunk = series[i:i + _READ_BATCH]
            got = self.store.read([s.id for s in chunk], start, end)
            for s in chunk:
                ts, vals = got.get(s.id, ([], []))
                if not ts:
                    continue
                budget[0] -= len(ts)
                if budget[0] < 0:
                    raise ReadLimitError(
                        f"the read would return more than {self.max_samples} samples (the remote-read sample "
                        f"limit); query a shorter range or fewer series"
                    )
                times, values = _to_ms(ts, vals)
                out.append(({**s.dimensions, "__name__": s.name}, times, values))
        out.sort(key=lambda x: sorted(x[0].items()))
        return out


def _to_ms(ts: list[int], vals: list[float]) -> tuple[list[int], list[float]]:
    """Times in ms; of points within one millisecond (Weir keeps ns), the last is kept."""
    times = [t // MS for t in ts]
    if len(set(times)) == len(times):
        return times, list(vals)
    out_t: list[int] = []
    out_v: list[float] = []
    for t, v in zip(times, vals):
        if out_t and out_t[-1] == t:
            out_v[-1] = v
        else:
            out_t.append(t)
            out_v.append(v)
    return out_t, out_v
