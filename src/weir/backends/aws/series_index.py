"""The series index on DynamoDB (the `SERIES_TABLE`), so no query ever Scans.

Keys `pk` (S) / `sk` (S), TTL on `ttl`, three kinds of item:

- `id#<series id>` / `series`: the series by id (the ingest path's type checks).
- `name#<metric>` / `<series id>`: the members of a metric (`series_of`, one Query).
- `names` / `<metric>`: the metric names (`metric_names`, one Query).

Every write of a series sets `ttl` to the writer's clock + retention + one day, so the
index outlives the newest point of the series and only ever moves forward: plain
BatchWriteItem puts from any number of writers are safe without conditions. A process
rewrites a series' items at most twice a day, when its known `ttl` gets within half a day
of running out; between those, writes of known series touch no index item.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

import msgspec

from weir.errors import StorageError
from weir.metrics.series import Series

from .dynamo import Dynamo

SLACK_S = 86_400
NAMES = "names"
_SERIES_SK = "series"


class SeriesIndex:
    def __init__(self, db: Dynamo, table: str, *, retention_seconds: int, clock: Callable[[], float] = time.time):
        self.db = db
        self.table = table
        self.retention_s = retention_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._series: dict[int, tuple[Series, int]] = {}  # id → (series, ttl known to be stored)
        self._names: dict[str, int] = {}  # metric → ttl known to be stored
        self._loaded: set[str] = set()

    # -- reads ------------------------------------------------------------------------

    def get(self, series_id: int) -> Series | None:
        now = self.clock()
        hit = self._series.get(series_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        out = self.db.call(
            "get_item", self.table, Key={"pk": {"S": f"id#{series_id}"}, "sk": {"S": _SERIES_SK}}, ConsistentRead=True
        )
        item = out.get("Item")
        if item is None or int(item["ttl"]["N"]) <= now:
            return None
        s = _series(series_id, item["name"]["S"], item)
        self._remember(s, int(item["ttl"]["N"]))
        if s.name not in self._loaded:  # a cold process: learn the whole metric in one Query
            self.of(s.name)
        return s

    def cached(self, series_id: int) -> Series | None:
        hit = self._series.get(series_id)
        return hit[0] if hit else None

    def of(self, name: str) -> list[Series]:
        now = self.clock()
        found = []
        for item in self.db.query(
            self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"name#{name}"}},
            ConsistentRead=True,
        ):
            ttl = int(item["ttl"]["N"])
            if ttl <= now:
                continue
            s = _series(int(item["sk"]["S"]), name, item)
            self._remember(s, ttl)
            found.append(s)
        self._loaded.add(name)
        return sorted(found, key=lambda s: s.key)

    def name_list(self) -> list[str]:
        """The live metric names, sorted (one Query; `names` also counts each one's series)."""
        now = int(self.clock())
        return [
            item["sk"]["S"]
            for item in self.db.query(
                self.table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": NAMES}},
                ConsistentRead=True,
            )
            if int(item["ttl"]["N"]) > now
        ]

    def names(self) -> dict[str, int]:
        now = int(self.clock())
        counts = {}
        for name in self.name_list():
            n = self.db.count(
                self.table,
                KeyConditionExpression="pk = :pk",
                FilterExpression="#ttl > :now",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={":pk": {"S": f"name#{name}"}, ":now": {"N": str(now)}},
                ConsistentRead=True,
            )
            if n:
                counts[name] = n
        return counts

    # -- writes -----------------------------------------------------------------------

    def ensure(self, new: Iterable[Series], written: Iterable[int]) -> None:
        """Store new series, and refresh the `ttl` of written ones that are running out."""
        now = self.clock()
        keep_until = int(now) + self.retention_s + SLACK_S
        stale_before = now + self.retention_s + SLACK_S // 2
        todo: dict[int, Series] = {s.id: s for s in new}
        for sid in written:
            if sid in todo:
                continue
            hit = self._series.get(sid)
            if hit is None:
                s = self.get(sid)
                hit = self._series.get(sid) if s is not None else None
                if hit is None:
                    raise StorageError(
                        f"series {sid} is not in the series index (a failed earlier write?); "
                        "nothing of this request was stored, retry it"
                    )
            if hit[1] < stale_before:
                todo[sid] = hit[0]
        names = {s.name for s in todo.values()}
        stale_names = [n for n in names if self._names.get(n, 0) < stale_before]
        if not todo and not stale_names:
            return
        requests = []
        ttl = {"N": str(keep_until)}
        for s in todo.values():
            attrs = _attributes(s, ttl)
            requests.append({"PutRequest": {"Item": {"pk": {"S": f"id#{s.id}"}, "sk": {"S": _SERIES_SK},
                                                     "name": {"S": s.name}, **attrs}}})
            requests.append({"PutRequest": {"Item": {"pk": {"S": f"name#{s.name}"}, "sk": {"S": str(s.id)}, **attrs}}})
        for n in stale_names:
            requests.append({"PutRequest": {"Item": {"pk": {"S": NAMES}, "sk": {"S": n}, "ttl": ttl}}})
        self.db.batch_write(self.table, requests)
        with self._lock:
            for s in todo.values():
                self._series[s.id] = (s, keep_until)
            for n in stale_names:
                self._names[n] = keep_until

    def _remember(self, s: Series, ttl: int) -> None:
        with self._lock:
            self._series[s.id] = (s, ttl)


def _attributes(s: Series, ttl: dict) -> dict:
    out = {"dims": {"S": msgspec.json.encode(s.dimensions).decode()}, "type": {"S": s.type}, "ttl": ttl}
    if s.unit is not None:
        out["unit"] = {"S": s.unit}
    return out


def _series(series_id: int, name: str, item: dict) -> Series:
    unit = item.get("unit")
    return Series(
        series_id,
        name,
        msgspec.json.decode(item["dims"]["S"]),
        item["type"]["S"],
        unit["S"] if unit else None,
    )
