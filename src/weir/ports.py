"""The interfaces between the domain and its backends.

Each backend (SQLite locally, DynamoDB on AWS) implements these, and one contract test
suite per port runs against every backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from weir.metrics.series import Series


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

    def read(self, series_ids: list[int], start_ns: int, end_ns: int) -> dict[int, tuple[list[int], list[float]]]:
        """Points in [start, end) of each series, sorted by time, one per timestamp."""

    def ready(self) -> bool:
        """False while the store is still recovering after a start."""

    def close(self) -> None: ...


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
