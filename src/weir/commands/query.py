"""`weir query`: statistics per period for one metric, or a PromQL expression (`weir.commands.promql`),
as a table (or the raw JSON)."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from weir.commands.client import ApiError, Client, url_option

err = Console(stderr=True)


@click.command()
@click.argument("name")
@click.option("--start", default=None, help="[default: -1h]")
@click.option("--end", default=None, help="[default: now]")
@click.option("--period", default=None, help="Statistics form: the period. [default: 1m]")
@click.option("--stat", default=None, help="Statistics form: comma-separated statistics. [default: avg]")
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
