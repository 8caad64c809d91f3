"""The ExportState and PushGroupStore contracts on SQLite and on DynamoDB (the series table)."""

from __future__ import annotations

import pytest

from weir.metrics.ports import PushGroup


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request, tmp_path, no_scan):
    """(export state factory, push-group store factory): a second call is another process."""
    if request.param == "sqlite":
        from weir.backends.sqlite.export_state import SqliteExportState
        from weir.backends.sqlite.pushgroups import SqlitePushGroupStore

        yield (lambda: SqliteExportState(tmp_path / "metrics.db"),
               lambda: SqlitePushGroupStore(tmp_path / "pushgroups.db"))
        return
    from weir.backends.aws.export_state import DynamoExportState
    from weir.backends.aws.pushgroups import DynamoPushGroupStore

    client = request.getfixturevalue("dynamodb")
    _, series_table = request.getfixturevalue("aws_tables")
    no_scan(client)
    yield lambda: DynamoExportState(client, series_table), lambda: DynamoPushGroupStore(client, series_table)


def group(members, method="PUT", ns=1, key='{job="j"}', labels=None):
    return PushGroup(key, labels or {"job": "j"}, ns, method, members)


def test_the_watermark_is_per_destination_and_survives_a_restart(backend):
    open_state, _ = backend
    state = open_state()
    assert state.last_exported("s3://b/") is None
    state.set_last_exported("s3://b/", 3600 * 10**9)
    state.set_last_exported("s3://b/", 7200 * 10**9)
    state.set_last_exported("file:///x/" + "p" * 1500, 3600 * 10**9)  # longer than a sort key
    state.close()
    again = open_state()
    assert again.last_exported("s3://b/") == 7200 * 10**9
    assert again.last_exported("file:///x/" + "p" * 1500) == 3600 * 10**9
    assert again.last_exported("s3://other/") is None
    again.close()


def test_put_replaces_all_post_replaces_named_families(backend):
    _, open_groups = backend
    store = open_groups()
    store.record(group({"a": ["a2", "a1"], "b": ["b1"]}), replace_all=True)
    store.record(group({"b": ["b2"], "c": ["c1"]}, "POST", 2), replace_all=False)
    [g] = store.groups()
    assert g.members == {"a": ["a1", "a2"], "b": ["b2"], "c": ["c1"]}
    assert (g.method, g.pushed_ns, g.labels) == ("POST", 2, {"job": "j"})
    store.record(group({"c": [], "d": ["d1"]}, "POST", 3), replace_all=False)
    assert store.groups()[0].members == {"a": ["a1", "a2"], "b": ["b2"], "d": ["d1"]}
    store.record(group({"e": ["e1"]}, "PUT", 4), replace_all=True)
    assert store.groups()[0].members == {"e": ["e1"]}


def test_groups_are_listed_by_key_and_deleted(backend):
    _, open_groups = backend
    store = open_groups()
    long_labels = {f"label{i}": "v" * 100 for i in range(20)}
    long_key = "{" + ",".join(f'{k}="{v}"' for k, v in sorted(long_labels.items())) + "}"
    store.record(group({"a": ["a1"]}, key='{job="k"}', labels={"job": "k"}), replace_all=True)
    store.record(group({}, key=long_key, labels=long_labels), replace_all=True)  # longer than a sort key
    store.record(group({"x": ["x1"]}), replace_all=False)
    store.close()
    store = open_groups()
    assert [g.key for g in store.groups()] == sorted([long_key, '{job="j"}', '{job="k"}'])
    assert store.delete('{job="j"}') is True
    assert store.delete('{job="j"}') is False
    assert [g.key for g in store.groups()] == sorted([long_key, '{job="k"}'])
    assert store.delete(long_key) and [g.labels for g in store.groups()] == [{"job": "k"}]


def test_several_writers_to_one_group_each_keep_their_family(backend):
    _, open_groups = backend
    stores = [open_groups() for _ in range(4)]  # four writers, as four Lambda containers
    stores[0].record(group({}), replace_all=True)
    for k in range(3):
        for i, store in enumerate(stores):
            store.record(group({f"f{i}": [f"s{i}.{k}"]}, "POST", 10 + k), replace_all=False)
    assert stores[0].groups()[0].members == {f"f{i}": [f"s{i}.2"] for i in range(4)}


def test_changed_hours_are_marked_versioned_and_forgotten_only_when_unchanged(backend):
    open_state, _ = backend
    state = open_state()
    h = 3600 * 10**9
    assert state.changed_hours() == []
    first = state.mark_changed([2 * h, h, 2 * h], 5)
    assert sorted(first) == [h, 2 * h]
    assert [(hour, at) for hour, _, at in state.changed_hours()] == [(h, 5), (2 * h, 5)]
    again = state.mark_changed([h], 9)  # changed again while being exported
    assert again[h] != first[h]
    state.forget_changed(h, first[h])  # the export that read the old version: the mark stays
    state.forget_changed(2 * h, first[2 * h])
    state.close()
    state = open_state()
    assert [(hour, version, at) for hour, version, at in state.changed_hours()] == [(h, again[h], 9)]
    state.forget_changed(h, again[h])
    assert state.changed_hours() == []
    state.close()
