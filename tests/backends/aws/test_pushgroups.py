"""The DynamoDB push-group store's own concern (the shared behaviour is
tests/backends/test_state_contract.py): a push that races another is merged, not lost."""

from __future__ import annotations

from weir.backends.aws.pushgroups import DynamoPushGroupStore
from weir.metrics.ports import PushGroup


def test_a_push_that_races_another_is_merged_not_lost(dynamodb, aws_tables):
    """Two pushes to one group: the second lands between the first's read and its write."""
    other = DynamoPushGroupStore(dynamodb, aws_tables[1])
    raced = {"done": False}

    class Interleaved:
        def __getattr__(self, name):
            return getattr(dynamodb, name)

        def put_item(self, **kwargs):
            if not raced["done"]:
                raced["done"] = True
                other.record(PushGroup("{job=\"j\"}", {"job": "j"}, 2, "POST", {"b": ["b1"]}), replace_all=False)
            return dynamodb.put_item(**kwargs)

    DynamoPushGroupStore(Interleaved(), aws_tables[1]).record(
        PushGroup("{job=\"j\"}", {"job": "j"}, 1, "POST", {"a": ["a1"]}), replace_all=False)
    assert raced["done"]
    assert other.groups()[0].members == {"a": ["a1"], "b": ["b1"]}
