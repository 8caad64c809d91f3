"""`weir metrics ls` and `weir series`: what a running server holds, as `GET /metrics` and
`GET /metrics/{name}/series` list it."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from weir.commands.client import Client, url_option
from weir.commands.output import cell, err


@click.group()
def metrics() -> None:
    """Metric names on the server."""


@metrics.command("ls")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON answer.")
@url_option
def ls(as_json: bool, url: str, api_key: str | None) -> None:
    """List metric names with their series counts."""
    answer = Client(url, api_key=api_key).call("GET", "/metrics")
    if as_json:
        click.echo(json.dumps(answer, indent=2))
        return
    table = Table("metric", "series", box=None)
    for m in answer["metrics"]:
        table.add_row(cell(m["name"]), str(m["series"]))
    Console().print(table)
    if not answer["metrics"]:
        err.print("no metrics yet; send some with `weir push` or POST /metrics")


@click.command()
@click.argument("metric")
@click.option("--dim", multiple=True, help="Only series with this dimension value, key=value (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON answer.")
@url_option
def series(metric: str, dim: tuple[str, ...], as_json: bool, url: str, api_key: str | None) -> None:
    """List the series of METRIC: its dimensions, type and unit."""
    params: dict[str, str] = {}
    for d in dim:
        key, sep, value = d.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{d!r} is not key=value", param_hint="--dim")
        params[f"dim.{key}"] = value
    client = Client(url, api_key=api_key)
    found: list[dict] = []
    while True:  # a server that pages its answer says so with next_cursor
        answer = client.call("GET", f"/metrics/{metric}/series", params=params)
        found.extend(answer["series"])
        if not answer.get("next_cursor"):
            break
        params["cursor"] = answer["next_cursor"]
    if as_json:
        click.echo(json.dumps({"name": metric, "series": found}, indent=2))
        return
    table = Table("series", "type", "unit", box=None)
    for s in found:
        table.add_row(cell(s["key"]), s["type"], cell(s.get("unit")))
    Console().print(table)
    err.print(f"{len(found)} series")
