"""The DynamoDB series index's label items, for a metric stored before they existed."""

from __future__ import annotations

import time

import boto3

from weir.backends.aws.metrics import DynamoMetricStore
from weir.metrics.ports import PointBatch
from weir.metrics.series import make_series
from weir.metrics.timeutil import NS


def test_a_metric_without_label_items_is_filled_in_at_its_first_filtered_selection(aws_tables):
    metrics_table, series_table = aws_tables
    client = boto3.client("dynamodb")
    members = [make_series("cpu", {"host": f"h{i}", "dc": f"d{i % 2}"}, "gauge", None) for i in range(8)]
    now = int(time.time()) * NS
    store = DynamoMetricStore(client, metrics_table=metrics_table, series_table=series_table,
                              retention_seconds=86_400)
    store.append(PointBatch([s.id for s in members], [now] * 8, [1.0] * 8, members))
    # as an older Weir left it: no label items, no mark on the metric
    for s in members:
        for k, v in s.dimensions.items():
            client.delete_item(TableName=series_table, Key={"pk": {"S": f"lbl#cpu#{k}={v}"}, "sk": {"S": str(s.id)}})
    client.update_item(TableName=series_table, Key={"pk": {"S": "names"}, "sk": {"S": "cpu"}},
                       UpdateExpression="REMOVE labels")
    fresh = DynamoMetricStore(client, metrics_table=metrics_table, series_table=series_table,
                              retention_seconds=86_400)
    assert fresh.select("cpu", {"host": "h3"}) == [members[3]]
    assert len(fresh.select("cpu", {"dc": "d1"})) == 4
    marked = client.get_item(TableName=series_table, Key={"pk": {"S": "names"}, "sk": {"S": "cpu"}})["Item"]
    assert marked["labels"] == {"N": "1"}
    items = client.query(TableName=series_table, KeyConditionExpression="pk = :pk",
                         ExpressionAttributeValues={":pk": {"S": "lbl#cpu#host=h5"}})["Items"]
    assert [i["sk"]["S"] for i in items] == [str(members[5].id)]
