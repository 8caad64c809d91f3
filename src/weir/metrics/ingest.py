"""Turning decoded datapoints into a stored batch, with per-point errors.

Series identity is validated once per distinct (name, dimensions) seen by this process and
cached; a batch of points for known series then costs a dictionary lookup and two range
checks per point. That is what lets one core ingest several hundred thousand points a
second in Python.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from itertools import chain, repeat
from typing import cast

import msgspec

from weir.durability import after_durable
from weir.errors import InvalidInputError
from weir.metrics import limits
from weir.metrics.cardinality import SeriesBudget
from weir.metrics.model import IngestResult, MetricType, Rejected, WirePoint, decode_dimensions
from weir.metrics.ports import MetricStore, PointBatch
from weir.metrics.series import Series, make_series
from weir.metrics.series_cache import SeriesCache
from weir.metrics.timeutil import NS, datetime_to_ns, epoch_to_ns, ns_to_rfc3339

log = logging.getLogger(__name__)

# Told about each stored batch once it is durable (alert evaluation listens here). It runs
# on the request path or the store's writer thread, so it must only hand the batch off.
IngestListener = Callable[[PointBatch], None]

# The series cache's key: what identifies a series in a `WirePoint` (name, type, unit, the
# dimensions as their raw JSON bytes).
SeriesKey = tuple[str, MetricType, "str | None", bytes]

# Series ids by (name, type, unit, dimension bytes): ~300 bytes each. As large as the default
# series limit, so a store at that limit is served from the cache, not cleared and refilled
# every pass over its series (at 1M series the cache of 1M was cleared each time it filled).
_CACHE_LIMIT = 2_000_000
_SECONDS_MAX = 10**11  # below this an epoch number is seconds (see timeutil)
_NS_MIN = 10**17  # from here on an epoch number is nanoseconds (see timeutil)
_NO_IDS: dict[bytes, int] = {}


class NoValidPointsError(InvalidInputError):
    """Every point of the request was rejected; carries the per-point reasons."""

    def __init__(self, rejected: list[Rejected]) -> None:
        first = rejected[0].error if rejected else "empty"
        super().__init__(f"no valid datapoint in the request (first error: {first})", details=rejected)


class IngestService:
    def __init__(
        self,
        store: MetricStore,
        retention_seconds: int = limits.DEFAULT_RETENTION_SECONDS,
        clock: Callable[[], float] = time.time,
        listener: IngestListener | None = None,
        budget: SeriesBudget | None = None,
    ) -> None:
        self.store = store
        self.budget = budget  # the series limits (weir.metrics.cardinality); None: unlimited
        self.retention_ns = retention_seconds * NS
        self.clock = clock
        self.listener = listener
        self._series = SeriesCache(_CACHE_LIMIT)  # cache key -> series id (validated once per process)
        self._made: dict[tuple, Series] = {}  # this batch's prefetched series (see _prefetch)
        self._stored: dict[int, Series] = {}
        self._epoch: int | None = None  # the store's series_epoch the cache was filled at
        self.accepted_total = 0  # points accepted since start, every format (GET /status's ingest rate)

    def ingest_points(
        self, points: list[WirePoint | None], rejected: list[Rejected], *, now_ns: int | None = None
    ) -> IngestResult:
        """Validate and store decoded points; every wire format ends here.

        `points[i]` is None where a decoder already rejected point i (listed in `rejected`).
        `now_ns` is the instant the time bounds are measured from (`time_bounds`), for a
        caller that checked the points against them first (remote write refuses a series
        whole rather than store part of it); by default, the clock's now.
        """
        batch = self._validate(points, rejected, now_ns)
        if not len(batch):
            raise NoValidPointsError(sorted(rejected, key=lambda r: r.index))
        if self.listener is not None and batch.names is None:  # the alert worker's metrics, named
            batch.names = {p.name for p in points if p is not None}  # (a superset: rejected points too)
        self.store.append(batch)
        self.accepted_total += len(batch)
        if self.listener is not None:
            after_durable(lambda: self._tell(batch))
        rejected.sort(key=lambda r: r.index)
        return IngestResult(len(batch), rejected)

    def ingest_columns(
        self, keys: list[SeriesKey], counts: list[int], timestamps: list[int], values: list[float], *,
        now_ns: int | None = None,
    ) -> IngestResult:
        """`ingest_points` for points that come series by series (remote write), in columns.

        Series k is `keys[k]`: (name, type, unit, dimensions as JSON bytes), what a
        `WirePoint` of it carries. It has the next `counts[k]` of `timestamps` (ns) and
        `values`. The clean case (every instant within bounds, every value finite, every
        series valid) costs one cache lookup per series instead of one per point; anything
        else is handed to `ingest_points` as points, so the answer is the same as theirs
        (point indexes count across all series, in order).
        """
        now = int(self.clock() * NS) if now_ns is None else now_ns
        oldest, newest = self.time_bounds(now)
        self._sync_epoch()
        total = sum(values)
        clean = bool(timestamps) and oldest <= min(timestamps) and max(timestamps) <= newest and total - total == 0.0
        fresh: dict[int, Series] = {}
        found = list(map(self._series.get, keys)) if clean else []
        if clean and None in found:  # series not cached yet: resolved (and validated) one by one
            resolved: list[tuple] = []
            for k, key in enumerate(keys):
                if found[k] is None:
                    try:
                        found[k] = self._resolve(key, _point(key), fresh).id
                    except InvalidInputError:
                        clean = False
                        break
                    resolved.append(key)
            if not clean:
                for key in resolved:  # not stored: `ingest_points` must see them as new again
                    self._series.pop(key)
        if not clean:
            return self._as_points(keys, counts, timestamps, values, now)
        ids: list[int] = found  # type: ignore[assignment]  # no None left
        sids = list(chain.from_iterable(map(repeat, ids, counts)))
        batch = PointBatch(sids, list(timestamps), list(values), list(fresh.values()))
        if self.listener is not None:  # the alert worker's metrics, named
            batch.names = {key[0] for key in keys}
        self.store.append(batch)
        self.accepted_total += len(batch)
        if self.listener is not None:
            after_durable(lambda: self._tell(batch))
        return IngestResult(len(batch), [])

    def _as_points(self, keys, counts, timestamps, values, now: int) -> IngestResult:
        points: list[WirePoint | None] = []
        rejected: list[Rejected] = []
        i = 0
        for (name, mtype, unit, dims), n in zip(keys, counts):
            raw = msgspec.Raw(dims)
            for t, v in zip(timestamps[i:i + n], values[i:i + n]):
                if v - v == 0.0:
                    points.append(WirePoint(name, v, t, mtype, unit, raw))
                else:
                    rejected.append(Rejected(len(points), f"value: {v} is not stored; Weir stores finite numbers only"))
                    points.append(None)
            i += n
        return self.ingest_points(points, rejected, now_ns=now)

    def _tell(self, batch: PointBatch) -> None:
        try:
            cast(IngestListener, self.listener)(batch)  # ingest_points schedules this only with a listener
        except Exception:  # a listener's failure never fails the ingest that is already stored
            log.exception("ingest listener failed")

    def time_bounds(self, now_ns: int) -> tuple[int, int]:
        """The oldest and newest instants (ns) a point ingested at `now_ns` may have."""
        return now_ns - self.retention_ns, now_ns + limits.MAX_FUTURE_SECONDS * NS

    def _validate(self, points: list, rejected: list[Rejected], now_ns: int | None = None) -> PointBatch:
        now = int(self.clock() * NS) if now_ns is None else now_ns
        oldest, newest = self.time_bounds(now)
        self._sync_epoch()
        if not rejected:
            fast = self._validate_known(points, oldest, newest, now)
            if fast is not None:
                return fast
        batch = PointBatch()
        fresh: dict[int, Series] = {}  # series first seen in this batch
        self._made, self._stored = {}, {}
        prefetched = False
        add_sid, add_ts, add_val = batch.series_ids.append, batch.timestamps.append, batch.values.append
        kinds = self._series.by_kind.get
        kname: str | None = None  # the metric of the previous point (name, type, unit), and its ids
        ktype = kunit = None
        ids: dict[bytes, int] | None = None
        # The hot loop: keep it to lookups and comparisons (see the module docstring).
        for i, p in enumerate(points):
            if p is None:
                continue
            ts = p.timestamp
            if type(ts) is int and 0 < ts < _SECONDS_MAX:
                ns = ts * NS
            elif ts is None:
                ns = now
            elif type(ts) is int or type(ts) is float:
                ns = epoch_to_ns(ts)
            else:
                ns = datetime_to_ns(ts)
            if ns < oldest or ns > newest:
                rejected.append(Rejected(i, self.time_error(ns, oldest, newest)))
                continue
            name, mtype, unit, dims = key = (p.name, p.type, p.unit, bytes(p.dimensions))
            if name != kname or mtype != ktype or unit != kunit:
                kname, ktype, kunit = name, mtype, unit
                ids = kinds((name, mtype, unit))
            sid = None if ids is None else ids.get(dims)
            if sid is None:
                if not prefetched:  # the first series not cached: look up the rest of the batch's at once
                    self._prefetch(points, i)
                    prefetched = True
                kname = None  # resolving may have given the metric its first ids
                try:
                    sid = self._resolve(key, p, fresh).id
                except InvalidInputError as exc:
                    rejected.append(Rejected(i, exc.message))
                    continue
            add_sid(sid)
            add_ts(ns)
            add_val(p.value)
        batch.new_series = list(fresh.values())
        return batch

    def _sync_epoch(self) -> None:
        epoch = self.store.series_epoch
        if epoch != self._epoch:  # the store forgot series (retention, a failed write)
            self._series.clear()
            self._epoch = epoch

    def _validate_known(self, points: list[WirePoint], oldest: int, newest: int, now: int) -> PointBatch | None:
        """The common case in columns: integer timestamps in range, known series.

        The timestamps must all be epoch seconds (JSON clients, line protocol at `s`) or all
        nanoseconds (OTLP, line protocol at `ns`): the two bands where the unit needs no
        per-point guess; or all absent (the points are stamped `now`). Comprehensions over the
        batch run at C speed; any surprise (another timestamp form, a time out of range, a
        series not yet cached) returns None and the point-by-point loop takes over, with its
        per-point errors.
        """
        tss = cast(list[int], [p.timestamp for p in points])
        kinds = set(map(type, tss))
        if kinds != {int}:
            if kinds != {type(None)}:
                return None
            tss = [now] * len(tss)  # no timestamps: `now`, within bounds by definition
        lo, hi = min(tss), max(tss)
        if 0 < lo and hi < _SECONDS_MAX:
            if not (oldest <= lo * NS and hi * NS <= newest):
                return None
            # One instant per batch is the common case (a scrape, an agent's flush): one product,
            # shared, instead of a new 64-bit int per point.
            ns = [lo * NS] * len(tss) if lo == hi else [t * NS for t in tss]
        elif lo >= _NS_MIN:
            if not (oldest <= lo and hi <= newest):
                return None
            ns = tss
        else:
            return None
        # Nearly always one metric: the first point's ids by dimension bytes serve them all.
        name, mtype, unit = points[0].name, points[0].type, points[0].unit
        ids = self._series.kind(name, mtype, unit) or _NO_IDS
        get = ids.get
        sids = [get(bytes(p.dimensions)) for p in points if p.name == name and p.type == mtype and p.unit == unit]
        names = {name}
        if len(sids) != len(points):  # several metrics (a scrape, OTLP): each point picks its metric's ids
            kind = self._series.by_kind.get
            sids = [(kind((p.name, p.type, p.unit)) or _NO_IDS).get(bytes(p.dimensions)) for p in points]
            names = {p.name for p in points}
        if None in sids:  # some series is not cached yet
            return None
        batch = PointBatch(cast(list[int], sids), ns, [p.value for p in points])
        batch.names = names
        return batch

    def _prefetch(self, points: list, first: int) -> None:
        """Look up, in one go, the stored series of the points whose series this process has
        not cached: one query per few hundred series instead of one each (after a restart,
        or for a batch of new series, that is most of them)."""
        get_many = getattr(self.store, "get_series_many", None)
        if get_many is None:
            return
        cache = self._series
        for p in points[first:]:
            if p is None:
                continue
            key = (p.name, p.type, p.unit, bytes(p.dimensions))
            if key in cache or key in self._made:
                continue
            try:
                self._made[key] = make_series(p.name, decode_dimensions(p.dimensions), p.type, p.unit)
            except InvalidInputError:
                continue  # rejected by _resolve, with its message
        if self._made:
            self._stored = get_many([s.id for s in self._made.values()])

    def _resolve(self, key: tuple, p: WirePoint, fresh: dict[int, Series]) -> Series:
        made = self._made.get(key)
        if made is None:
            made = make_series(p.name, decode_dimensions(p.dimensions), p.type, p.unit)
            known = self.store.get_series(made.id) or fresh.get(made.id)
        else:  # prefetched: the store's answer is in hand
            known = self._stored.get(made.id) or fresh.get(made.id)
        if known is None:
            if self.budget is not None:
                self.budget.admit(made)  # a new series: within the limits, or this point is rejected
            fresh[made.id] = known = made
        elif known.type != p.type:  # the cache key holds type and unit: a new pair lands here
            raise InvalidInputError(f"type: series {known.key} is a {known.type}; got {p.type}")
        elif p.unit is not None and known.unit != p.unit:
            have = f"unit {known.unit!r}" if known.unit else "no unit"
            raise InvalidInputError(
                f"unit: series {known.key} was created with {have}; got {p.unit!r} (a series keeps its first unit)"
            )
        self._series.put(key, known.id)
        return known

    @staticmethod
    def time_error(ns: int, oldest: int, newest: int) -> str:
        if ns < oldest:
            return (
                f"timestamp: {_show(ns)} is older than the retention period "
                f"(oldest accepted now: {_show(oldest)})"
            )
        return f"timestamp: {_show(ns)} is more than {limits.MAX_FUTURE_SECONDS} seconds in the future"


def _point(key: SeriesKey) -> WirePoint:
    name, mtype, unit, dims = key
    return WirePoint(name, 0.0, None, mtype, unit, msgspec.Raw(dims))


def _show(ns: int) -> str:
    try:
        return ns_to_rfc3339(ns)
    except (OverflowError, OSError, ValueError):
        return f"{ns} ns since epoch"

