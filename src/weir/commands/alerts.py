"""`weir alerts add|ls|show|rm|history`: alert rules on a running server, over its API."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from weir import config
from weir.commands.client import ApiError, Client

err = Console(stderr=True)
out = Console()
_STATE_STYLE = {"ALARM": "bold red", "OK": "green", "INSUFFICIENT_DATA": "yellow"}


def _url_option(f):
    return click.option(
        "--url", envvar=config.ENV_URL, default=f"http://{config.DEFAULT_HOST}:{config.DEFAULT_PORT}",
        show_default=True, help=f"Weir server (env {config.ENV_URL}).",
    )(f)


def _call(url: str, method: str, path: str, body: dict | None = None, params: dict | None = None) -> dict:
    try:
        return Client(url).request(method, path, json.dumps(body).encode() if body is not None else None, params)
    except ApiError as exc:
        err.print(f"[red]error:[/] {exc.message or exc}")
        sys.exit(1)


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not key=value", param_hint=option)
        pairs[key] = value
    return pairs


def _state_text(states: list[dict]) -> str:
    if not states:
        return "[yellow]no groups yet[/]"
    counts: dict[str, int] = {}
    for s in states:
        counts[s["state"]] = counts.get(s["state"], 0) + 1
    if len(states) == 1 and not states[0]["group"]:
        st = states[0]["state"]
        return f"[{_STATE_STYLE[st]}]{st}[/]"
    return ", ".join(f"[{_STATE_STYLE[k]}]{v} {k}[/]" for k, v in sorted(counts.items()))


@click.group()
def alerts() -> None:
    """Alert rules: add, list, show, remove, and their history."""


@alerts.command("add")
@click.option("--name", required=True)
@click.option("--metric", required=True)
@click.option("--threshold", required=True, type=float)
@click.option("--comparison", type=click.Choice([">", ">=", "<", "<="]), default=">", show_default=True)
@click.option("--stat", "statistic", default="avg", show_default=True,
              type=click.Choice(["avg", "min", "max", "sum", "count", "p50", "p90", "p99", "last"]))
@click.option("--period", default=60, show_default=True, type=int, help="Seconds per datapoint.")
@click.option("--evaluation-periods", "-m", default=1, show_default=True, type=int, help="M: periods looked at.")
@click.option("--datapoints-to-alarm", "-n", default=None, type=int, help="N of those M must breach (default M).")
@click.option("--missing-data", type=click.Choice(["missing", "ignore", "breaching", "not_breaching"]),
              default="missing", show_default=True)
@click.option("--severity", type=click.Choice(["info", "warning", "critical"]), default="warning", show_default=True)
@click.option("--dim", multiple=True, help="Dimension filter key=value (repeatable).")
@click.option("--group-by", multiple=True, help="Dimension key: one state per value (repeatable; * = per series).")
@click.option("--label", multiple=True, help="Free label key=value (repeatable).")
@click.option("--renotify", type=int, default=None, help="Notify again every this many seconds while in ALARM.")
@click.option("--disabled", is_flag=True, help="Create the rule switched off.")
@click.option("--allow-unknown-metric", is_flag=True, help="Accept a metric that has no data yet.")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON answer.")
@_url_option
def add(name, metric, threshold, comparison, statistic, period, evaluation_periods, datapoints_to_alarm,
        missing_data, severity, dim, group_by, label, renotify, disabled, allow_unknown_metric, as_json, url):
    """Create an alert rule."""
    body = {
        "name": name, "metric": metric, "threshold": threshold, "comparison": comparison, "statistic": statistic,
        "period": period, "evaluation_periods": evaluation_periods, "datapoints_to_alarm": datapoints_to_alarm,
        "missing_data": missing_data, "severity": severity, "enabled": not disabled,
        "dimensions": _pairs(dim, "--dim"), "group_by": list(group_by) or None,
        "labels": _pairs(label, "--label"), "renotify_seconds": renotify,
    }
    params = {"allow_unknown_metric": "true"} if allow_unknown_metric else None
    rule = _call(url, "POST", "/alerts", body, params)
    if as_json:
        click.echo(json.dumps(rule, indent=2))
    else:
        err.print(f"created alert rule [bold]{rule['id']}[/] ({rule['name']})")
        click.echo(rule["id"])


@alerts.command("ls")
@click.option("--json", "as_json", is_flag=True)
@_url_option
def ls(as_json, url):
    """List alert rules and their states."""
    rules = _call(url, "GET", "/alerts")["alerts"]
    if as_json:
        click.echo(json.dumps(rules, indent=2))
        return
    table = Table(title="alert rules")
    for col in ("id", "name", "condition", "severity", "state"):
        table.add_column(col)
    for r in rules:
        cond = (f"{r['statistic']}({r['metric']}) {r['comparison']} {r['threshold']:g}  "
                f"{r['datapoints_to_alarm']}/{r['evaluation_periods']} x {r['period']}s")
        state = _state_text(r["states"]) if r["enabled"] else "[dim]disabled[/]"
        table.add_row(r["id"], r["name"], cond, r["severity"], state)
    out.print(table)
    if not rules:
        err.print("no alert rules; create one with `weir alerts add`")


@alerts.command("show")
@click.argument("rule_id")
@click.option("--json", "as_json", is_flag=True)
@_url_option
def show(rule_id, as_json, url):
    """Show one rule, with the state of each group."""
    r = _call(url, "GET", f"/alerts/{rule_id}")
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    skip = {"states"}
    for key, value in r.items():
        if key not in skip:
            out.print(f"[bold]{key}[/]: {value}")
    table = Table(title="states")
    for col in ("group", "state", "since", "value", "reason"):
        table.add_column(col)
    for s in r["states"]:
        st = s["state"]
        group = ",".join(f"{k}={v}" for k, v in s["group"].items()) or "(all)"
        value = "" if s.get("value") is None else f"{s['value']:.6g}"
        table.add_row(group, f"[{_STATE_STYLE[st]}]{st}[/]", s["since"], value, s["reason"])
    out.print(table)


@alerts.command("rm")
@click.argument("rule_id")
@_url_option
def rm(rule_id, url):
    """Delete a rule (its past events stay visible)."""
    _call(url, "DELETE", f"/alerts/{rule_id}")
    err.print(f"deleted alert rule {rule_id}")


@alerts.command("history")
@click.argument("rule_id")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True)
@_url_option
def history(rule_id, limit, as_json, url):
    """State transitions of a rule, newest first, with how each was delivered."""
    events = _call(url, "GET", f"/alerts/{rule_id}/history", params={"limit": str(limit)})["events"]
    if as_json:
        click.echo(json.dumps(events, indent=2))
        return
    table = Table(title=f"history of {rule_id}")
    for col in ("at", "group", "transition", "reason", "deliveries"):
        table.add_column(col)
    for item in events:
        e = item["event"]
        group = ",".join(f"{k}={v}" for k, v in e["group"].items()) or "(all)"
        deliveries = ", ".join(f"{d['target']}:{d['status']}" for d in item["deliveries"])
        table.add_row(e["at"], group, f"{e['previous_state']} → [{_STATE_STYLE[e['state']]}]{e['state']}[/]",
                      e["reason"], deliveries)
    out.print(table)
    if not events:
        err.print("no transitions yet")
