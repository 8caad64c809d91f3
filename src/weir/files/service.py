"""Indexing and reading file metadata: the one code path for the Lambda and `weir serve`.

`FileIndexer` turns object events into records and hands them to the catalog, which keeps
the newest state per key (see `weir.files.record`). The record of an event depends only on
the event and on what the object store says about the object, never on what the catalog
held before, so that delivering a key's events in any order, any number of times, ends in
the record of the event with the greatest sequencer.

- A created object is described by HEAD of *its version* when the event names one (so a
  later overwrite cannot leak into it). In an unversioned bucket HEAD sees the current
  object: when its ETag differs from the event's, the object changed since, and the record
  keeps the event's size and ETag and none of the newer object's fields. When HEAD finds
  nothing (deleted since), the record is built from the event alone.
- A removed key, or a delete marker, becomes a tombstone with the deletion time.
- The permanent deletion of one version (versioned bucket) may leave another version
  current: HEAD of the key decides between a live record and a tombstone.
- Deletion mode `remove` writes the same tombstone with `expires_at`: it is hidden at once
  and dropped after `tombstone_ttl_s`, the window in which a redelivered older event could
  otherwise bring the key back (14 days: the on-failure queue's retention).
"""

from __future__ import annotations

import base64
import binascii
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from weir.errors import InvalidInputError, NotFoundError, WeirError
from weir.files import events as ev
from weir.files.ports import FileCatalog, ObjectSource
from weir.files.record import (
    CREATED,
    DELETED,
    FileList,
    FileRecord,
    ObjectHead,
    iso_from_ns,
)

log = logging.getLogger(__name__)

DELETION_MODES = ("tombstone", "remove")
TOMBSTONE_TTL_S = 14 * 86_400
MAX_LIST_LIMIT = 1000
MAX_DELIMITER = 16
MAX_GROUP_CALLS = 100  # catalog calls for one page listed with a delimiter
# Greater than every character a key can hold after a folder's name (U+10FFFF sorts last in
# UTF-8 byte order, which both catalogs use): "listing after folder + this" skips the folder.
_LAST_CHAR = "\U0010ffff"
DEFAULT_LIST_LIMIT = 100


@dataclass(slots=True)
class RecordFailure:
    index: int
    key: str | None
    error: str


@dataclass(slots=True)
class IndexReport:
    stored: int = 0
    skipped: int = 0  # duplicates and older states, refused by the catalog
    ignored: int = 0  # records about other things (tagging, restore...)
    failed: list[RecordFailure] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "stored": self.stored,
            "skipped": self.skipped,
            "ignored": self.ignored,
            "failed": [{"index": f.index, "key": f.key, "error": f.error} for f in self.failed],
        }


class FileIndexer:
    def __init__(
        self,
        catalog: FileCatalog,
        objects: ObjectSource,
        *,
        region: str | None,
        deletion: str = "tombstone",
        tombstone_ttl_s: int = TOMBSTONE_TTL_S,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        if deletion not in DELETION_MODES:
            raise InvalidInputError(f"deletion mode {deletion!r} is not one of {', '.join(DELETION_MODES)}")
        self.catalog = catalog
        self.objects = objects
        self.region = region
        self.deletion = deletion
        self.tombstone_ttl_s = tombstone_ttl_s
        self.clock_ns = clock_ns

    def index_notification(self, notification: object) -> IndexReport:
        """Index every record of one S3 notification; a bad record fails alone."""
        parsed = ev.parse_notification(notification)
        report = IndexReport(ignored=len(parsed.ignored))
        for index, message in parsed.errors:
            report.failed.append(RecordFailure(index, None, message))
        for name in {n for _, n in parsed.ignored}:
            log.info("ignored %s record(s): not about creating or removing an object", name)
        self._index(parsed.events, report, batch=False)
        return report

    def index_events(self, events: Sequence[ev.ObjectEvent], *, batch: bool = True) -> IndexReport:
        """Index events made by this process (the local folder); `batch` stores them in
        one catalog transaction."""
        report = IndexReport()
        self._index(list(enumerate(events)), report, batch=batch)
        return report

    def _index(self, items: list[tuple[int, ev.ObjectEvent]], report: IndexReport, *, batch: bool) -> None:
        built: list[tuple[int, FileRecord]] = []
        for index, event in items:
            try:
                built.append((index, self.record_for(event)))
            except WeirError as exc:
                report.failed.append(RecordFailure(index, event.key, exc.message))
        if batch and built:
            for ok in self.catalog.put_many([r for _, r in built]):
                report.stored += ok
                report.skipped += not ok
            return
        for index, record in built:
            try:
                ok = self.catalog.put(record)
            except WeirError as exc:
                report.failed.append(RecordFailure(index, record.key, exc.message))
                continue
            report.stored += ok
            report.skipped += not ok

    def record_for(self, event: ev.ObjectEvent) -> FileRecord:
        now_ns = self.clock_ns()
        if event.kind == ev.CREATED:
            head = self.objects.head(event.bucket, event.key, event.version_id)
            return self._live(event, head, now_ns)
        if event.kind == ev.VERSION_DELETED:
            head = self.objects.head(event.bucket, event.key, None)
            if head is not None:
                return self._live(event, head, now_ns, current=True)
        return self._tombstone(event, now_ns)

    def _base(self, event: ev.ObjectEvent, now_ns: int) -> dict:
        return {
            "bucket": event.bucket,
            "key": event.key,
            "sequencer": event.sequencer,
            "event_name": event.event_name,
            "event_time": event.event_time,
            "processed_at": iso_from_ns(now_ns),
            "region": event.region or self.region,
        }

    def _live(
        self, event: ev.ObjectEvent, head: ObjectHead | None, now_ns: int, *, current: bool = False
    ) -> FileRecord:
        base = self._base(event, now_ns)
        if head is not None and not current and event.version_id is None:
            if event.etag and head.etag and head.etag != event.etag:
                head = None  # overwritten since the event: its metadata is not this event's
        if head is None:
            return FileRecord(
                **base,
                state=CREATED,
                version_id=event.version_id,
                size=event.size,
                etag=event.etag,
                last_modified=event.event_time,
            )
        return FileRecord(
            **base,
            state=CREATED,
            version_id=head.version_id if current else (event.version_id or head.version_id),
            size=head.size,
            etag=head.etag or event.etag,
            content_type=head.content_type,
            # The seed falls back to "now" when LastModified is missing; the event time is
            # the better fallback (it is when the object was written), then "now".
            last_modified=head.last_modified or event.event_time or base["processed_at"],
            storage_class=head.storage_class or "STANDARD",
            sse=head.sse,
            kms_key_id=head.kms_key_id,
            checksum=head.checksum,
            user_metadata=dict(head.user_metadata),
            tag_count=head.tag_count,
        )

    def _tombstone(self, event: ev.ObjectEvent, now_ns: int) -> FileRecord:
        expires = None
        if self.deletion == "remove":
            expires = now_ns // 1_000_000_000 + self.tombstone_ttl_s
        return FileRecord(
            **self._base(event, now_ns),
            state=DELETED,
            version_id=event.version_id,
            deleted_at=event.event_time,
            expires_at=expires,
        )


class FileQuery:
    """Listing and reading the catalog for the API, with its parameters checked."""

    def __init__(self, catalog: FileCatalog, *, bucket: str, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.catalog = catalog
        self.bucket = bucket
        self.clock_ns = clock_ns

    def list(self, params: dict[str, str]) -> FileList:
        _check_params(params, {"prefix", "bucket", "limit", "cursor", "include_deleted", "delimiter"})
        bucket = params.get("bucket") or self.bucket
        prefix = params.get("prefix", "")
        limit = _int_param(params, "limit", DEFAULT_LIST_LIMIT, 1, MAX_LIST_LIMIT)
        after = decode_cursor(params["cursor"]) if params.get("cursor") else None
        include_deleted = _bool_param(params, "include_deleted")
        delimiter = params.get("delimiter", "")
        if len(delimiter) > MAX_DELIMITER:
            raise InvalidInputError(f"delimiter: at most {MAX_DELIMITER} characters, such as '/'")
        if delimiter:
            return self._list_grouped(bucket, prefix, delimiter, after, limit, include_deleted)
        items, next_after = self.catalog.list(
            bucket, prefix, after=after, limit=limit, include_deleted=include_deleted, now_s=self._now_s()
        )
        cursor = encode_cursor(next_after) if next_after is not None else None
        return FileList(bucket=bucket, prefix=prefix, files=items, next_cursor=cursor)

    def _list_grouped(self, bucket: str, prefix: str, delimiter: str, after: str | None, limit: int,
                      include_deleted: bool) -> FileList:
        """Keys directly under `prefix`, and each deeper "folder" once, as S3 lists with a delimiter.

        Any catalog can do this through its one ordered listing: on meeting a key inside a
        folder, the folder is reported and the listing resumes after the last key that
        folder could hold, so its other keys are never read. A page holds at most `limit`
        keys and folders together; a folder costs one more catalog call, and a page stops
        after MAX_GROUP_CALLS calls (a cursor continues it), which bounds the work.
        """
        files: list[FileRecord] = []
        prefixes: list[str] = []
        now_s = self._now_s()
        calls, more = 0, True
        while len(files) + len(prefixes) < limit and calls < MAX_GROUP_CALLS:
            calls += 1
            items, next_after = self.catalog.list(bucket, prefix, after=after, limit=limit - len(files) - len(prefixes),
                                                  include_deleted=include_deleted, now_s=now_s)
            jumped = False
            for record in items:
                cut = record.key.find(delimiter, len(prefix))
                if cut < 0:
                    files.append(record)
                    after = record.key
                    continue
                folder = record.key[: cut + len(delimiter)]
                prefixes.append(folder)
                after = folder + _LAST_CHAR  # past every key in the folder
                jumped = True
                break
            if not jumped and next_after is None:
                more = False
                break
        cursor = encode_cursor(after) if more and after is not None else None
        return FileList(bucket=bucket, prefix=prefix, files=files, next_cursor=cursor, prefixes=prefixes)

    def get(self, key: str, params: dict[str, str]) -> FileRecord:
        _check_params(params, {"bucket", "include_deleted"})
        bucket = params.get("bucket") or self.bucket
        record = self.catalog.get(bucket, key)
        now_s = self._now_s()
        if record is None or not record.visible(now_s, include_deleted=True):
            raise NotFoundError(f"no file {key!r} in bucket {bucket!r}; GET /files?prefix=... lists the keys")
        if record.deleted and not _bool_param(params, "include_deleted"):
            raise NotFoundError(
                f"file {key!r} in bucket {bucket!r} was deleted at {record.deleted_at}; "
                "add include_deleted=true to see its tombstone"
            )
        return record

    def _now_s(self) -> int:
        return self.clock_ns() // 1_000_000_000


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        return base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInputError("cursor is not one this API returned; repeat the request without it") from None


def _check_params(params: dict[str, str], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise InvalidInputError(
            f"unknown query parameter(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )


def _int_param(params: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInputError(f"{name} {raw!r} is not an integer") from None
    if not lo <= value <= hi:
        raise InvalidInputError(f"{name} must be between {lo} and {hi}, not {value}")
    return value


def _bool_param(params: dict[str, str], name: str) -> bool:
    raw = params.get(name, "false").lower()
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no", ""):
        return False
    raise InvalidInputError(f"{name} must be true or false, not {raw!r}")
