"""The metadata record of one object key, and the rule that orders two states of a key.

S3 delivers event notifications at least once and in no guaranteed order. Each event for
an object carries a `sequencer`: for the *same key*, the greater value is the later event.
S3 documents how to compare them: they may differ in length, so left-pad the shorter with
zeros and compare the strings. `order_key` does exactly that (to a fixed width, so that a
store can compare the stored form with a plain string comparison, as DynamoDB's condition
expressions and SQLite's `>` do). A catalog keeps, per key, the record with the greatest
order key and refuses anything older or equal, which makes redelivery a no-op.

All times are ISO 8601 UTC with milliseconds (`2024-05-01T12:00:00.123Z`), the format of
S3's own `eventTime`, so records from S3 and from a local folder read the same.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import msgspec

from weir.errors import InvalidInputError

SEQUENCER_WIDTH = 64
_HEX = re.compile(rf"[0-9A-Fa-f]{{1,{SEQUENCER_WIDTH}}}\Z")

CREATED = "created"
DELETED = "deleted"


def order_key(sequencer: str) -> str:
    """The comparable form of a sequencer: upper-case hex, left-padded with zeros."""
    if not isinstance(sequencer, str) or not _HEX.match(sequencer):
        raise InvalidInputError(f"sequencer {sequencer!r} is not 1-{SEQUENCER_WIDTH} hexadecimal digits")
    return sequencer.upper().rjust(SEQUENCER_WIDTH, "0")


def is_newer(candidate: str, stored: str | None) -> bool:
    """True when a state with sequencer `candidate` replaces one with `stored`."""
    return stored is None or order_key(candidate) > order_key(stored)


def iso_ms(dt: datetime) -> str:
    """A datetime as ISO 8601 UTC with milliseconds; naive datetimes are taken as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_from_ns(ns: int) -> str:
    seconds, rest = divmod(ns, 1_000_000_000)
    dt = datetime.fromtimestamp(seconds, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{rest // 1_000_000:03d}Z"


def parse_time(text: str, what: str) -> str:
    """Normalise an ISO 8601 time with a zone (as S3 sends) to `iso_ms`."""
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError, AttributeError):
        raise InvalidInputError(f"{what} {text!r} is not an ISO 8601 time") from None
    if dt.tzinfo is None:
        raise InvalidInputError(f"{what} {text!r} has no time zone")
    return iso_ms(dt)


def epoch_seconds(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


class ObjectHead(msgspec.Struct, kw_only=True):
    """What the object store says about one object version (S3 HeadObject, or a stat)."""

    size: int
    etag: str | None = None
    content_type: str | None = None
    last_modified: str | None = None
    version_id: str | None = None
    storage_class: str = "STANDARD"
    sse: str | None = None
    kms_key_id: str | None = None
    checksum: dict[str, str] | None = None
    user_metadata: dict[str, str] = {}
    tag_count: int | None = None


class FileRecord(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The catalog's state of one key: live metadata, or a tombstone (`deleted_at` set).

    `expires_at` (epoch seconds) is set only on tombstones in `remove` mode: the record is
    hidden at once and dropped later (DynamoDB TTL, or the SQLite sweep), after the window
    in which a late redelivery could otherwise resurrect the key.
    """

    bucket: str
    key: str
    state: str  # CREATED or DELETED
    sequencer: str
    event_name: str
    event_time: str
    processed_at: str
    region: str | None = None
    version_id: str | None = None
    size: int | None = None
    etag: str | None = None
    content_type: str | None = None
    last_modified: str | None = None
    storage_class: str | None = None
    sse: str | None = None
    kms_key_id: str | None = None
    checksum: dict[str, str] | None = None
    user_metadata: dict[str, str] = {}
    tag_count: int | None = None
    deleted_at: str | None = None
    expires_at: int | None = None

    @property
    def order(self) -> str:
        return order_key(self.sequencer)

    @property
    def deleted(self) -> bool:
        return self.state == DELETED

    def visible(self, now_s: int, *, include_deleted: bool) -> bool:
        if self.expires_at is not None and self.expires_at <= now_s:
            return False
        return include_deleted or not self.deleted


class FileList(msgspec.Struct, kw_only=True):
    bucket: str
    prefix: str
    files: list[FileRecord]
    next_cursor: str | None = None
    # With a delimiter: the "folders" directly under the prefix, each once (S3's CommonPrefixes).
    prefixes: list[str] = []


def strip_etag(etag: str | None) -> str | None:
    """ETags come quoted from HeadObject and bare in events; keep them bare."""
    if etag is None:
        return None
    return etag.strip().strip('"') or None
