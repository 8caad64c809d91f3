"""Exporting one closed hour: read its points, write the parts, then the manifest.

The order of writes is what makes a re-run safe and a failure harmless:

1. delete the hour's old manifest, so from here on nobody takes the hour as complete;
2. put the parts (`part-00000…`), each replacing the same key of an earlier run;
3. delete any other object under the hour's prefix (stale parts of an earlier, larger
   run, or of another format), so globbing readers such as Athena see no duplicates;
4. put the manifest, last.

If any step fails the exception propagates, no manifest exists for the hour, and the
caller retries later; the points in the store are only read, never moved, so nothing is
lost. The cost is one windowed `scan` of the hour plus one listing of its prefix.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from weir.errors import InvalidInputError
from weir.metrics.export import render as export
from weir.metrics.ports import ObjectStore, PointScan
from weir.metrics.timeutil import NS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportResult:
    hour_ns: int
    rows: int
    series: int
    keys: list[str]  # the parts, then the manifest
    deleted: list[str]
    seconds: float

    @property
    def hour(self) -> str:
        return export.format_hour(self.hour_ns)


class ExportService:
    def __init__(
        self,
        source: PointScan,
        target: ObjectStore,
        *,
        fmt: str = "jsonl",
        rows_per_part: int = export.DEFAULT_ROWS_PER_PART,
        clock: Callable[[], float] = time.time,
    ) -> None:
        export.check_format(fmt)
        self.source = source
        self.target = target
        self.fmt = fmt
        self.rows_per_part = rows_per_part
        self.clock = clock

    def export_hour(self, hour_ns: int) -> ExportResult:
        if hour_ns % export.HOUR_NS:
            raise InvalidInputError(f"hour: {hour_ns} ns is not the start of an hour")
        end_ns = hour_ns + export.HOUR_NS
        if end_ns > int(self.clock() * NS):
            raise InvalidInputError(
                f"hour {export.format_hour(hour_ns)} has not closed yet; only past hours can be exported"
            )
        t0 = time.perf_counter()
        prefix = export.hour_prefix(hour_ns)
        manifest = export.manifest_key(hour_ns)
        self.target.delete([manifest])
        summary = export.HourSummary(hour_ns, self.fmt)
        content_type, content_encoding = export.CONTENT[self.fmt]
        parts = []
        for part in export.render_parts(
            hour_ns, self.source.scan(hour_ns, end_ns), summary, fmt=self.fmt, rows_per_part=self.rows_per_part
        ):
            self.target.put(part.key, part.data, content_type=content_type, content_encoding=content_encoding)
            part.data = b""  # the manifest needs only size and hash; free the bytes
            parts.append(part)
        keep = {p.key for p in parts}
        stale = [k for k in self.target.list(prefix) if k not in keep and k != manifest]
        if stale:
            self.target.delete(stale)
        self.target.put(manifest, export.render_manifest(summary, parts), content_type="application/json")
        result = ExportResult(
            hour_ns, summary.rows, summary.series, [p.key for p in parts] + [manifest], stale,
            time.perf_counter() - t0,
        )
        log.info(
            "exported hour %s: %d rows of %d series in %d parts to %s%s (%.2fs)",
            result.hour, result.rows, result.series, len(parts), self.target.url.rstrip("/") + "/", prefix,
            result.seconds,
        )
        return result
