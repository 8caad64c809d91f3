"""The series index on DynamoDB (the `SERIES_TABLE`), so no query ever Scans.

Keys `pk` (S) / `sk` (S), TTL on `ttl`, three kinds of item:

- `id#<series id>` / `series`: the series by id (the ingest path's type checks).
- `name#<metric>` / `<series id>`: the members of a metric (`series_of`, one Query).
- `names` / `<metric>`: the metric names (`metric_names`, one Query); `labels` = 1 once the
  metric's label items are complete.
- `lbl#<metric>#<key>=<value>` / `<series id>`: the inverted index, one item per dimension of
  each series (dimension keys hold no `=`), so selecting by dimensions reads the members of
  the most selective filter, not the metric. Written with the series; a metric stored before
  these items existed is filled in once, at its first filtered selection (`_backfill`).

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
from weir.metrics.series import Series, matches

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
        self._labelled: set[str] = set()  # metrics whose label items are known complete

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

    def select(self, name: str, filters: dict[str, str], *, limit: int | None = None,
               after: str | None = None) -> list[Series]:
        """The series of `name` whose dimensions include `filters`, by canonical key, at most
        `limit`, those with a key after `after`."""
        if not filters:
            found = self.of(name)
        else:
            self._backfill(name)
            ids = self._smallest(name, filters)
            found = sorted((s for s in self._get_many(ids) if s.name == name and matches(s, filters)),
                           key=lambda s: s.key)
        if after is not None:
            found = [s for s in found if s.key > after]
        return found if limit is None else found[:limit]

    def _smallest(self, name: str, filters: dict[str, str]) -> list[int]:
        """The members of the filter with the fewest series: the filters' label items are
        read a page at a time, in turn, until one filter's are all read."""
        def members(key: str, value: str):
            return self.db.query(
                self.table, KeyConditionExpression="pk = :pk", ProjectionExpression="sk, #ttl",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={":pk": {"S": _label_pk(name, key, value)}}, ConsistentRead=True)

        now = self.clock()
        readers = [members(k, v) for k, v in filters.items()]
        got: list[list[int]] = [[] for _ in readers]
        while True:
            for i, reader in enumerate(readers):
                for _ in range(1000):
                    item = next(reader, None)
                    if item is None:
                        return got[i]
                    if int(item["ttl"]["N"]) > now:
                        got[i].append(int(item["sk"]["S"]))

    def _get_many(self, ids: list[int]) -> list[Series]:
        now = self.clock()
        out, missing = [], []
        for sid in ids:
            hit = self._series.get(sid)
            if hit is not None and hit[1] > now:
                out.append(hit[0])
            else:
                missing.append(sid)
        for i in range(0, len(missing), 100):
            keys = [{"pk": {"S": f"id#{sid}"}, "sk": {"S": _SERIES_SK}} for sid in missing[i : i + 100]]
            for item in self.db.batch_get(self.table, keys):
                ttl = int(item["ttl"]["N"])
                if ttl > now:
                    s = _series(int(item["pk"]["S"][3:]), item["name"]["S"], item)
                    self._remember(s, ttl)
                    out.append(s)
        return out

    def _backfill(self, name: str) -> None:
        """Write the label items of a metric stored before they existed, once."""
        if name in self._labelled:
            return
        out = self.db.call("get_item", self.table, Key={"pk": {"S": NAMES}, "sk": {"S": name}}, ConsistentRead=True)
        if "labels" not in out.get("Item", {}):
            requests = []
            now = self.clock()
            for s in self.of(name):
                hit = self._series.get(s.id)
                ttl = {"N": str(hit[1] if hit else int(now) + self.retention_s + SLACK_S)}
                requests += _label_items(s, ttl)
            if requests:
                self.db.batch_write(self.table, requests)
            self._mark_labelled(name)
        self._labelled.add(name)

    def _mark_labelled(self, name: str) -> None:
        self.db.call("update_item", self.table, Key={"pk": {"S": NAMES}, "sk": {"S": name}},
                     UpdateExpression="SET labels = :one",
                     ExpressionAttributeValues={":one": {"N": "1"}})

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
            requests += _label_items(s, ttl)
        self.db.batch_write(self.table, requests)
        for n in stale_names:  # an update, not a put: it keeps the metric's `labels` mark
            self.db.call("update_item", self.table, Key={"pk": {"S": NAMES}, "sk": {"S": n}},
                         UpdateExpression="SET #ttl = :ttl", ExpressionAttributeNames={"#ttl": "ttl"},
                         ExpressionAttributeValues={":ttl": ttl})
        with self._lock:
            for s in todo.values():
                self._series[s.id] = (s, keep_until)
            for n in stale_names:
                self._names[n] = keep_until

    def _remember(self, s: Series, ttl: int) -> None:
        with self._lock:
            self._series[s.id] = (s, ttl)


def _label_pk(name: str, key: str, value: str) -> str:
    return f"lbl#{name}#{key}={value}"


def _label_items(s: Series, ttl: dict) -> list[dict]:
    return [{"PutRequest": {"Item": {"pk": {"S": _label_pk(s.name, k, v)}, "sk": {"S": str(s.id)}, "ttl": ttl}}}
            for k, v in s.dimensions.items()]


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
