"""`weir query`: statistics per period for one metric, or a PromQL expression (`weir.commands.promql`),
as a table (or the raw JSON)."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from weir.commands.client import Client, url_option
from weir.commands.output import cell, err, number
from weir.metrics.aggregate import STATS

TIMES = "now, relative (-30m, -1h, -7d), RFC 3339 (2026-11-22T10:00:00Z) or epoch seconds"


@click.command()
@click.argument("name")
@click.option("--start", default=None, help=f"From: {TIMES}. [default: -1h]")
@click.option("--end", default=None, help="To: the same forms as --start. [default: now]")
@click.option("--period", default=None,
              help="Statistics form: one row per period, 30s, 5m, 1h, 1d, 1w or seconds. [default: 1m]")
@click.option("--stat", default=None,
              help=f"Statistics form: comma-separated statistics of {','.join(STATS)}. [default: avg]")
@click.option("--dim", multiple=True, help="Statistics form: dimension filter key=value (repeatable).")
@click.option("--group-by", default=None, help="Statistics form: a dimension key, one table section per value.")
@click.option("--step", default=None, help="PromQL: the range query's step, such as 1m (default: the range / 250).")
@click.option("--instant", is_flag=True, help="PromQL: evaluate at one instant (--time, default now).")
@click.option("--time", "at", default=None, help="PromQL: the instant of an --instant query.")
@click.option("--timeout", default=None, help="PromQL: give up after this long, such as 10s.")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON answer.")
@url_option
def query(name, start, end, period, stat, dim, group_by, step, instant, at, timeout, as_json, url, api_key) -> None:
    """Print statistics per period for metric NAME, or evaluate a PromQL expression.

    NAME is a PromQL expression unless it is a plain metric name and none of --step,
    --instant, --time is given: `weir query cpu --stat max` is the statistics form,
    `weir query 'sum by (host) (rate(x_total[5m]))' --step 1m` and `weir query up --instant`
    are PromQL.

    Values of a metric named as a Unix time (`*_time_seconds`, `*_timestamp_seconds`, such
    as push_time_seconds) print as UTC times, in PromQL answers where the series keeps that
    name (`time() - push_time_seconds` is a number); --json keeps the numbers.
    """
    from weir.commands import promql

    if promql.is_promql(name, step=step, instant=instant, at=at):
        given = [o for o, v in zip(promql.STATS_ONLY, (period, stat, dim, group_by)) if v]
        if given:
            raise click.UsageError(f"{', '.join(given)} belong to the statistics form; NAME here is PromQL "
                                   "(use PromQL's own aggregation, such as max by (host) (...))")
        sys.exit(promql.run(name, start=start, end=end, step=step, instant=instant, at=at, timeout=timeout,
                            as_json=as_json, url=url, api_key=api_key, err=err))
    start, end, period, stat = start or "-1h", end or "now", period or "1m", stat or "avg"
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
            table.add_row(*map(cell, cells))  # a dimension value may hold brackets
            rows += 1
    Console().print(table)
    if not rows:
        err.print("no datapoints in this range")

