"""Watch the local bucket folder with watchfiles and index what changes.

One background thread. The watcher starts *before* the startup reconcile (watchfiles'
first empty yield means the OS watch is in place), so a change made while the reconcile
walks the folder is reported afterwards rather than lost between the two.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from watchfiles import watch

from weir.files.sync import FolderSync

log = logging.getLogger(__name__)
# watchfiles logs every batch at INFO; the indexer's own summary is enough.
logging.getLogger("watchfiles.main").setLevel(logging.WARNING)


class FolderWatcher:
    def __init__(
        self,
        sync: FolderSync,
        root: Path,
        *,
        debounce_ms: int = 300,
        purge=None,
        purge_every_s: float = 3600.0,
    ) -> None:
        self.sync = sync
        self.root = Path(root)
        self.debounce_ms = debounce_ms
        self.purge = purge
        self.purge_every_s = purge_every_s
        self.reconciled = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="weir-files-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        next_purge = time.monotonic() + self.purge_every_s
        while not self._stop.is_set():
            try:
                for changes in watch(
                    self.root,
                    watch_filter=None,  # a bucket holds any file name
                    debounce=self.debounce_ms,
                    step=50,
                    rust_timeout=500,
                    yield_on_timeout=True,
                    stop_event=self._stop,
                    raise_interrupt=False,
                ):
                    if not self.reconciled.is_set():
                        self._reconcile()
                    if changes:
                        keys = {k for _, p in changes if (k := self.sync.folder.key_of(p)) is not None}
                        if keys:
                            report = self.sync.changed(keys)
                            if report.failed:
                                log.error("files: %d change(s) not indexed: %s", len(report.failed),
                                          "; ".join(f"{f.key}: {f.error}" for f in report.failed[:5]))
                    if self.purge is not None and time.monotonic() >= next_purge:
                        next_purge = time.monotonic() + self.purge_every_s
                        self.purge()
            except Exception:  # keep watching; a lost watch is worse than a logged error
                log.exception("files: the folder watcher failed; restarting it in 2 s")
                self.reconciled.clear()  # changes may have been missed: reconcile again
                self._stop.wait(2.0)
                try:
                    self.root.mkdir(parents=True, exist_ok=True)
                except OSError:
                    pass

    def _reconcile(self) -> None:
        t0 = time.perf_counter()
        report = self.sync.reconcile()
        log.info(
            "files: reconciled %s in %.2fs: %d files, %d indexed, %d removed, %d failed",
            self.root, time.perf_counter() - t0, report.scanned, report.indexed, report.removed, report.failed,
        )
        self.reconciled.set()
