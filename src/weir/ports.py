"""The interfaces between the domain and its backends.

Each backend (SQLite locally, DynamoDB on AWS) implements these, and one contract test
suite per port runs against every backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

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

    def read(self, series_ids: list[int], start_ns: int, end_ns: int) -> dict[int, tuple[list[int], list[float]]]:
        """Points in [start, end) of each series, sorted by time, one per timestamp."""

    def ready(self) -> bool:
        """False while the store is still recovering after a start."""

    def close(self) -> None: ...


# --- files -------------------------------------------------------------------------------


class ObjectSource(Protocol):
    """Where objects live (S3, or a local folder): asked for one version's metadata."""

    def head(self, bucket: str, key: str, version_id: str | None = None) -> "ObjectHead | None":
        """The object's metadata; None when the key (or that version) does not exist.

        Any other failure (denied, throttled, unreachable) raises a `WeirError`.
        """


class FileCatalog(Protocol):
    """The file-metadata catalog: per (bucket, key), the state with the greatest sequencer."""

    backend: str

    def put(self, record: "FileRecord") -> bool:
        """Store the record unless one with an equal or greater sequencer is stored.

        True when stored; False when refused as a duplicate or an older state.
        """

    def put_many(self, records: "list[FileRecord]") -> list[bool]:
        """`put` for each record, in one transaction where the backend has them."""

    def get(self, bucket: str, key: str) -> "FileRecord | None":
        """The stored record, tombstones included, or None."""

    def list(
        self, bucket: str, prefix: str, *, after: str | None, limit: int, include_deleted: bool, now_s: int
    ) -> "tuple[list[FileRecord], str | None]":
        """Records whose key starts with `prefix`, in key order (UTF-8 bytes), after the key
        `after`, at most `limit`; and the key to continue after, or None at the end.

        Expired records (`expires_at <= now_s`) are never listed; tombstones only on request.
        """

    def close(self) -> None: ...
