"""`GET /status`: what this Weir holds and how it is doing, for the web UI's status page
and for people (the health check answers "up?", this answers "how much, how fast, since when?").

Every figure is cheap or cached: the series count comes from the store's index, points
held from one aggregate over the SQLite chunk table (cached for a few seconds, since the
page polls), disk used from the sizes of the data folder's files. What a deployment cannot
know is null, not zero: a Lambda function has no data folder, and the `api` function runs
no exports. The ingest rate is measured here between calls over about a minute, from the
count of points the ingest service accepted; in AWS each function instance counts only
its own requests, so the figure is per instance there.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol

import msgspec
from msgspec import Meta

from weir import __version__
from weir.metrics import limits
from weir.metrics.timeutil import NS, ns_to_rfc3339

if TYPE_CHECKING:
    from weir.http.services import ApiServices

RATE_WINDOW_SECONDS = 60.0
CACHE_SECONDS = 5.0


class ExportStatus(msgspec.Struct, kw_only=True):
    destination: str
    last_exported_hour: Annotated[str | None, Meta(description="Start of the newest hour exported (UTC)")]
    consecutive_failures: int
    last_error: str | None


class Limits(msgspec.Struct, kw_only=True):
    max_points_per_request: int
    max_body_bytes: int
    max_dimensions: int
    max_name_length: int
    max_future_seconds: int
    max_points_per_query: int
    max_periods_per_query: int
    rate_limit_per_second: Annotated[float | None, Meta(description="Per API key or address; null: none")]
    api_keys: Annotated[bool | None, Meta(description="Whether API keys are configured (null: the platform checks)")]
    open_reads: bool


class Status(msgspec.Struct, kw_only=True):
    version: str
    backend: str
    environment: str
    ready: bool
    started_at: str
    uptime_seconds: float
    metrics: int
    series: int
    points_held: Annotated[int | None, Meta(description="Points stored (null where the backend cannot count them)")]
    points_ingested: Annotated[int, Meta(description="Points accepted by this process since it started")]
    ingest_rate: Annotated[float, Meta(description="Points per second accepted over about the last minute")]
    disk_bytes: Annotated[
        int | None, Meta(description="Bytes in the data folder, the watched files aside (null without one)")
    ]
    retention_seconds: int
    exports: ExportStatus | None
    alert_rules: int | None
    limits: Limits


class ExportProgress(Protocol):
    """What the status reads of the export scheduler (weir.jobs.exports)."""

    destination: str
    failures: int
    last_error: str | None

    @property
    def state(self): ...


class StatusService:
    """Built by the wiring, which knows what a deployment has: `data_dir` (disk used, the
    watched folder `watched_dir` left out) only for a local store, `exports` only where this
    process exports."""

    def __init__(self, services: ApiServices, *, environment: str, data_dir: Path | None = None,
                 watched_dir: Path | None = None, exports: ExportProgress | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.services = services
        self.environment = environment
        self.data_dir = data_dir
        self.watched_dir = watched_dir
        self.exports = exports
        self.clock = clock
        self.started = clock()
        self._samples: deque[tuple[float, int]] = deque([(self.started, 0)])
        self._cached: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def status(self) -> Status:
        from weir.metrics.query.service import MAX_PERIODS, MAX_POINTS_SCANNED

        sv = self.services
        now = self.clock()
        names = sv.store.metric_names()
        ingested = sv.ingest.accepted_total
        limiter = sv.limiter
        return Status(
            version=__version__,
            backend=sv.store.backend,
            environment=self.environment,
            ready=sv.store.ready(),
            started_at=ns_to_rfc3339(int(self.started * NS)),
            uptime_seconds=round(now - self.started, 3),
            metrics=len(names),
            series=sum(names.values()),
            points_held=self._cached_value("points", self._points_held),
            points_ingested=ingested,
            ingest_rate=self._rate(now, ingested),
            disk_bytes=self._cached_value("disk", self._disk_bytes),
            retention_seconds=sv.query.retention_ns // NS,
            exports=self._exports(),
            alert_rules=len(sv.alerts.list_rules().alerts) if sv.alerts is not None else None,
            limits=Limits(
                max_points_per_request=limits.MAX_POINTS_PER_REQUEST,
                max_body_bytes=limits.MAX_BODY_BYTES,
                max_dimensions=limits.MAX_DIMENSIONS,
                max_name_length=limits.MAX_NAME_LENGTH,
                max_future_seconds=limits.MAX_FUTURE_SECONDS,
                max_points_per_query=MAX_POINTS_SCANNED,
                max_periods_per_query=MAX_PERIODS,
                rate_limit_per_second=limiter.rate if limiter is not None else None,
                api_keys=bool(sv.auth.store.digests()) if sv.auth is not None else None,
                open_reads=bool(sv.auth.open_reads) if sv.auth is not None else False,
            ),
        )

    def _rate(self, now: float, total: int) -> float:
        """Points per second between the oldest sample within the window and now."""
        with self._lock:
            samples = self._samples
            samples.append((now, total))
            while len(samples) > 2 and now - samples[1][0] >= RATE_WINDOW_SECONDS:
                samples.popleft()
            t0, n0 = samples[0]
        return round((total - n0) / (now - t0), 3) if now > t0 else 0.0

    def _cached_value(self, name: str, compute: Callable[[], int | None]) -> int | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cached.get(name)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]  # type: ignore[return-value]
        value = compute()
        with self._lock:
            self._cached[name] = (now, value)
        return value

    def _points_held(self) -> int | None:
        count = getattr(self.services.store, "points_held", None)  # the SQLite store can tell; DynamoDB cannot cheaply
        return count() if callable(count) else None

    def _disk_bytes(self) -> int | None:
        return folder_bytes(self.data_dir, skip=self.watched_dir) if self.data_dir is not None else None

    def _exports(self) -> ExportStatus | None:
        scheduler = self.exports
        if scheduler is None:
            return None
        last = scheduler.state.last_exported(scheduler.destination)
        return ExportStatus(
            destination=scheduler.destination,
            last_exported_hour=ns_to_rfc3339(last) if last is not None else None,
            consecutive_failures=scheduler.failures,
            last_error=scheduler.last_error,
        )


def folder_bytes(root: Path, *, skip: Path | None = None) -> int:
    """Bytes of every file under `root` but those under `skip` (the watched folder: the
    user's own files, not what Weir stores)."""
    total = 0
    skipped = skip.resolve() if skip is not None else None
    for dirpath, dirs, files in os.walk(root):
        if skipped is not None:
            dirs[:] = [d for d in dirs if Path(dirpath, d).resolve() != skipped]
        for name in files:
            try:
                total += os.stat(os.path.join(dirpath, name), follow_symlinks=False).st_size
            except OSError:
                continue  # removed meanwhile (an export rotating, a WAL checkpoint)
    return total
