"""The interfaces between the domain and its backends.

Each backend (SQLite locally, DynamoDB on AWS) implements these, and one contract test
suite per port runs against every backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from weir.metrics.alerts.model import AlertEvent, Delivery, EventOut, Rule, State, Subscription
from weir.metrics.rollup import Minutes
from weir.metrics.series import Series

if TYPE_CHECKING:
    from weir.files.record import FileRecord, ObjectHead


@dataclass(slots=True)
class PointBatch:
    """Validated points ready to store: parallel lists, plus series seen for the first time."""

    series_ids: list[int] = field(default_factory=list)
    timestamps: list[int] = field(default_factory=list)  # ns since epoch, UTC
    values: list[float] = field(default_factory=list)
    new_series: list[Series] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.values)


class MetricStore(Protocol):
    backend: str

    def get_series(self, series_id: int) -> Series | None:
        """The stored series with this id, or None when it has never been written."""

    def append(self, batch: PointBatch) -> None:
        """Store the batch; when this returns, the points survive a crash.

        A point with the same series and timestamp as a stored one replaces it.
        """

    def metric_names(self) -> dict[str, int]:
        """Metric name → number of series."""

    def series_of(self, name: str) -> list[Series]:
        """All series of a metric, sorted by canonical key."""

    def select(self, name: str, filters: dict[str, str], *, limit: int | None = None,
               after: str | None = None) -> list[Series]:
        """The series of a metric whose dimensions include `filters`, sorted by canonical key:
        at most `limit`, only those whose key sorts after `after` (a listing's cursor). The
        cost follows the series selected and the most selective filter (an inverted index),
        not the metric's series."""

    def count_selected(self, name: str, filters: dict[str, str], cap: int) -> int:
        """How many series `select` would return; any count above `cap` may be cap + 1."""

    def label_stats(self) -> tuple[list[tuple[str, int, int]], list[tuple[str, str, int]]]:
        """For the cardinality view: per dimension key (key, distinct values, bytes of those
        values), and every (key, value) pair with its series count, most series first."""

    def read(self, series_ids: list[int], start_ns: int, end_ns: int) -> dict[int, tuple[list[int], list[float]]]:
        """Points in [start, end) of each series, sorted by time, one per timestamp."""

    def scan(self, start_ns: int, end_ns: int) -> Iterator[tuple[Series, list[int], list[float]]]:
        """Every series with points in [start, end), with those points sorted by time.

        Series come by ascending id. The cost follows the points in the window (an hourly
        export must never read the whole store); an empty series is not yielded.
        """

    def ready(self) -> bool:
        """False while the store is still recovering after a start."""

    def close(self) -> None: ...


@dataclass(slots=True)
class RollupRead:
    """What a store answered from rollups: the time spans they cover, and per series its minutes there.

    `covered` is sorted, non-overlapping [start, end) spans; the caller reads raw points
    for the rest of its range. Within a covered span the rollups hold every point stored.
    """

    covered: list[tuple[int, int]] = field(default_factory=list)
    series: dict[int, Minutes] = field(default_factory=dict)


@runtime_checkable
class RollupReader(Protocol):
    """A metric store that keeps per-minute rollups (see `weir.metrics.rollup`).

    Optional: the query service uses it when a store has it, and raw points otherwise;
    the answers are the same either way.
    """

    def read_rollups(self, series_ids: list[int], start_ns: int, end_ns: int) -> RollupRead:
        """Rollups of the parts of [start, end) the store has them for (whole compacted
        hours on DynamoDB), and which parts those are."""


class PointScan(Protocol):
    """The one read an export needs; the store and the read-only data-folder reader have it."""

    def scan(self, start_ns: int, end_ns: int) -> Iterator[tuple[Series, list[int], list[float]]]: ...


class ObjectStore(Protocol):
    """Where exports go: a local folder or an S3 bucket.

    Keys are `/`-separated relative paths. A put is all or nothing: a reader never sees
    half an object under its key (a folder renames a finished temp file into place; S3
    is atomic per object), and putting an existing key replaces it.
    """

    backend: str
    url: str  # where the objects are, for people and as the export watermark's key

    def put(self, key: str, data: bytes, *, content_type: str, content_encoding: str | None = None) -> None: ...

    def get(self, key: str) -> bytes:
        """The object's bytes; NotFoundError when there is none."""

    def list(self, prefix: str) -> list[str]:
        """Keys that start with prefix, sorted."""

    def delete(self, keys: Iterable[str]) -> None:
        """Remove these keys; a key that does not exist is not an error."""


class ExportState(Protocol):
    """The scheduler's watermark: the last hour exported to a destination, kept across restarts."""

    def last_exported(self, destination: str) -> int | None:
        """Start (ns) of the newest hour exported to `destination` in order, or None."""

    def set_last_exported(self, destination: str, hour_ns: int) -> None: ...

    def close(self) -> None: ...


# -- alerts ---------------------------------------------------------------------------


@dataclass(slots=True)
class StateRecord:
    """The stored state of one (rule, group); `version` grows by one per recorded event."""

    group_key: str
    group: dict[str, str]
    state: State
    since_ns: int
    reason: str = ""
    value: float | None = None
    last_notified_ns: int | None = None
    version: int = 0


@dataclass(slots=True)
class StateChange:
    """What one evaluation wants recorded for one group.

    Applied only if the stored row still has `expected_version` (0: no row yet), so two
    evaluators racing on the same rule record a transition once, never twice.
    """

    record: StateRecord
    expected_version: int
    event: AlertEvent | None = None
    targets: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PendingDelivery:
    id: int
    event: AlertEvent
    target: str
    attempts: int


class AlertStore(Protocol):
    """The alert-configuration port: rules, their states, events, the outbox, subscriptions."""

    def put_rule(self, rule: Rule, *, reset_states: bool = False) -> None:
        """Create or replace; raises ConflictError when another rule has the same name."""

    def get_rule(self, rule_id: str) -> Rule | None: ...

    def list_rules(self) -> list[Rule]: ...

    def delete_rule(self, rule_id: str) -> bool:
        """Delete the rule and its states; its events and pending deliveries are kept."""

    def get_states(self, rule_id: str) -> list[StateRecord]: ...

    def record(self, rule_id: str, rule_version: int, changes: list[StateChange]) -> list[AlertEvent]:
        """Apply the changes whose version still matches, in one transaction with their events
        and one pending delivery per target; return the events actually recorded."""

    def events(
        self, *, rule_id: str | None = None, kind: str | None = None, limit: int = 100
    ) -> list[EventOut]:
        """Newest first, each with its deliveries."""

    def due_deliveries(self, now_ns: int, limit: int = 100) -> list[PendingDelivery]: ...

    def next_due_ns(self) -> int | None:
        """When the earliest pending delivery is due, or None when none is pending."""

    def deliveries_done(self, delivery_ids: list[int], now_ns: int) -> None:
        """Mark deliveries as done, in one transaction (one fsync per dispatcher batch)."""

    def delivery_failed(self, delivery_id: int, error: str, next_attempt_ns: int | None) -> None:
        """Record a failed attempt; None as the next attempt means it has given up."""

    def last_delivery(self, target: str) -> Delivery | None: ...

    def put_subscription(self, sub: Subscription) -> None: ...

    def get_subscription(self, sub_id: str) -> Subscription | None: ...

    def list_subscriptions(self) -> list[Subscription]: ...

    def delete_subscription(self, sub_id: str) -> bool: ...

    def replace_config_subscriptions(self, subs: list[Subscription]) -> None:
        """Make the subscriptions from the config file exactly these (API ones untouched)."""

    def close(self) -> None: ...


class Notifier(Protocol):
    """Sends one alert event somewhere; raises DeliveryError (retried later) on failure."""

    def send(self, event: AlertEvent) -> None: ...


@dataclass(slots=True)
class PushGroup:
    """A Pushgateway group: its grouping labels and the series its pushes currently hold.

    `members` maps a metric family (`requests_total`, `latency_seconds`) to the canonical keys
    of its series. See `weir.metrics.push` for what replacing and deleting a group means.
    """

    key: str  # canonical form of the labels, `{instance="a",job="b"}`
    labels: dict[str, str]
    pushed_ns: int
    method: str
    members: dict[str, list[str]] = field(default_factory=dict)


class PushGroupStore(Protocol):
    def record(self, group: PushGroup, *, replace_all: bool) -> None:
        """Store the group's last push; its families replace the stored ones.

        `replace_all` (PUT) drops every family the push does not name; otherwise (POST) only
        the named families are replaced. A family with an empty member list is removed.
        """

    def delete(self, key: str) -> bool:
        """Forget the group; False when there was no such group."""

    def groups(self) -> list[PushGroup]:
        """Every group, sorted by key, with its members."""

    def close(self) -> None: ...


# --- files -------------------------------------------------------------------------------


class ObjectSource(Protocol):
    """Where objects live (S3, or a local folder): asked for one version's metadata."""

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectHead | None:
        """The object's metadata; None when the key (or that version) does not exist.

        Any other failure (denied, throttled, unreachable) raises a `WeirError`.
        """


class FileCatalog(Protocol):
    """The file-metadata catalog: per (bucket, key), the state with the greatest sequencer."""

    backend: str

    def put(self, record: FileRecord) -> bool:
        """Store the record unless one with an equal or greater sequencer is stored.

        True when stored; False when refused as a duplicate or an older state.
        """

    def put_many(self, records: list[FileRecord]) -> list[bool]:
        """`put` for each record, in one transaction where the backend has them."""

    def get(self, bucket: str, key: str) -> FileRecord | None:
        """The stored record, tombstones included, or None."""

    def list(
        self, bucket: str, prefix: str, *, after: str | None, limit: int, include_deleted: bool, now_s: int
    ) -> tuple[list[FileRecord], str | None]:
        """Records whose key starts with `prefix`, in key order (UTF-8 bytes), after the key
        `after`, at most `limit`; and the key to continue after, or None at the end.

        Expired records (`expires_at <= now_s`) are never listed; tombstones only on request.
        """

    def close(self) -> None: ...
