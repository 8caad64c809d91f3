"""When to export: each hour a few minutes after it closes, and every hour missed while stopped.

The watermark (the newest hour exported, in order) lives in an `ExportState` that
survives restarts. A run exports every due hour after the watermark, oldest first, and
moves the watermark after each success, so a crash or a failure in the middle resumes
where it stopped. A failed hour stops the run; it is retried after a back-off (1 minute,
doubling up to 15), and later hours wait for it, so the watermark never skips a hole.

The delay (5 minutes by default) lets points stamped late in the hour arrive before the
hour is read; points that arrive even later are in the store but not in that hour's
export until it is run again (`weir export --hour`).

On a data folder with no watermark the scheduler starts with the last closed hour; older
hours are a backfill for `weir export --from`. Hours older than the retention have no
points left and are skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from weir.metrics.export import render as export
from weir.metrics.export.service import ExportResult, ExportService
from weir.metrics.ports import ExportState
from weir.metrics.timeutil import NS

log = logging.getLogger(__name__)


def latest_due_hour(now_ns: int, delay_ns: int) -> int:
    """Start of the newest hour that closed at least `delay` ago."""
    return export.floor_hour(now_ns - delay_ns) - export.HOUR_NS


class ExportScheduler:
    def __init__(
        self,
        service: ExportService,
        state: ExportState,
        *,
        retention_seconds: int,
        delay_seconds: float = 300,
        retry_seconds: float = 60,
        max_retry_seconds: float = 900,
        poll_seconds: float = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service = service
        self.state = state
        self.destination = service.target.url
        self.retention_ns = retention_seconds * NS
        self.delay_ns = int(delay_seconds * NS)
        self.retry_seconds = retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.failures = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def pending_hours(self) -> list[int]:
        now = int(self.clock() * NS)
        due = latest_due_hour(now, self.delay_ns)
        last = self.state.last_exported(self.destination)
        first = due if last is None else last + export.HOUR_NS
        first = max(first, export.floor_hour(now - self.retention_ns))
        return list(range(first, due + 1, export.HOUR_NS))

    def run_pending(self, out_of_time: Callable[[], bool] = lambda: False) -> list[ExportResult]:
        """Export every due hour after the watermark, oldest first; raises on the first failure.

        `out_of_time` is asked before each hour (a Lambda's remaining time): the hours left
        are the next run's, since the watermark only moves after an hour is complete.
        """
        done = []
        for hour in self.pending_hours():
            if self._stop.is_set() or out_of_time():
                break
            done.append(self.service.export_hour(hour))
            self.state.set_last_exported(self.destination, hour)
        return done

    # -- the background thread ---------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="weir-export", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        """Ask the thread to stop and wait; an export in progress finishes its hour first."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_pending()
            except Exception as exc:
                self.failures += 1
                self.last_error = str(exc)
                wait = min(self.max_retry_seconds, self.retry_seconds * 2 ** (self.failures - 1))
                log.exception("export to %s failed (attempt %d); retrying in %.0fs", self.destination,
                              self.failures, wait)
            else:
                self.failures = 0
                self.last_error = None
                wait = self._until_next_due()
            self._stop.wait(wait)

    def _until_next_due(self) -> float:
        now = int(self.clock() * NS)
        next_due = latest_due_hour(now, self.delay_ns) + 2 * export.HOUR_NS + self.delay_ns
        # Poll at least every poll_seconds so a clock jump (a laptop waking up) is noticed.
        return max(0.5, min(self.poll_seconds, (next_due - now) / NS))
