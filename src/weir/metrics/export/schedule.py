"""When to export: each hour a few minutes after it closes, and every hour missed while stopped.

The watermark (the newest hour exported, in order) lives in an `ExportState` that
survives restarts. A run exports every due hour after the watermark, oldest first, and
moves the watermark after each success, so a crash or a failure in the middle resumes
where it stopped. A failed hour stops the run; it is retried after a back-off (1 minute,
doubling up to 15), and later hours wait for it, so the watermark never skips a hole.

The delay (5 minutes by default) lets points stamped late in the hour arrive before the
hour is read. Points that arrive even later mark their hour as changed (the store does so
as it stores them, see `ExportState.changed_hours`), and so does `weir export` before it
replaces an hour: once a marked hour has been quiet for the delay it is exported again, and
its mark goes only if nothing changed the hour meanwhile. So late points reach the export,
and an hour whose manifest a stopped `weir export` removed is always exported again.

On a data folder with no watermark the scheduler starts with the last closed hour; older
hours are a backfill for `weir export --from`. Hours older than the retention have no
points left and are skipped.

This module decides and runs one pass (`run_pending`), which the `exporter` Lambda calls
each hour; the thread that calls it in `weir serve`, with its back-off after a failure, is
`weir.jobs.exports.ExportWorker`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from weir.metrics.export import render as export
from weir.metrics.export.service import ExportResult, ExportService
from weir.metrics.ports import ExportState
from weir.metrics.timeutil import NS


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
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service = service
        self.state = state
        self.destination = service.target.url
        self.retention_ns = retention_seconds * NS
        self.delay_ns = int(delay_seconds * NS)
        self.clock = clock

    def pending_hours(self) -> list[int]:
        now = int(self.clock() * NS)
        due = latest_due_hour(now, self.delay_ns)
        last = self.state.last_exported(self.destination)
        first = due if last is None else last + export.HOUR_NS
        first = max(first, export.floor_hour(now - self.retention_ns))
        return list(range(first, due + 1, export.HOUR_NS))

    def changed_hours(self) -> list[tuple[int, int]]:
        """Exported hours marked as changed since, that have been quiet for the export delay:
        (hour, version of the mark), oldest first. Marks of hours past retention (nothing
        left to export) are dropped; those of hours not exported yet wait for their turn."""
        now = int(self.clock() * NS)
        last = self.state.last_exported(self.destination)
        floor = export.floor_hour(now - self.retention_ns)
        out = []
        for hour, version, changed_ns in self.state.changed_hours():
            if hour < floor:
                self.state.forget_changed(hour, version)
            elif last is not None and hour <= last and changed_ns + self.delay_ns <= now:
                out.append((hour, version))
        return out

    def run_pending(self, out_of_time: Callable[[], bool] = lambda: False) -> list[ExportResult]:
        """Export every due hour after the watermark, oldest first, then every exported hour
        that changed since (late points, an export that stopped half-way); raises on the
        first failure.

        `out_of_time` is asked before each hour (a Lambda's remaining time): the hours left
        are the next run's, since the watermark only moves, and a mark only goes, after an
        hour is complete. A mark changed during its hour's export stays, for the next run.
        """
        done: list[ExportResult] = []
        marks = {hour: version for hour, version, _ in self.state.changed_hours()}
        for hour in self.pending_hours():
            if out_of_time():
                return done
            done.append(self.service.export_hour(hour))
            self.state.set_last_exported(self.destination, hour)
            if hour in marks:  # late points that came before this first export are in it
                self.state.forget_changed(hour, marks[hour])
        for hour, version in self.changed_hours():
            if out_of_time():
                break
            done.append(self.service.export_hour(hour))
            self.state.forget_changed(hour, version)
        return done

    def next_due_ns(self, now: int) -> int:
        """When, seen at `now` (ns), `run_pending` next has something to do: the next hour's
        delay after it closes, or sooner a changed hour's end of quiet time (`now`, if one is
        due already)."""
        next_due = latest_due_hour(now, self.delay_ns) + 2 * export.HOUR_NS + self.delay_ns
        settled = [changed_ns + self.delay_ns for _, _, changed_ns in self.state.changed_hours()]
        if settled:  # a changed hour becomes due once it has been quiet for the delay
            next_due = min(next_due, max(now, min(settled)))
        return next_due
