"""The one read path: which resolution answers which part of a range, and reading it block
by block into a `PeriodFold`. Weir's query API uses all of it; PromQL reads its points
through `read_points` (the same store calls, the same arrays).

Resolutions (a store lists the ones it keeps in `store.retention`, seconds by level):
- `raw`: the points, for `retention["raw"]` (30 days by default);
- `1m`: minute records, once the points have expired (SQLite), for `retention["1m"]`;
- `1h`: hourly records and sketches of every finalised hour, for `retention["1h"]`.

The coarsest records that answer a query exactly are used: hourly ones when the period is
a whole number of hours and every statistic merges exactly (count, sum, avg, min, max,
last), minute ones for whole minutes where the points have expired; the points for the
rest. Percentiles come from the points while they are kept (exact), and from hourly
sketches before that (estimates, marked so, within `sketch.ERROR_BOUND`). A part of the
range that no kept resolution can answer for the period asked is refused (400) with the
start or period that would work, rather than silently left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from weir.errors import InvalidInputError, TooManyPointsError
from weir.metrics.timeutil import NS, ns_to_rfc3339

if TYPE_CHECKING:

    from weir.metrics.arrays import RollupBlock, SeriesArrays
    from weir.metrics.query.fold import PeriodFold

MINUTE_NS = 60 * NS
HOUR_NS = 3600 * NS
EXACT_FROM_RECORDS = frozenset({"count", "sum", "avg", "min", "max", "last"})
LEVEL_NS = {"1m": MINUTE_NS, "1h": HOUR_NS}


@dataclass
class Plan:
    """What to read for [start, end): raw points from `raw_from`, records of `level` from
    `records_from`, and sketches (percentiles) for hourly records before `raw_from`."""

    start: int
    end: int
    raw_from: int
    level: str | None = None
    records_from: int = 0
    records_until: int | None = None  # with sketches: records only before this
    sketches: bool = False
    notes: list[str] = field(default_factory=list)


def retention_of(store) -> dict[str, int]:
    got = getattr(store, "retention", None)
    if isinstance(got, dict):
        return got
    return {"raw": int(getattr(store, "retention_ns", 0) // NS) or 30 * 86_400}


def plan(store, stats: list[str], period: int, start: int, end: int, now: int, raw_retention_ns: int) -> Plan:
    """Decide the sources for an aligned range; raises InvalidInputError where none fits."""
    kept = retention_of(store)
    levels = set(getattr(store, "record_levels", ())) & kept.keys()
    raw_from = max(start, now - raw_retention_ns)
    p = Plan(start, end, raw_from)

    def exact(level: str) -> bool:  # every statistic merges exactly from this level's records
        known = getattr(store, "record_stats", EXACT_FROM_RECORDS)
        known = known.get(level, frozenset()) if isinstance(known, dict) else known
        return level in levels and all(s in EXACT_FROM_RECORDS and s in known for s in stats)

    rollupable = exact("1h") or exact("1m")
    # rollups go whole hours (or days) at a time: they are kept from the hour of the cutoff
    oldest = {lvl: (now - kept[lvl] * NS) // HOUR_NS * HOUR_NS for lvl in levels}
    if exact("1h") and period % HOUR_NS == 0:
        p.level, p.records_from = "1h", max(start, oldest["1h"])
        # an hour not finalised yet is read raw whole, as its record would count it: its
        # points expire only with the whole hour
        p.raw_from = max(start, raw_from // HOUR_NS * HOUR_NS)
    elif exact("1m") and period % MINUTE_NS == 0:
        p.level, p.records_from = "1m", max(start, oldest["1m"])
        # minute records and raw points never overlap (a store converts whole hours), so
        # raw points not yet converted are read back to where the minute records reach
        p.raw_from = min(p.raw_from, p.records_from)
    elif not rollupable and "1h" in levels and period % HOUR_NS == 0 and start < raw_from:
        # sketches answer whole hours: those the raw points no longer reach entirely; an
        # hour not finalised yet is read raw whole (its points go only with the hour)
        p.level, p.records_from, p.sketches = "1h", max(start, oldest["1h"]), True
        p.records_until = -(-raw_from // HOUR_NS) * HOUR_NS
        p.raw_from = max(start, raw_from // HOUR_NS * HOUR_NS)
    # the earliest instant any kept resolution reaches: before it nothing is kept at all
    reach = min([now - raw_retention_ns, *oldest.values()])
    covered_from = min(p.raw_from, p.records_from) if p.level else p.raw_from
    if start < covered_from and reach < covered_from:
        _refuse(stats, period, levels, oldest, now - raw_retention_ns, max(start, reach), covered_from)
    return p


def _refuse(stats, period, levels, oldest, raw_from, first, covered_from) -> None:
    asks = "percentiles" if any(s.startswith("p") for s in stats) else f"stat={','.join(stats)}"
    hints = []
    if "1h" in levels and period % HOUR_NS:
        hints.append("a period that is a multiple of 3600 s (hourly rollups are kept "
                     f"from {ns_to_rfc3339(oldest['1h'])})")
    if "1m" in levels and period % MINUTE_NS and not any(s.startswith("p") for s in stats):
        hints.append(f"a period that is a multiple of 60 s (minute rollups from {ns_to_rfc3339(oldest['1m'])})")
    hints.append(f"start at or after {ns_to_rfc3339(covered_from)}")
    raise InvalidInputError(
        f"start: points before {ns_to_rfc3339(raw_from)} have expired, and what is kept of "
        f"{ns_to_rfc3339(first)}..{ns_to_rfc3339(covered_from)} cannot answer {asks} at a period of "
        f"{period // NS} s; use " + " or ".join(hints)
    )


def read_points(store, series_ids: list[int], start: int, end: int, limit: int | None = None) -> SeriesArrays:
    """Raw points of these series in [start, end) as arrays: the store's bulk read, or its
    list read for stores without one. More than `limit` points: TooManyPointsError (the
    SQLite store raises it before decoding, from its chunks' point counts)."""
    if hasattr(store, "read_arrays"):
        return store.read_arrays(series_ids, start, end) if limit is None else \
            store.read_arrays(series_ids, start, end, limit=limit)
    import numpy as np

    from weir.metrics.arrays import SeriesArrays

    got = store.read(series_ids, start, end)
    out = SeriesArrays.from_series([(sid, np.array(got[sid][0], dtype=np.int64), np.array(got[sid][1]))
                                    for sid in sorted(got) if got[sid][0]])
    if limit is not None and out.points > limit:
        raise TooManyPointsError(limit, out.points)
    return out


def gaps(start: int, end: int, covered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out, at = [], start
    for a, b in covered:
        if a > at:
            out.append((at, min(a, end)))
        at = max(at, b)
    if at < end:
        out.append((at, end))
    return [(a, b) for a, b in out if a < b]


@dataclass
class BlockRead:
    """What one block of series contributed: for the read counts and the answer's notes."""

    raw_points: int = 0
    records: int = 0
    record_points: int = 0
    covered: list[tuple[int, int]] = field(default_factory=list)
    level: str | None = None
    estimated: bool = False


class Lookup:
    """Series id → (group, rank) for arrays of ids, by binary search: no Python per record."""

    def __init__(self, ids: list[int], group_of: dict[int, int], rank_of: dict[int, int]) -> None:
        import numpy

        order = sorted(ids)
        self.ids = numpy.array(order, dtype=numpy.int64)
        self.groups = numpy.array([group_of[s] for s in order], dtype=numpy.int64)
        self.ranks = numpy.array([rank_of[s] for s in order], dtype=numpy.int64)

    def __call__(self, sids):
        """(groups, ranks) of an array of series ids."""
        import numpy

        at = numpy.searchsorted(self.ids, sids)
        return self.groups[at], self.ranks[at]


def read_block(store, p: Plan, ids: list[int], fold: PeriodFold, group_of: dict[int, int],
               rank_of: dict[int, int]) -> BlockRead:
    """Read one block of series by the plan and fold it in."""
    out = BlockRead(level=p.level)
    lookup = Lookup(ids, group_of, rank_of)
    covered: list[tuple[int, int]] = []
    if p.level and p.records_from < p.end:
        rb: RollupBlock = store.read_records(p.level, ids, p.records_from, p.end)
        covered = rb.covered
        if p.records_until is not None:  # records answer only where the points have expired
            covered = [(a, min(b, p.records_until)) for a, b in covered if a < p.records_until]
            rb = rb.only(covered)
        cols = rb.cols
        if len(rb):
            groups, ranks = lookup(cols["sid"])
            fold.add_records(groups, ranks, cols["t"], cols["count"], cols["sum"], cols["min"], cols["max"],
                             cols["last_ts"], cols["last"])
            out.records, out.record_points = len(rb), rb.points
        if p.sketches and covered:
            found = store.read_sketches(ids, covered)
            fold.add_sketches([group_of[s] for s, _, _ in found], [h for _, h, _ in found], [k for _, _, k in found])
            out.estimated = bool(found)
        out.covered = covered
    for a, b in gaps(p.raw_from, p.end, covered):
        block = read_points(store, ids, a, b)
        if len(block):
            fold.add_points(block, *lookup(block.ids))
            out.raw_points += block.points
    return out
