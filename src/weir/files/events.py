"""S3 event notifications → `ObjectEvent`s, every record of the batch.

A notification may carry several records; each is parsed on its own, so one malformed
record is reported by index and does not hide the others. Facts this relies on:

- `s3.object.key` is URL-encoded with `+` for spaces (Powertools' `S3Object.key` hands it
  over still encoded): it is decoded with `unquote_plus`.
- `size` and `eTag` are absent on `ObjectRemoved:*` events.
- `sequencer` orders events for the same key only.
- `ObjectRemoved:Delete` *with* a `versionId` is the permanent deletion of one version of a
  versioned bucket: the key may still have a current version, so it is resolved against the
  store (`VERSION_DELETED`); without one it is the deletion of the key (`REMOVED`).
- `*:DeleteMarkerCreated` means the key's current version is now a delete marker.
- When S3 sets up a notification it sends `s3:TestEvent`, which has no `Records`.

Events without a `sequencer` (S3 always sends one on object events; some emulators, moto
among them, do not) are ordered by `eventTime` instead, and the record says so in its log.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote_plus

from weir.errors import InvalidInputError
from weir.files.record import order_key, parse_time

CREATED = "created"  # a new object or version: index its metadata
REMOVED = "removed"  # the key is gone (unversioned delete, delete marker): tombstone
VERSION_DELETED = "version_deleted"  # one version removed for good: look at what is current

SUPPORTED_PREFIXES = ("ObjectCreated:", "ObjectRemoved:", "LifecycleExpiration:")


@dataclass(frozen=True, slots=True)
class ObjectEvent:
    bucket: str
    key: str
    kind: str
    event_name: str
    event_time: str
    sequencer: str
    region: str | None = None
    version_id: str | None = None
    size: int | None = None
    etag: str | None = None
    sequencer_from_time: bool = False


@dataclass(slots=True)
class Parsed:
    """The outcome of parsing one notification: events, skipped records, bad records."""

    events: list[tuple[int, ObjectEvent]]
    ignored: list[tuple[int, str]]
    errors: list[tuple[int, str]]


def parse_notification(event: object) -> Parsed:
    out = Parsed([], [], [])
    if not isinstance(event, dict):
        out.errors.append((0, f"an S3 notification is a JSON object, not {type(event).__name__}"))
        return out
    if "Records" not in event:
        if event.get("Event") == "s3:TestEvent":
            out.ignored.append((0, "s3:TestEvent"))
        else:
            out.errors.append((0, "not an S3 notification: no 'Records'"))
        return out
    records = event["Records"]
    if not isinstance(records, list):
        out.errors.append((0, "'Records' is not a list"))
        return out
    for i, rec in enumerate(records):
        try:
            ev = parse_record(rec)
        except InvalidInputError as exc:
            out.errors.append((i, exc.message))
            continue
        if isinstance(ev, str):
            out.ignored.append((i, ev))
        else:
            out.events.append((i, ev))
    return out


def parse_record(rec: object) -> ObjectEvent | str:
    """One record → an ObjectEvent, or the event name when the record is not about
    creating or removing an object (tagging, restore, replication...)."""
    if not isinstance(rec, dict):
        raise InvalidInputError("a record is not a JSON object")
    name = _str(rec, "eventName", "record")
    if not name.startswith(SUPPORTED_PREFIXES):
        return name
    s3 = _dict(rec, "s3", "record")
    bucket = _str(_dict(s3, "bucket", "s3"), "name", "s3.bucket")
    obj = _dict(s3, "object", "s3")
    raw_key = _str(obj, "key", "s3.object")
    key = unquote_plus(raw_key)
    if not key:
        raise InvalidInputError("s3.object.key is empty")
    event_time = parse_time(_str(rec, "eventTime", "record"), "eventTime")
    version_id = obj.get("versionId") or None
    given = obj.get("sequencer")
    from_time = given is None
    sequencer: str = _time_sequencer(event_time) if given is None else str(given)
    if not from_time:
        order_key(sequencer)  # validates
    if name.startswith("ObjectCreated:"):
        kind = CREATED
    elif name.endswith(":DeleteMarkerCreated"):
        kind = REMOVED
    elif version_id is not None:
        kind = VERSION_DELETED
    else:
        kind = REMOVED
    size = obj.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise InvalidInputError(f"s3.object.size {size!r} is not a byte count")
    etag = obj.get("eTag")
    if etag is not None and not isinstance(etag, str):
        raise InvalidInputError("s3.object.eTag is not a string")
    region = rec.get("awsRegion")
    return ObjectEvent(
        bucket=bucket,
        key=key,
        kind=kind,
        event_name=name,
        event_time=event_time,
        sequencer=sequencer,
        region=region if isinstance(region, str) and region else None,
        version_id=str(version_id) if version_id is not None else None,
        size=size if kind == CREATED else None,
        etag=(etag.strip('"') or None) if etag and kind == CREATED else None,
        sequencer_from_time=from_time,
    )


def _time_sequencer(event_time: str) -> str:
    from weir.files.record import epoch_seconds

    ms = int(event_time[20:23])
    return f"{(epoch_seconds(event_time) * 1000 + ms):X}"


def _dict(parent: dict, name: str, where: str) -> dict:
    value = parent.get(name)
    if not isinstance(value, dict):
        raise InvalidInputError(f"{where}.{name} is missing or not an object")
    return value


def _str(parent: dict, name: str, where: str) -> str:
    value = parent.get(name)
    if not isinstance(value, str):
        raise InvalidInputError(f"{where}.{name} is missing or not a string")
    return value
