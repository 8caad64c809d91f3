"""Hourly rollup items on DynamoDB (no I/O): what compaction writes decodes back, and an
item stays under DynamoDB's 400 KB whatever the values."""

from __future__ import annotations

import random

from weir.backends.aws import key_schema
from weir.backends.aws.hourly import PART_BYTES, decode, hourly_requests
from weir.metrics.records import HOUR_RECORD, hour_record
from weir.metrics.sketch import Sketch

H = 1_700_000_000 // 3600 * 3600 * 10**9


def test_records_and_sketches_of_every_shard_round_trip():
    merged = {sid: ([H + k * 10**9 for k in range(60)], [float(sid + k) for k in range(60)]) for sid in range(20)}
    requests = hourly_requests("cpu", H, merged, ttl=123)
    items = [r["PutRequest"]["Item"] for r in requests]
    assert {i["pk"]["S"] for i in items} == {key_schema.hourly_pk("cpu", s) for s in range(key_schema.SHARDS)}
    found = {sid: (rec, sk) for i in items for sid, rec, sk in decode(i["d"]["B"])}
    assert set(found) == set(merged)
    for sid, (ts, vals) in merged.items():
        assert found[sid][0] == hour_record(H, ts, vals)
        assert Sketch.decode(found[sid][1]) == Sketch.of(vals)
    assert HOUR_RECORD.unpack(found[3][0])[1] == 60
    assert decode(items[0]["d"]["B"], wanted=set()) == []


def test_many_series_of_incompressible_values_split_into_parts_under_the_item_limit():
    rnd = random.Random(5)
    merged = {sid * 8: ([H + k * 10**9 for k in range(3600)], [rnd.choice((-1, 1)) * 10 ** rnd.uniform(-8, 300)
                                                                for _ in range(3600)])
              for sid in range(300)}  # all in shard 0
    items = [r["PutRequest"]["Item"] for r in hourly_requests("cpu", H, merged, ttl=1)]
    shard0 = [i for i in items if i["pk"]["S"] == key_schema.hourly_pk("cpu", 0)]
    assert len(shard0) > 1 and all(int(i["parts"]["N"]) == len(shard0) for i in shard0)
    assert all(len(i["d"]["B"]) < 400 * 1024 for i in items)
    assert sum(len(decode(i["d"]["B"])) for i in shard0) == 300
    assert PART_BYTES < 400 * 1024
