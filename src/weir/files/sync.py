"""Keeping the catalog in step with a local folder: the reconcile and the watcher's batches.

The folder has no event stream of its own that survives a restart, so this works from
*state*: a changed path is indexed as it is now (a file → created, nothing → removed),
never from what a notification claimed. That makes a burst of changes, coalesced or
reordered by the watcher, end in the right records, and lets the startup reconcile reuse
the same path: compare the folder with the catalog (size and modification time, the
way rsync does; `full` hashes everything) and index the difference.

The events go through `FileIndexer`, the code path of the Lambda. Their sequencers come
from `LocalSequencer`: nanoseconds since the epoch, strictly increasing, and never below
the greatest one stored, so a clock set back cannot make new events look older.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from weir.files.events import CREATED, REMOVED, ObjectEvent
from weir.files.record import iso_from_ns
from weir.files.service import FileIndexer, IndexReport

PUT = "ObjectCreated:Put"
DELETE = "ObjectRemoved:Delete"
Progress = Callable[[int, int], None]


class LocalSequencer:
    def __init__(self, start_after: str | None = None, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self._last = int(start_after, 16) if start_after else 0
        self._clock = clock_ns
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            self._last = max(self._clock(), self._last + 1)
            return f"{self._last:016X}"


class Entry(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def last_modified(self) -> str: ...


class Folder(Protocol):
    def entry(self, key: str) -> Entry | None: ...
    def is_dir(self, key: str) -> bool: ...
    def walk(self, under: str = "") -> Iterator[Entry]: ...
    def key_of(self, path: str | os.PathLike) -> str | None: ...


@dataclass(slots=True)
class SyncReport:
    scanned: int = 0
    indexed: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: int = 0


class FolderSync:
    def __init__(
        self, indexer: FileIndexer, folder: Folder, *, bucket: str, sequencer: LocalSequencer, batch: int = 500
    ) -> None:
        self.indexer = indexer
        self.folder = folder
        self.bucket = bucket
        self.sequencer = sequencer
        self.batch = batch

    def reconcile(self, *, full: bool = False, progress: Progress | None = None) -> SyncReport:
        report = SyncReport()
        on_disk = {e.key: e for e in self.folder.walk()}
        report.scanned = len(on_disk)
        stored = {r.key: (r.size, r.last_modified) for r in self._live_records("")}
        creates = [k for k, e in on_disk.items() if full or stored.get(k) != (e.size, e.last_modified)]
        removes = [k for k in stored if k not in on_disk]
        report.unchanged = len(on_disk) - len(creates)
        todo = [(k, CREATED) for k in sorted(creates)] + [(k, REMOVED) for k in sorted(removes)]
        if progress:
            progress(0, len(todo))
        for i in range(0, len(todo), self.batch):
            chunk = todo[i : i + self.batch]
            result = self.indexer.index_events([self._event(k, kind) for k, kind in chunk])
            report.failed += len(result.failed)
            failed = {f.key for f in result.failed}
            report.indexed += sum(1 for k, kind in chunk if kind == CREATED and k not in failed)
            report.removed += sum(1 for k, kind in chunk if kind == REMOVED and k not in failed)
            if progress:
                progress(min(i + self.batch, len(todo)), len(todo))
        return report

    def changed(self, keys: Iterable[str]) -> IndexReport:
        """Index the present state of paths the watcher reported."""
        events: list[ObjectEvent] = []
        seen: set[str] = set()
        for key in sorted(set(keys)):
            if self.folder.entry(key) is not None:
                targets = [(key, CREATED)]
            elif self.folder.is_dir(key):  # a folder moved in: everything below it
                targets = [(e.key, CREATED) for e in self.folder.walk(key)]
            else:  # gone: the key itself, and all below it if it was a folder
                targets = [(r.key, REMOVED) for r in self._live_records(key + "/")]
                record = self.indexer.catalog.get(self.bucket, key)
                if record is not None and not record.deleted:
                    targets.append((key, REMOVED))
            for k, kind in targets:
                if k not in seen:
                    seen.add(k)
                    events.append(self._event(k, kind))
        report = IndexReport()
        for i in range(0, len(events), self.batch):
            part = self.indexer.index_events(events[i : i + self.batch])
            report.stored += part.stored
            report.skipped += part.skipped
            report.failed.extend(part.failed)
        return report

    def _event(self, key: str, kind: str) -> ObjectEvent:
        return ObjectEvent(
            bucket=self.bucket,
            key=key,
            kind=kind,
            event_name=PUT if kind == CREATED else DELETE,
            event_time=iso_from_ns(time.time_ns()),
            sequencer=self.sequencer.next(),
        )

    def _live_records(self, prefix: str):
        after = None
        while True:
            items, after = self.indexer.catalog.list(
                self.bucket, prefix, after=after, limit=1000, include_deleted=False, now_s=int(time.time())
            )
            yield from items
            if after is None:
                return
