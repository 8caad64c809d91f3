"""`weir serve`: the local HTTP front (uvicorn + the local gateway) over the services of the
configured backend (SQLite, or DynamoDB real or emulated)."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from weir import config
from weir.commands.export import serve_export_options, serve_export_settings
from weir.commands.output import fail, note
from weir.errors import WeirError
from weir.metrics.timeutil import parse_duration


@click.command()
@click.option("--host", default=config.DEFAULT_HOST, show_default=True,
              help="Address to bind; 0.0.0.0 exposes Weir to the network.")
@click.option("--port", default=config.DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar=config.ENV_DATA_DIR,
              default=None, help="Where data lives (default ./data, env WEIR_DATA_DIR).")
@click.option("--retention", default="30d", show_default=True, envvar=config.ENV_RETENTION,
              help="How long raw points are kept, for example 30d, 12h.")
@click.option("--minute-retention", default="90d", show_default=True, envvar=config.ENV_MINUTE_RETENTION,
              help="How long minute rollups are kept (made when raw points expire).")
@click.option("--hour-retention", default="455d", show_default=True, envvar=config.ENV_HOUR_RETENTION,
              help="How long hourly rollups and their percentile sketches are kept.")
@click.option("--access-log/--no-access-log", default=False, help="Log every request.")
@click.option("--open-reads", is_flag=True, help="With API keys configured, still let anyone read.")
@click.option("--rate-limit", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Requests per second per API key (or address), bursts of twice that; off by default.")
@click.option("--query-workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Threads that run queries and other heavy reads, off the event loop.")
@click.option("--query-queue", type=click.IntRange(0, 10_000), default=32, show_default=True,
              help="Heavy reads that may wait for a worker; beyond that a 503 with Retry-After.")
@click.option("--header-timeout", type=click.FloatRange(0.1, 3600), default=10.0, show_default=True,
              help="Seconds for a request's line and headers to arrive; else 408 and the connection closed.")
@click.option("--body-timeout", type=click.FloatRange(0.1, 3600), default=60.0, show_default=True,
              help="Seconds for a request's body to arrive after its headers; else 408.")
@click.option("--keep-alive-timeout", type=click.IntRange(1, 3600), default=5, show_default=True,
              help="Seconds an idle keep-alive connection is kept open.")
@click.option("--max-series-per-metric", type=click.IntRange(1), default=1_000_000, show_default=True,
              help="Points that would create a series beyond this many of one metric are rejected.")
@click.option("--max-series", type=click.IntRange(1), default=2_000_000, show_default=True,
              help="Points that would create a series beyond this many in all are rejected.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="TOML file: alerting settings and webhook subscriptions (see README).")
@click.option("--watch", "watch_dir", type=click.Path(file_okay=False, path_type=Path), envvar=config.ENV_FILES_DIR,
              default=None, help="Folder indexed as the local bucket (default <data-dir>/bucket, env WEIR_FILES_DIR).")
@click.option("--no-watch", is_flag=True, help="Do not watch or index the bucket folder.")
@click.option("--files-deletion", type=click.Choice(["tombstone", "remove"]), default="tombstone", show_default=True,
              envvar=config.ENV_FILES_DELETION, help="What a deleted file leaves in the catalog.")
@click.option("--backend", type=click.Choice(["sqlite", "aws"]), default="sqlite", show_default=True,
              help="sqlite: one data folder. aws: DynamoDB (region and credentials from the AWS config).")
@click.option("--endpoint-url", default=None, help="With --backend aws: an emulator such as moto or DynamoDB Local.")
@click.option("--metrics-table", envvar=config.ENV_METRICS_TABLE, default=config.DEFAULT_METRICS_TABLE,
              show_default=True, help=f"With --backend aws (env {config.ENV_METRICS_TABLE}).")
@click.option("--series-table", envvar=config.ENV_SERIES_TABLE, default=config.DEFAULT_SERIES_TABLE,
              show_default=True, help=f"With --backend aws (env {config.ENV_SERIES_TABLE}).")
@click.option("--alert-table", envvar=config.ENV_ALERT_CONFIG_TABLE, default=None,
              help=f"With --backend aws: alert rules in this DynamoDB table (env {config.ENV_ALERT_CONFIG_TABLE}).")
@click.option("--create-tables", is_flag=True, help="With --backend aws: create missing tables (for emulators).")
@serve_export_options
def serve(host: str, port: int, data_dir: Path | None, retention: str, minute_retention: str, hour_retention: str,
          access_log: bool, open_reads: bool,
          rate_limit: float | None, query_workers: int, query_queue: int, header_timeout: float,
          body_timeout: float, keep_alive_timeout: int, max_series_per_metric: int, max_series: int,
          config_file: Path | None, watch_dir: Path | None, no_watch: bool,
          files_deletion: str, backend: str, endpoint_url: str | None, metrics_table: str, series_table: str,
          create_tables: bool, alert_table: str | None, **export_options) -> None:
    """Run the Weir API locally, on SQLite or over DynamoDB."""
    seconds, minute_seconds, hour_seconds = (
        duration(value, name) for value, name in ((retention, "--retention"), (minute_retention, "--minute-retention"),
                                                  (hour_retention, "--hour-retention")))
    if config_file is not None:
        from weir import configfile

        try:
            configfile.load(config_file)
        except Exception as exc:
            raise click.BadParameter(getattr(exc, "message", str(exc)), param_hint="--config") from None
    if backend != "aws" and (endpoint_url or create_tables):
        raise click.UsageError("--endpoint-url and --create-tables need --backend aws")
    if backend != "aws":
        alert_table = None  # local alert rules live in the data folder (the variable may be set for AWS)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = config.Settings(
        data_dir=data_dir or config.default_data_dir(), retention_seconds=seconds,
        minute_retention_seconds=minute_seconds, hour_retention_seconds=hour_seconds, host=host, port=port,
        open_reads=open_reads, rate_limit=rate_limit, query_workers=query_workers, query_queue=query_queue,
        header_timeout=header_timeout, body_timeout=body_timeout, keep_alive_timeout=keep_alive_timeout,
        max_series_per_metric=max_series_per_metric, max_series=max_series,
        **serve_export_settings(export_options),
        config_file=config_file,
        files_dir=watch_dir, files_deletion=files_deletion, watch_files=not no_watch,
        backend=backend, endpoint_url=endpoint_url, metrics_table=metrics_table, series_table=series_table,
        create_tables=create_tables, alert_table=alert_table,
    )
    where = (f"DynamoDB tables {metrics_table}, {series_table}" + (f" at {endpoint_url}" if endpoint_url else "")
             if backend == "aws" else f"data in {settings.data_dir}")
    note(f"weir: {where}, retention {retention} (minute rollups {minute_retention}, hourly {hour_retention}), "
         f"http://{host}:{port}")
    try:
        run(settings, access_log=access_log)
    except WeirError as exc:
        fail(exc.message)  # escaped: a message may quote TOML such as [alerts]


def duration(value: str, name: str) -> int:
    try:
        return parse_duration(value, name)
    except Exception as exc:
        raise click.BadParameter(str(exc), param_hint=name) from None


def run(settings: config.Settings, *, access_log: bool = False) -> None:
    """Build the services first, so a bad data folder fails before the port is bound,
    then serve until SIGINT/SIGTERM; closing the services flushes the store."""
    from weir.http.app import authenticate, build_app
    from weir.http.server import ServerLimits, serve_http
    from weir.wiring import allocator
    from weir.wiring.serve import build_serve

    allocator.tune()
    built = build_serve(settings)
    built.start_background()
    limits = ServerLimits(settings.query_workers, settings.query_queue, settings.header_timeout,
                          settings.body_timeout, settings.keep_alive_timeout)
    try:
        serve_http(build_app(built.api).resolve, host=settings.host, port=settings.port, on_shutdown=built.close,
                   access_log=access_log, limits=limits,
                   # the API key is checked before the body is read: a refused upload is never buffered
                   precheck=authenticate(built.api) if built.api.auth is not None else None)
    finally:
        built.close()  # when uvicorn never started; a no-op after its lifespan shutdown
