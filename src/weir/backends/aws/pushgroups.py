"""Pushgateway group membership (`PushGroupStore`) on DynamoDB, kept beside the series index
in the series table (`SERIES_TABLE`), as the export watermark is (`export_state.py`).

Why the series table: this is metrics-side state read by a function that already has it
(`api`), so no function needs access to a further table. Its partition cannot clash with
the index's (`id#…`, `name#…`, `names`) or the export state's (`export`, `export#changed`):

| item        | pk          | sk                          | holds                                   |
|-------------|-------------|-----------------------------|-----------------------------------------|
| push group  | `pushgroup` | hash of the group key       | labels, last push, method, members (zlib JSON), `v` |

The item carries no `ttl`, so the table's TTL never removes it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from hashlib import blake2b

import msgspec

from weir.errors import PayloadTooLargeError, StorageError
from weir.metrics.ports import PushGroup

from .dynamo import ConditionFailed, Dynamo

PUSH_GROUP = "pushgroup"
MAX_MEMBERS_BYTES = 350_000  # of DynamoDB's 400 KB per item, with room for the other attributes

_members = msgspec.json.Decoder(dict[str, list[str]])
_labels = msgspec.json.Decoder(dict[str, str])


class DynamoPushGroupStore:
    """One item per group; a push is a read, a merge and a write on condition that nobody
    wrote the group meanwhile (retried when someone did), so POSTs to one group from
    several clients each replace their own families and none is lost."""

    def __init__(self, client, table: str, *, sleep: Callable[[float], None] | None = None) -> None:
        self.db = Dynamo(client, sleep=sleep)
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
