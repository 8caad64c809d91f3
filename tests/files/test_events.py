"""Parsing recorded S3 event notifications: every record, decoded keys, event kinds."""

from __future__ import annotations

import pytest

from tests.files.events import load
from weir.files import events as ev


def test_every_record_of_a_batch_with_decoded_keys():
    parsed = ev.parse_notification(load("put_keys_encoded.json"))
    assert parsed.errors == [] and parsed.ignored == []
    keys = [e.key for _, e in parsed.events]
    # '+' is a space, %2B a plus, UTF-8 percent-escapes are decoded, %25 and %3F too
    assert keys == ["reports/Q1 2024/summary+final.pdf", "photos/été/café ☕.jpg", "100% done?.txt"]
    first = parsed.events[0][1]
    assert first.kind == ev.CREATED and first.size == 52431 and first.etag == "9b2cf535f27731c974343645a3985328"
    assert first.event_time == "2024-05-01T12:00:00.123Z" and first.region == "eu-west-1"
    assert first.version_id is None and not first.sequencer_from_time
    assert parsed.events[2][1].size == 0


def test_mixed_batch_keeps_indexes_and_ignores_other_event_types():
    parsed = ev.parse_notification(load("batch_mixed.json"))
    assert [(i, e.event_name) for i, e in parsed.events] == [
        (0, "ObjectCreated:Copy"),
        (2, "ObjectCreated:CompleteMultipartUpload"),
        (3, "ObjectCreated:Post"),
    ]
    assert parsed.ignored == [(1, "ObjectTagging:Put")]
    assert parsed.events[1][1].etag.endswith("-13")


@pytest.mark.parametrize(
    "name, kind, version",
    [
        ("versioned_put.json", ev.CREATED, "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"),
        ("delete_marker.json", ev.REMOVED, "QUpfdndhfd8438MNFDN93jdnJFkdmqnh893"),
        ("delete_version.json", ev.VERSION_DELETED, "QUpfdndhfd8438MNFDN93jdnJFkdmqnh893"),
        ("delete_unversioned.json", ev.REMOVED, None),
    ],
)
def test_kinds_of_versioned_and_unversioned_events(name, kind, version):
    ((_, e),) = ev.parse_notification(load(name)).events
    assert e.kind == kind and e.version_id == version
    if kind != ev.CREATED:
        assert e.size is None and e.etag is None  # absent on ObjectRemoved


def test_lifecycle_expirations_are_removals():
    parsed = ev.parse_notification(load("lifecycle_expiration.json"))
    assert [e.kind for _, e in parsed.events] == [ev.REMOVED, ev.REMOVED]


def test_s3_test_event_is_ignored_not_failed():
    parsed = ev.parse_notification(load("test_event.json"))
    assert parsed.events == [] and parsed.errors == [] and parsed.ignored == [(0, "s3:TestEvent")]


def test_a_bad_record_fails_alone():
    body = load("put_keys_encoded.json")
    del body["Records"][1]["s3"]["object"]["key"]
    body["Records"][2]["s3"]["object"]["sequencer"] = "not-hex"
    parsed = ev.parse_notification(body)
    assert [i for i, _ in parsed.events] == [0]
    assert parsed.errors[0] == (1, "s3.object.key is missing or not a string")
    assert parsed.errors[1][0] == 2 and "hexadecimal" in parsed.errors[1][1]


@pytest.mark.parametrize(
    "body, fragment",
    [
        ([], "JSON object"),
        ({"foo": 1}, "no 'Records'"),
        ({"Records": {}}, "not a list"),
        ({"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}]}, "s3.bucket"),
        (
            {
                "Records": [
                    {
                        "eventName": "ObjectCreated:Put",
                        "eventTime": "yesterday",
                        "s3": {"bucket": {"name": "b"}, "object": {"key": "k", "sequencer": "01"}},
                    }
                ]
            },
            "eventTime",
        ),
        (
            {
                "Records": [
                    {
                        "eventName": "ObjectCreated:Put",
                        "eventTime": "2024-01-01T00:00:00Z",
                        "s3": {"bucket": {"name": "b"}, "object": {"key": "k", "sequencer": "01", "size": -1}},
                    }
                ]
            },
            "size",
        ),
    ],
)
def test_malformed_notifications(body, fragment):
    parsed = ev.parse_notification(body)
    assert parsed.events == [] and fragment in parsed.errors[0][1]


def test_missing_sequencer_falls_back_to_event_time():
    body = load("delete_unversioned.json")
    del body["Records"][0]["s3"]["object"]["sequencer"]
    ((_, e),) = ev.parse_notification(body).events
    assert e.sequencer_from_time and int(e.sequencer, 16) == 1714651200000  # 2024-05-02T12:00:00Z in ms
