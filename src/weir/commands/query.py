"""`weir query`: statistics per period for one metric, as a table (or the raw JSON)."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from weir.commands.client import Client, url_option
from weir.commands.output import number
from weir.metrics.aggregate import STATS

TIMES = "now, relative (-30m, -1h, -7d), RFC 3339 (2026-11-22T10:00:00Z) or epoch seconds"


@click.command()
@click.argument("name")
@click.option("--start", default="-1h", show_default=True, help=f"From: {TIMES}.")
@click.option("--end", default="now", show_default=True, help="To: the same forms as --start.")
@click.option("--period", default="1m", show_default=True, help="One row per period: 30s, 5m, 1h, 1d, 1w or seconds.")
@click.option("--stat", default="avg", show_default=True, help=f"Comma-separated statistics of {','.join(STATS)}.")
@click.option("--dim", multiple=True, help="Dimension filter key=value (repeatable).")
@click.option("--group-by", default=None, help="A dimension key: one table section per value.")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON answer.")
@url_option
def query(name, start, end, period, stat, dim, group_by, as_json, url, api_key) -> None:
    """Print statistics per period for metric NAME.

    Values of a metric named as a Unix time (`*_time_seconds`, `*_timestamp_seconds`, such
    as push_time_seconds) print as UTC times; --json keeps the numbers.
    """
    params = {"start": start, "end": end, "period": period, "stat": stat}
    for d in dim:
        key, sep, value = d.partition("=")
        if not sep:
            raise click.BadParameter(f"{d!r} is not key=value", param_hint="--dim")
        params[f"dim.{key}"] = value
    if group_by:
        params["group_by"] = group_by
    result = Client(url, api_key=api_key).call("GET", f"/metrics/{name}", params=params)
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
            cells.extend(number(p.get(s), metric=name, stat=s) for s in stats)
            table.add_row(*cells)
            rows += 1
    Console().print(table)
    if not rows:
        Console(stderr=True).print("no datapoints in this range")
