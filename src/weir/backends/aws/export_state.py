"""The export watermark (`ExportState`) on DynamoDB, kept beside the series index in the
series table (`SERIES_TABLE`), as the push groups are (`pushgroups.py`).

Why the series table: this is metrics-side state read by a function that already has it
(`exporter`), so no function needs access to a further table, and the alert-configuration
table stays the alerting side's. Its partitions cannot clash with the index's (`id#…`,
`name#…`, `names`) or the push groups' (`pushgroup`):

| item        | pk          | sk                          | holds                                   |
|-------------|-------------|-----------------------------|-----------------------------------------|
| watermark   | `export`    | destination URL (or its hash when longer than a sort key may be) | `hour` (ns) |
| changed hour | `export#changed` | the hour's start (ns, 20 digits) | `v` (version), `at` (last change, ns) |

Neither item carries `ttl`, so the table's TTL never removes them. The metric store marks
hours changed as it stores late points (`mark_changed`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from hashlib import blake2b

from .dynamo import ConditionFailed, Dynamo

EXPORT = "export"
EXPORT_CHANGED = "export#changed"
MAX_SORT_KEY = 1024


class DynamoExportState:
    """The newest hour exported to each destination; it only ever moves forward.

    Overlapping `exporter` invocations (a retry beside the next schedule) may finish
    hours in any order; a conditional update keeps the greatest, so the watermark never
    goes back and re-exports hours for nothing.
    """

    def __init__(self, client, table: str, *, sleep: Callable[[float], None] | None = None) -> None:
        self.db = Dynamo(client, sleep=sleep)
        self.table = table

    def _key(self, destination: str) -> dict:
        sk = destination
        if len(sk.encode()) > MAX_SORT_KEY:
            sk = "sha#" + blake2b(destination.encode(), digest_size=16).hexdigest()
        return {"pk": {"S": EXPORT}, "sk": {"S": sk}}

    def last_exported(self, destination: str) -> int | None:
        item = self.db.call("get_item", self.table, Key=self._key(destination), ConsistentRead=True).get("Item")
        return int(item["hour"]["N"]) if item else None

    def set_last_exported(self, destination: str, hour_ns: int) -> None:
        try:
            self.db.call(
                "update_item", self.table, Key=self._key(destination),
                UpdateExpression="SET #h = :h, #d = :d",
                ConditionExpression="attribute_not_exists(#h) OR #h < :h",
                ExpressionAttributeNames={"#h": "hour", "#d": "destination"},
                ExpressionAttributeValues={":h": {"N": str(hour_ns)}, ":d": {"S": destination}},
            )
        except ConditionFailed:
            pass  # another run got further already

    def changed_hours(self) -> list[tuple[int, int, int]]:
        items = self.db.query(self.table, KeyConditionExpression="pk = :pk", ConsistentRead=True,
                              ExpressionAttributeValues={":pk": {"S": EXPORT_CHANGED}})
        return sorted((int(i["sk"]["S"]), int(i["v"]["N"]), int(i["at"]["N"])) for i in items)

    def mark_changed(self, hours: Iterable[int], now_ns: int) -> dict[int, int]:
        return mark_changed(self.db, self.table, hours, now_ns)

    def forget_changed(self, hour_ns: int, version: int) -> None:
        try:
            self.db.call("delete_item", self.table, Key=_changed_key(hour_ns), ConditionExpression="v = :v",
                         ExpressionAttributeValues={":v": {"N": str(version)}})
        except ConditionFailed:
            pass  # changed again meanwhile: exported again by the next run

    def close(self) -> None:
        return None


def _changed_key(hour_ns: int) -> dict:
    return {"pk": {"S": EXPORT_CHANGED}, "sk": {"S": f"{hour_ns:020d}"}}


def mark_changed(db: Dynamo, table: str, hours: Iterable[int], now_ns: int) -> dict[int, int]:
    """Mark closed hours as changed since their export: one update per hour, bumping its
    version (`ADD`), so a mark read before an export is told apart from one made during it."""
    out = {}
    for hour in sorted(set(hours)):
        reply = db.call("update_item", table, Key=_changed_key(hour), UpdateExpression="ADD v :one SET #at = :at",
                        ExpressionAttributeNames={"#at": "at"}, ReturnValues="UPDATED_NEW",
                        ExpressionAttributeValues={":one": {"N": "1"}, ":at": {"N": str(now_ns)}})
        out[hour] = int(reply["Attributes"]["v"]["N"])
    return out
