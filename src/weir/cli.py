"""The `weir` command."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from weir import config
from weir.client import ApiError, Client
from weir.commands.alerts import alerts
from weir.commands.export import export_command, serve_export_options, serve_export_settings
from weir.commands.files import files
from weir.commands.keys import keys
from weir.errors import WeirError
from weir.metrics.timeutil import parse_duration

err = Console(stderr=True)
PUSH_BATCH = 5_000


def _url_option(f):
    f = click.option(
        "--api-key", envvar=config.ENV_API_KEY, default=None,
        help=f"API key, when the server has keys (env {config.ENV_API_KEY}).",
    )(f)
    return click.option(
        "--url",
        envvar=config.ENV_URL,
        default=f"http://{config.DEFAULT_HOST}:{config.DEFAULT_PORT}",
        show_default=True,
        help=f"Weir server (env {config.ENV_URL}).",
    )(f)


@click.group()
@click.version_option(package_name="weir")
def main() -> None:
    """Weir: metrics and file metadata, on one machine or on AWS."""


@main.command()
@click.option("--host", default=config.DEFAULT_HOST, show_default=True,
              help="Address to bind; 0.0.0.0 exposes Weir to the network.")
@click.option("--port", default=config.DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar=config.ENV_DATA_DIR,
              default=None, help="Where data lives (default ./data, env WEIR_DATA_DIR).")
@click.option("--retention", default="30d", show_default=True, envvar=config.ENV_RETENTION,
              help="How long points are kept, for example 30d, 12h.")
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
def serve(host: str, port: int, data_dir: Path | None, retention: str, access_log: bool, open_reads: bool,
          rate_limit: float | None, query_workers: int, query_queue: int, header_timeout: float,
          body_timeout: float, keep_alive_timeout: int, config_file: Path | None, watch_dir: Path | None,
          no_watch: bool,
          files_deletion: str, backend: str, endpoint_url: str | None, metrics_table: str, series_table: str,
          create_tables: bool, alert_table: str | None, **export_options) -> None:
    """Run the Weir API locally, on SQLite or over DynamoDB."""
    from weir.http.server import serve as run

    try:
        seconds = parse_duration(retention, "--retention")
    except Exception as exc:
        raise click.BadParameter(str(exc), param_hint="--retention") from None
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
        data_dir=data_dir or config.default_data_dir(), retention_seconds=seconds, host=host, port=port,
        open_reads=open_reads, rate_limit=rate_limit, query_workers=query_workers, query_queue=query_queue,
        header_timeout=header_timeout, body_timeout=body_timeout, keep_alive_timeout=keep_alive_timeout,
        **serve_export_settings(export_options),
        config_file=config_file,
        files_dir=watch_dir, files_deletion=files_deletion, watch_files=not no_watch,
        backend=backend, endpoint_url=endpoint_url, metrics_table=metrics_table, series_table=series_table,
        create_tables=create_tables, alert_table=alert_table,
    )
    where = (f"DynamoDB tables {metrics_table}, {series_table}" + (f" at {endpoint_url}" if endpoint_url else "")
             if backend == "aws" else f"data in {settings.data_dir}")
    err.print(f"weir: {where}, retention {retention}, http://{host}:{port}")
    try:
        run(settings, access_log=access_log)
    except WeirError as exc:
        from rich.markup import escape

        err.print(f"[red]error:[/] {escape(exc.message)}")  # a message may quote TOML such as [alerts]
        sys.exit(1)


main.add_command(keys)
main.add_command(export_command)
main.add_command(alerts)
main.add_command(files)


@main.command()
@click.argument("source", type=click.File("rb"))
@click.option("--format", "fmt", type=click.Choice(["auto", "jsonl", "csv"]), default="auto", show_default=True)
@_url_option
def push(source, fmt: str, url: str, api_key: str | None) -> None:
    """Send datapoints from FILE (or - for stdin) to a running server.

    JSON lines: one datapoint object per line. CSV: a header with name, value and
    optionally timestamp, type, unit; every other column is a dimension.
    """
    if fmt == "auto":
        fmt = "csv" if getattr(source, "name", "").endswith(".csv") else "jsonl"
    total_size = _size(source)
    client = Client(url, api_key=api_key)
    accepted = 0
    rejected: list[str] = []
    with Progress(TextColumn("[bold]push"), BarColumn(), TextColumn("{task.fields[points]} points"),
                  TimeRemainingColumn(), console=err, transient=False) as progress:
        task = progress.add_task("push", total=total_size or None, points=0)
        for lines, points, nbytes in _batches(source, fmt):
            body = json.dumps({"metrics": points}).encode() if points else None
            if body is not None:
                try:
                    result = client.request("POST", "/metrics", body)
                except ApiError as exc:
                    if exc.status == 400 and exc.data.get("rejected"):
                        result = {"accepted": 0, "rejected": exc.data["rejected"]}
                    else:
                        err.print(f"[red]error:[/] {exc}")
                        sys.exit(1)
                accepted += result["accepted"]
                rejected.extend(f"line {lines[r['index']]}: {r['error']}" for r in result["rejected"])
            progress.update(task, advance=nbytes, points=accepted)
    for line in rejected[:20]:
        err.print(f"[yellow]rejected[/] {line}")
    if len(rejected) > 20:
        err.print(f"[yellow]… and {len(rejected) - 20} more rejected[/]")
    err.print(f"{accepted} accepted, {len(rejected)} rejected")
    sys.exit(1 if rejected else 0)


def _size(source) -> int:
    try:
        return os.fstat(source.fileno()).st_size
    except (OSError, io.UnsupportedOperation):
        return 0


def _batches(source, fmt: str):
    """Yield (line numbers, points, bytes read) in batches of PUSH_BATCH points."""
    text = io.TextIOWrapper(source, encoding="utf-8", newline="")
    lines: list[int] = []
    points: list[dict] = []
    nbytes = 0
    rows: Iterator[tuple[int, Any, int]]
    parse: Callable[[Any], dict | None]
    if fmt == "csv":
        reader = csv.DictReader(text)
        rows = ((reader.line_num, row, 0) for row in reader)
        parse = _csv_point
    else:
        rows = ((n, line, len(line.encode())) for n, line in enumerate(text, 1))
        parse = _json_point
    for lineno, row, size in rows:
        nbytes += size
        try:
            point = parse(row)
        except ValueError as exc:
            raise click.ClickException(f"line {lineno}: {exc}") from None
        if point is None:
            continue
        lines.append(lineno)
        points.append(point)
        if len(points) >= PUSH_BATCH:
            yield lines, points, nbytes
            lines, points, nbytes = [], [], 0
    yield lines, points, nbytes


def _json_point(line: str) -> dict | None:
    line = line.strip()
    if not line:
        return None
    try:
        return json.loads(line)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None


_CSV_FIELDS = {"name", "value", "timestamp", "type", "unit"}


def _csv_point(row: dict) -> dict:
    if row.get("name") is None or row.get("value") is None:
        raise ValueError("CSV needs at least the columns name and value")
    point: dict = {"name": row["name"]}
    try:
        point["value"] = float(row["value"])
    except ValueError:
        raise ValueError(f"value {row['value']!r} is not a number") from None
    ts = (row.get("timestamp") or "").strip()
    if ts:
        point["timestamp"] = int(ts) if ts.isascii() and ts.isdigit() else ts
    for k in ("type", "unit"):
        if row.get(k):
            point[k] = row[k]
    dims = {k: v for k, v in row.items() if k not in _CSV_FIELDS and k and v}
    if dims:
        point["dimensions"] = dims
    return point


@main.command()
@click.argument("name")
@click.option("--start", default="-1h", show_default=True)
@click.option("--end", default="now", show_default=True)
@click.option("--period", default="1m", show_default=True)
@click.option("--stat", default="avg", show_default=True, help="Comma-separated statistics.")
@click.option("--dim", multiple=True, help="Dimension filter key=value (repeatable).")
@click.option("--group-by", default=None, help="A dimension key: one table section per value.")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON answer.")
@_url_option
def query(name, start, end, period, stat, dim, group_by, as_json, url, api_key) -> None:
    """Print statistics per period for metric NAME."""
    params = {"start": start, "end": end, "period": period, "stat": stat}
    for d in dim:
        key, sep, value = d.partition("=")
        if not sep:
            raise click.BadParameter(f"{d!r} is not key=value", param_hint="--dim")
        params[f"dim.{key}"] = value
    if group_by:
        params["group_by"] = group_by
    try:
        result = Client(url, api_key=api_key).request("GET", f"/metrics/{name}", params=params)
    except ApiError as exc:
        err.print(f"[red]error:[/] {exc.message or exc}")
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    stats = result["stats"]
    table = Table(title=f"{name}  {result['start']} → {result['end']}  period {result['period']}s")
    if group_by:
        table.add_column(group_by)
    table.add_column("timestamp")
    for s in stats:
        table.add_column(s, justify="right")
    rows = 0
    for group in result["groups"]:
        for p in group["datapoints"]:
            cells = [group["group"].get(group_by, "")] if group_by else []
            cells.append(p["timestamp"])
            cells.extend(_fmt(p.get(s)) for s in stats)
            table.add_row(*cells)
            rows += 1
    Console().print(table)
    if not rows:
        err.print("no datapoints in this range")


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)

