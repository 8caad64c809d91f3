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

Read: matchers select series among the store's metrics (`metric_names`, `series_of`) and
their points are read (`read`), bounded by `MAX_READ_SAMPLES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from weir.errors import InvalidInputError
from weir.metrics.model import Rejected, WirePoint
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
        self.decoder = rw.Decoder()

    def write(self, data: bytes, version: str) -> WriteOutcome:
        d = self.decoder.decode(data, version)
        out = WriteOutcome(exemplars=d.exemplars, histograms=d.histograms, stale=d.stale, samples=d.samples)
        dropped = [Rejected(i, reason) for i, reason in d.dropped]
        now = int(self.ingest.clock() * NS)
        oldest, newest = self.ingest.time_bounds(now)
        points: list[WirePoint | None] = []
        offsets: list[int] = []
        kept: list[int] = []
        zeros = 0
        for k, entry in enumerate(d.series):
            times = d.times[k]
            lo, hi = min(times) * MS, max(times) * MS
            if lo < oldest or hi > newest:
                bad = lo if lo < oldest else hi
                dropped.append(Rejected(d.index[k], f"{entry.text[:300]}: {self.ingest.time_error(bad, oldest, newest)}"))
                continue
            if not entry.resolved:
                self._resolve(entry)
            name, mtype, unit, raw = entry.name, entry.type, entry.unit, entry.raw
            offsets.append(len(points))
            kept.append(k)
            start = d.starts[k]
            if start and mtype == "counter" and start != entry.start and oldest <= start * MS < lo:
                points.append(WirePoint(name, 0.0, start * MS, mtype, unit, raw))
                zeros += 1
            points += [WirePoint(name, v, t * MS, mtype, unit, raw) for v, t in zip(d.values[k], times)]
        if points:
            result = self.ingest.ingest_points(points, [], now_ns=now)
            out.written = result.accepted - zeros
            if result.rejected:  # not expected after the checks above; reported per series all the same
                dropped += self._rejected_series(result.rejected, offsets, kept, d)
            for k in kept:
                if d.starts[k]:
                    d.series[k].start = d.starts[k]
        dropped.sort(key=lambda r: r.index)
        out.dropped = dropped
        out.dropped_samples = d.samples - out.written - d.stale
        return out

    def _resolve(self, entry: rw.Labels) -> None:
        """A label set seen for the first time: a stored series keeps its type and unit."""
        if entry.error is None:
            known = self.ingest.store.get_series(series_id(canonical_key(entry.name, entry.dims)))
            if known is not None:
                entry.type, entry.unit = known.type, known.unit
        entry.resolved = True

    @staticmethod
    def _rejected_series(rejected: list[Rejected], offsets: list[int], kept: list[int], d) -> list[Rejected]:
        import bisect

        seen: dict[int, Rejected] = {}
        for r in rejected:
            k = kept[bisect.bisect_right(offsets, r.index) - 1]
            seen.setdefault(k, Rejected(d.index[k], f"{d.series[k].text[:300]}: {r.error}"))
        return list(seen.values())


class ReadLimitError(InvalidInputError):
    """A read would return more than the documented bounds (as Prometheus, a 400)."""


class RemoteReadService:
    def __init__(self, store, max_samples: int = MAX_READ_SAMPLES, max_series: int = MAX_READ_SERIES) -> None:
        self.store = store
        self.max_samples = max_samples
        self.max_series = max_series

    def read(self, queries: list[rr.Query]) -> list[list[tuple[dict[str, str], list[int], list[float]]]]:
        budget = [self.max_samples]
        return [self._query(q, budget) for q in queries]

    def select(self, matchers: list[rr.Matcher]):
        """The stored series every matcher accepts (a missing label reads as "")."""
        by_name = [m for m in matchers if m.name == "__name__"]
        others = [m for m in matchers if m.name != "__name__"]
        exact = [m.value for m in by_name if m.op == "="]
        if exact:
            names = [exact[0]] if all(m.matches(exact[0]) for m in by_name) else []
        else:
            names = sorted(n for n in self.store.metric_names() if all(m.matches(n) for m in by_name))
        found = []
        for name in names:
            for s in self.store.series_of(name):
                dims = s.dimensions
                if all(m.matches(dims.get(m.name, "")) for m in others):
                    found.append(s)
                    if len(found) > self.max_series:
                        raise ReadLimitError(
                            f"the matchers {matchers} select more than {self.max_series} series; narrow them"
                        )
        return found

    def _query(self, q: rr.Query, budget: list[int]):
        series = self.select(q.matchers)
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
