"""Small state kept beside the series index, in the series table (`SERIES_TABLE`):
the export watermark (`ExportState`) and Pushgateway group membership (`PushGroupStore`).

Why the series table: both are metrics-side state read by functions that already have it
(`exporter` for the watermark, `api` for push groups), so no function needs access to a
further table, and the alert-configuration table stays the alerting side's. Their
partitions cannot clash with the index's (`id#…`, `name#…`, `names`):

| item        | pk          | sk                          | holds                                   |
|-------------|-------------|-----------------------------|-----------------------------------------|
| watermark   | `export`    | destination URL (or its hash when longer than a sort key may be) | `hour` (ns) |
| changed hour | `export#changed` | the hour's start (ns, 20 digits) | `v` (version), `at` (last change, ns) |
| push group  | `pushgroup` | hash of the group key       | labels, last push, method, members (zlib JSON), `v` |

Neither item carries `ttl`, so the table's TTL never removes them.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from hashlib import blake2b

import msgspec

from weir.errors import PayloadTooLargeError, StorageError
from weir.metrics.ports import PushGroup

from .dynamo import ConditionFailed, Dynamo

EXPORT = "export"
EXPORT_CHANGED = "export#changed"
PUSH_GROUP = "pushgroup"
MAX_SORT_KEY = 1024
MAX_MEMBERS_BYTES = 350_000  # of DynamoDB's 400 KB per item, with room for the other attributes

_members = msgspec.json.Decoder(dict[str, list[str]])
_labels = msgspec.json.Decoder(dict[str, str])


def _dynamo(client, sleep: Callable[[float], None] | None) -> Dynamo:
    return Dynamo(client, sleep=sleep) if sleep is not None else Dynamo(client)


class DynamoExportState:
    """The newest hour exported to each destination; it only ever moves forward.

    Overlapping `exporter` invocations (a retry beside the next schedule) may finish
    hours in any order; a conditional update keeps the greatest, so the watermark never
    goes back and re-exports hours for nothing.
    """

    def __init__(self, client, table: str, *, sleep: Callable[[float], None] | None = None) -> None:
        self.db = _dynamo(client, sleep)
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


class DynamoPushGroupStore:
    """One item per group; a push is a read, a merge and a write on condition that nobody
    wrote the group meanwhile (retried when someone did), so POSTs to one group from
    several clients each replace their own families and none is lost."""

    def __init__(self, client, table: str, *, sleep: Callable[[float], None] | None = None) -> None:
        self.db = _dynamo(client, sleep)
        self.table = table

    @staticmethod
    def _key(group_key: str) -> dict:
        # canonical label sets can be longer than a sort key may be
        return {"pk": {"S": PUSH_GROUP}, "sk": {"S": blake2b(group_key.encode(), digest_size=16).hexdigest()}}

    def record(self, group: PushGroup, *, replace_all: bool) -> None:
        k = self._key(group.key)
        for _ in range(self.db.max_attempts):
            old = self.db.call("get_item", self.table, Key=k, ConsistentRead=True).get("Item")
            members = {} if replace_all or old is None else _members.decode(zlib.decompress(old["m"]["B"]))
            for family, keys in group.members.items():
                members.pop(family, None)
                if keys:
                    members[family] = sorted(set(keys))
            blob = zlib.compress(msgspec.json.encode(dict(sorted(members.items()))))
            if len(blob) > MAX_MEMBERS_BYTES:
                raise PayloadTooLargeError(
                    f"push group {group.key}: its membership no longer fits one DynamoDB item "
                    f"({len(blob)} bytes compressed); the samples were stored, but PUT the group "
                    "with fewer series or split it into groups"
                )
            version = int(old["v"]["N"]) if old else 0
            item = {**k, "key": {"S": group.key}, "labels": {"S": msgspec.json.encode(group.labels).decode()},
                    "pushed": {"N": str(group.pushed_ns)}, "method": {"S": group.method}, "m": {"B": blob},
                    "v": {"N": str(version + 1)}}
            cond = {"ConditionExpression": "attribute_not_exists(pk)"} if old is None else {
                "ConditionExpression": "v = :v", "ExpressionAttributeValues": {":v": old["v"]}}
            try:
                self.db.call("put_item", self.table, Item=item, **cond)
                return
            except ConditionFailed:
                continue  # another push to this group landed between our read and write
        raise StorageError(f"push group {group.key} kept changing while being recorded; push again")

    def delete(self, key: str) -> bool:
        out = self.db.call("delete_item", self.table, Key=self._key(key), ReturnValues="ALL_OLD")
        return bool(out.get("Attributes"))

    def groups(self) -> list[PushGroup]:
        out = []
        for item in self.db.query(self.table, KeyConditionExpression="pk = :pk",
                                  ExpressionAttributeValues={":pk": {"S": PUSH_GROUP}}, ConsistentRead=True):
            out.append(PushGroup(
                item["key"]["S"], _labels.decode(item["labels"]["S"]), int(item["pushed"]["N"]),
                item["method"]["S"], _members.decode(zlib.decompress(item["m"]["B"])),
            ))
        return sorted(out, key=lambda g: g.key)

    def close(self) -> None:
        return None
