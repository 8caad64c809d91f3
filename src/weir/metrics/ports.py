"""The metrics domain's interfaces to its backends: metric store, rollups, exports, push groups.

Each backend (SQLite locally, DynamoDB on AWS) implements these, and one contract test
suite per port runs against every backend. Alerting's ports are in `weir.metrics.alerts.ports`
and the file catalog's in `weir.files.ports`, each beside the domain that uses it, so no
package imports a sibling's port module through a parent (the old `weir.ports` made
`weir.metrics` → `weir.ports` → `weir.metrics.alerts` → `weir.metrics` a cycle).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from weir.metrics.rollup import Minutes
from weir.metrics.series import Series


@dataclass(slots=True)
class PointBatch:
    """Validated points ready to store: parallel lists, plus series seen for the first time."""

    series_ids: list[int] = field(default_factory=list)
    timestamps: list[int] = field(default_factory=list)  # ns since epoch, UTC
    values: list[float] = field(default_factory=list)
    new_series: list[Series] = field(default_factory=list)
    # The metric names of the batch, when the producer knows them (ingest does): what the
    # alert worker needs, without a series lookup per id (a million of them, at scale).
    names: set[str] | None = None

    def __len__(self) -> int:
        return len(self.values)


class MetricStore(Protocol):
    backend: str
    # Bumped whenever the store forgets series (a retention sweep, a write that failed
    # after the series were recorded): callers that cache series identities (the ingest
    # service) drop their caches when it changes.
    series_epoch: int

    def get_series(self, series_id: int) -> Series | None:
        """The stored series with this id, or None when it has never been written."""

    def append(self, batch: PointBatch) -> None:
        """Store the batch durably: the points survive a crash once it is done.

        Done means: when this returns, except inside a `weir.durability.deferred` scope (the
        local gateway opens one around each request), where a store with a writer thread
        (SQLite) may return as soon as the commit is queued and hand its future to the scope;
        the gateway then awaits every such future before it answers. Either way nothing is
        acknowledged to a client before it is durable. A failure raises (StorageError), or,
        deferred, fails the future and so the answer.

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

    def problem(self) -> str | None:
        """Why the store cannot serve (damage found, recovery failed), or None: `/health` is a 503 then."""

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

    def changed_hours(self) -> list[tuple[int, int, int]]:
        """Hours marked as changed after they closed, oldest first: (hour start ns, version of
        the mark, when it was last changed ns). The store marks an hour when points land in it
        after it closed; `weir export` marks the hours it is about to replace."""

    def mark_changed(self, hours: Iterable[int], now_ns: int) -> dict[int, int]:
        """Mark hours as changed; returns each one's version, for `forget_changed`."""

    def forget_changed(self, hour_ns: int, version: int) -> None:
        """Remove an hour's mark if it is still at `version` (nothing changed the hour since)."""

    def close(self) -> None: ...


@dataclass(slots=True)
class PushGroup:
    """A Pushgateway group: its grouping labels and the series its pushes currently hold.

    `members` maps a metric family (`requests_total`, `latency_seconds`) to the canonical keys
    of its series. See `weir.wire.pushgateway` for what replacing and deleting a group means.
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
