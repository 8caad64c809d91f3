"""`weir export`, and the export options of `weir serve`.

`weir export` works on the data folder directly, read-only (see
`backends/sqlite/reader.py`): it needs no running server, and is safe beside one, since
SQLite in WAL mode lets another process read while the server's writer thread writes.
It does not move the server's watermark; exporting an hour twice gives the same objects. An
hour the server has already exported to the same destination is marked as changed while it
is replaced, so an export that stops half-way (and has removed the hour's manifest) is
redone by the server.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

from weir import config
from weir.commands.output import err, fail, note
from weir.errors import WeirError
from weir.metrics.export import render as layout
from weir.metrics.timeutil import NS


def _hour(ctx, param, value):
    """An hour as YYYY-MM-DDTHH (UTC), or relative to now: `-1h` is the hour that began
    an hour or less ago (the last closed one), `-1d` the same hour yesterday."""
    if value is None:
        return None
    try:
        if value.strip().startswith("-"):
            from weir.metrics.timeutil import parse_time

            return layout.floor_hour(parse_time(value, param.opts[0], time.time_ns()))
        return layout.parse_hour(value)
    except WeirError as exc:
        raise click.BadParameter(exc.message) from None


def _target_options(f):
    f = click.option("--endpoint-url", default=None, help="S3-compatible endpoint (MinIO, moto); default AWS.")(f)
    f = click.option("--prefix", envvar=config.ENV_EXPORT_PREFIX, default="", help="Key prefix in the bucket.")(f)
    f = click.option("--bucket", envvar=config.ENV_EXPORT_BUCKET, default=None,
                     help=f"Export to this S3 bucket instead of a folder (env {config.ENV_EXPORT_BUCKET}).")(f)
    f = click.option("--out", "export_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Folder to export to (default <data-dir>/exports).")(f)
    f = click.option("--format", "fmt", type=click.Choice(layout.FORMATS), envvar=config.ENV_EXPORT_FORMAT,
                     default="jsonl", show_default=True,
                     help="jsonl: gzipped JSON lines; parquet needs `pip install 'weir[parquet]'`.")(f)
    return f


@click.command("export")
@click.option("--hour", "hour", callback=_hour, default=None,
              help="One UTC hour, e.g. 2026-11-22T10, or relative: -1h is the last closed hour.")
@click.option("--from", "start", callback=_hour, default=None, help="First hour of a backfill (UTC, or -6h).")
@click.option("--to", "end", callback=_hour, default=None,
              help="Last hour of a backfill, included (default: the last closed hour).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar=config.ENV_DATA_DIR,
              default=None, help="The data folder of `weir serve` (default ./data, env WEIR_DATA_DIR).")
@click.option("--rows-per-part", type=click.IntRange(1), default=layout.DEFAULT_ROWS_PER_PART, show_default=True)
@_target_options
def export_command(hour, start, end, data_dir, rows_per_part, fmt, export_dir, bucket, prefix, endpoint_url):
    """Export closed hours of raw points to a folder or S3 (Hive-style keys, manifest last).

    \b
    weir export --hour 2026-11-22T10
    weir export --hour -1h                    # the last closed hour
    weir export --from 2026-11-20T00 --to 2026-11-22T23
    weir export --from -1d                    # the last day, up to the last closed hour
    """
    from weir.wiring.local import offline_export, offline_export_state

    if (hour is None) == (start is None):
        raise click.UsageError("give either --hour, or --from (with an optional --to)")
    if hour is not None and end is not None:
        raise click.UsageError("--to goes with --from, not with --hour")
    last_closed = layout.floor_hour(int(time.time() * NS)) - layout.HOUR_NS
    if hour is not None:
        hours = [hour]
    else:
        end = last_closed if end is None else end
        if end < start:
            raise click.BadParameter("--to is before --from", param_hint="--to")
        hours = list(range(start, end + layout.HOUR_NS, layout.HOUR_NS))
    if hours[-1] > last_closed:
        raise click.BadParameter(
            f"hour {layout.format_hour(hours[-1])} has not closed yet; the last closed hour is "
            f"{layout.format_hour(last_closed)} (UTC)", param_hint="--hour/--to",
        )
    settings = config.Settings(
        data_dir=data_dir or config.default_data_dir(), export_dir=export_dir, export_bucket=bucket,
        export_prefix=prefix, export_endpoint_url=endpoint_url, export_format=fmt,
    )
    try:
        service, reader = offline_export(settings)
    except WeirError as exc:
        fail(exc.message)
    service.rows_per_part = rows_per_part
    state = offline_export_state(settings)
    rows = 0
    failed: list[str] = []
    try:
        with Progress(TextColumn("[bold]export"), BarColumn(), MofNCompleteColumn(), TextColumn("hours"),
                      TextColumn("{task.fields[rows]:,} rows"), TimeRemainingColumn(), console=err,
                      disable=len(hours) == 1) as progress:
            task = progress.add_task("export", total=len(hours), rows=0)
            for h in hours:
                try:
                    result = _export_marked(service, state, h)
                except WeirError as exc:
                    failed.append(f"{layout.format_hour(h)}: {exc.message}")
                    progress.console.print("[red]failed[/]", Text(f"{layout.format_hour(h)}: {exc.message}"))
                else:
                    rows += result.rows
                    if len(hours) == 1:
                        err.print(f"{result.hour}: {result.rows:,} rows of {result.series:,} series, "
                                  f"{len(result.keys) - 1} parts")
                progress.update(task, advance=1, rows=rows)
    finally:
        reader.close()
        state.close()
    where = service.target.url
    note(f"exported {len(hours) - len(failed)} of {len(hours)} hours, {rows:,} rows, to {where}")
    if failed:
        err.print(f"[red]{len(failed)} hours failed[/]; run the same command again to retry them")
        sys.exit(1)


def _export_marked(service, state, hour: int):
    """Export one hour. When it is an hour the server has exported to this destination, it
    is marked as changed first and unmarked once complete: the export removes the manifest
    before it writes, and should it stop half-way the server exports the hour again."""
    last = state.last_exported(service.target.url)
    if last is None or hour > last:
        return service.export_hour(hour)
    version = state.mark_changed([hour], time.time_ns())[hour]
    result = service.export_hour(hour)
    state.forget_changed(hour, version)
    return result


def serve_export_options(f):
    """The export options of `weir serve`."""
    f = click.option("--export-delay", default="5m", show_default=True,
                     help="How long after an hour closes it is exported.")(f)
    f = click.option("--exports/--no-exports", default=True, help="Export each closed hour (default on).")(f)
    f = click.option("--export-format", type=click.Choice(layout.FORMATS), envvar=config.ENV_EXPORT_FORMAT,
                     default="jsonl", show_default=True)(f)
    f = click.option("--export-bucket", envvar=config.ENV_EXPORT_BUCKET, default=None,
                     help="Export to this S3 bucket instead of <data-dir>/exports "
                          f"(env {config.ENV_EXPORT_BUCKET}).")(f)
    return f


def serve_export_settings(options: dict) -> dict:
    """Settings keyword arguments from the options added by `serve_export_options`."""
    from weir.metrics.timeutil import parse_duration

    try:
        delay = parse_duration(options["export_delay"], "--export-delay")
    except WeirError as exc:
        raise click.BadParameter(exc.message, param_hint="--export-delay") from None
    try:
        layout.check_format(options["export_format"])  # Parquet without pyarrow: say so before starting
    except WeirError as exc:
        raise click.BadParameter(exc.message, param_hint="--export-format") from None
    return {
        "exports": options["exports"],
        "export_format": options["export_format"],
        "export_bucket": options["export_bucket"],
        "export_delay_seconds": delay,
    }
