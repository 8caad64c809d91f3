"""The local adapters: the file catalog over the bucket folder, and `weir export`'s
read-only view of a data folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from weir.config import Settings

if TYPE_CHECKING:
    from weir.backends.folder.watcher import FolderWatcher
    from weir.backends.sqlite.export_state import SqliteExportState
    from weir.backends.sqlite.files import SqliteFileCatalog
    from weir.backends.sqlite.reader import SqliteMetricReader
    from weir.files.service import FileIndexer, FileQuery
    from weir.files.sync import FolderSync
    from weir.metrics.export.service import ExportService


@dataclass
class LocalFiles:
    """The SQLite catalog over the local bucket folder, its sync and (when watching) its watcher."""

    catalog: SqliteFileCatalog
    indexer: FileIndexer
    query: FileQuery
    sync: FolderSync
    watcher: FolderWatcher | None  # None: `weir files reindex`, or `weir serve --no-watch`

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.catalog.close()


def local_files(settings: Settings, *, watch: bool = False) -> LocalFiles:
    """The SQLite catalog over the local bucket folder; with `watch`, its watcher too."""
    from weir.backends.folder.bucket import LocalFolder
    from weir.backends.sqlite.files import SqliteFileCatalog
    from weir.files.service import FileIndexer, FileQuery
    from weir.files.sync import FolderSync, LocalSequencer

    root = settings.files_root
    root.mkdir(parents=True, exist_ok=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    bucket = local_bucket_name(root)
    catalog = SqliteFileCatalog(settings.files_db)
    indexer = FileIndexer(catalog, LocalFolder(root), region="local", deletion=settings.files_deletion)
    sync = FolderSync(indexer, LocalFolder(root), bucket=bucket,
                      sequencer=LocalSequencer(catalog.max_sequencer(bucket)))
    watcher = None
    if watch:
        import time

        from weir.backends.folder.watcher import FolderWatcher

        watcher = FolderWatcher(sync, root, purge=lambda: catalog.purge_expired(int(time.time())))
    return LocalFiles(catalog, indexer, FileQuery(catalog, bucket=bucket), sync, watcher)


def local_bucket_name(root: Path) -> str:
    """A local folder plays the bucket named after it (`<data-dir>/bucket` → `bucket`)."""
    return root.resolve().name or "bucket"


def offline_export(settings: Settings) -> tuple[ExportService, SqliteMetricReader]:
    """`weir export`: the export over a read-only view of the data folder (see the reader)."""
    from weir.backends.sqlite.reader import SqliteMetricReader
    from weir.metrics.export.service import ExportService
    from weir.wiring.exports import export_target

    reader = SqliteMetricReader(settings.metrics_db)
    return ExportService(reader, export_target(settings, None), fmt=settings.export_format), reader


def offline_export_state(settings: Settings) -> SqliteExportState:
    """`weir export`'s view of the server's export state in the data folder: it marks the hours
    it replaces in the server's destination, so one it does not finish is exported again."""
    from weir.backends.sqlite.export_state import SqliteExportState

    return SqliteExportState(settings.metrics_db)
