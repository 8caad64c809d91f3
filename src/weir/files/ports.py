"""The file pipeline's interfaces: where objects live (`ObjectSource`) and the catalog
(`FileCatalog`). Implemented by a local folder and SQLite, and by S3 and DynamoDB."""

from __future__ import annotations

from typing import Protocol

from weir.files.record import FileRecord, ObjectHead


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
