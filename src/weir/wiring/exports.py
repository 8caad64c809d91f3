"""Where exports go (the local exports folder, or S3), and the export scheduler over them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from weir.config import ENV_EXPORT_BUCKET, MissingSettingError, Settings

if TYPE_CHECKING:
    from weir.metrics.export.schedule import ExportScheduler
    from weir.metrics.ports import ExportState, ObjectStore, PointScan
    from weir.wiring.aws import AwsClients


def export_target(settings: Settings, clients: AwsClients | None) -> ObjectStore:
    """S3 when a bucket is configured (its client from `clients`), else the local exports folder."""
    if settings.export_bucket:
        try:
            from weir.backends.aws.objects import S3ObjectStore
            from weir.wiring.aws import AwsClients
        except ModuleNotFoundError as exc:
            if (exc.name or "").partition(".")[0] not in ("boto3", "botocore"):
                raise
            raise MissingSettingError(
                f"exporting to the S3 bucket {settings.export_bucket!r} needs boto3, which is not installed: "
                "pip install 'weir[aws]' (or export to a folder: leave out --bucket and unset "
                f"{ENV_EXPORT_BUCKET})"
            ) from None

        if clients is None:
            clients = AwsClients(settings.endpoint_url)
        # The region comes from the environment or the Lambda runtime; never set it here.
        client = clients.get("s3", settings.export_endpoint_url or settings.endpoint_url)
        return S3ObjectStore(client, settings.export_bucket, settings.export_prefix)
    from weir.backends.folder.objects import FolderObjectStore

    return FolderObjectStore(settings.exports_path)


def export_scheduler(settings: Settings, points: PointScan, state: ExportState, clients: AwsClients | None, *,
                     clock: Callable[[], float] = time.time) -> ExportScheduler:
    """The hourly export of `points` to the configured target, its watermark in `state`."""
    from weir.metrics.export.schedule import ExportScheduler
    from weir.metrics.export.service import ExportService

    exporter = ExportService(points, export_target(settings, clients), fmt=settings.export_format, clock=clock)
    return ExportScheduler(exporter, state, retention_seconds=settings.retention_seconds,
                           delay_seconds=settings.export_delay_seconds, clock=clock)
