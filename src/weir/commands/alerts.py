"""`weir alerts add|update|ls|show|rm|history`: alert rules on a running server, over its API."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from weir.commands.client import Client, url_option
from weir.commands.output import cell, err
from weir.metrics.alerts.model import STATISTICS, RuleSpec

out = Console()
_STATE_STYLE = {"ALARM": "bold red", "OK": "green", "INSUFFICIENT_DATA": "yellow"}


def _call(url: str, api_key: str | None, method: str, path: str, body: dict | None = None,
          params: dict | None = None) -> dict:
    return Client(url, api_key=api_key).call(method, path, body, params)


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
    """Alert rules: add, update, list, show, remove, and their history."""


def _rule_options(f, *, update: bool):
    """The options of a rule. For `update` every option is optional and unset means
    "keep the rule's value"; for `add` the API's defaults are shown."""
    def opt(*names, default=None, **kw):
        if update:
            kw.pop("show_default", None)
            return click.option(*names, default=None, **kw)
        return click.option(*names, default=default, **kw)

    for decorator in reversed([
        opt("--name", required=not update, help="The rule's name (unique)."),
        opt("--metric", required=not update),
        opt("--threshold", required=not update, type=float),
        opt("--comparison", type=click.Choice([">", ">=", "<", "<="]), default=">", show_default=True),
        opt("--stat", "statistic", type=click.Choice(STATISTICS), default="avg", show_default=True),
        opt("--period", type=int, default=60, show_default=True, help="Seconds per datapoint."),
        opt("--evaluation-periods", "-m", type=int, default=1, show_default=True, help="M: periods looked at."),
        click.option("--datapoints-to-alarm", "-n", default=None, type=int,
                     help="N of those M must breach" + ("." if update else " (default M).")),
        opt("--missing-data", type=click.Choice(["missing", "ignore", "breaching", "not_breaching"]),
            default="missing", show_default=True),
        opt("--severity", type=click.Choice(["info", "warning", "critical"]), default="warning", show_default=True),
        click.option("--dim", multiple=True, help="Dimension filter key=value (repeatable"
                     + ("; replaces the rule's filters)." if update else ").")),
        click.option("--group-by", multiple=True, help="Dimension key: one state per value (repeatable; "
                     "* = per series" + ("; replaces the rule's)." if update else ").")),
        click.option("--label", multiple=True, help="Free label key=value (repeatable"
                     + ("; replaces the rule's labels)." if update else ").")),
        click.option("--renotify", type=int, default=None, help="Notify again every this many seconds while in ALARM."),
        click.option("--allow-unknown-metric", is_flag=True, help="Accept a metric that has no data yet."),
        click.option("--json", "as_json", is_flag=True, help="Print the raw JSON answer."),
        url_option,
    ]):
        f = decorator(f)
    return f


@alerts.command("add")
@click.option("--disabled", is_flag=True, help="Create the rule switched off.")
@lambda f: _rule_options(f, update=False)
def add(name, metric, threshold, comparison, statistic, period, evaluation_periods, datapoints_to_alarm,
        missing_data, severity, dim, group_by, label, renotify, disabled, allow_unknown_metric, as_json, url,
        api_key):
    """Create an alert rule; prints its id on stdout."""
    body = {
        "name": name, "metric": metric, "threshold": threshold, "comparison": comparison, "statistic": statistic,
        "period": period, "evaluation_periods": evaluation_periods, "datapoints_to_alarm": datapoints_to_alarm,
        "missing_data": missing_data, "severity": severity, "enabled": not disabled,
        "dimensions": _pairs(dim, "--dim"), "group_by": list(group_by) or None,
        "labels": _pairs(label, "--label"), "renotify_seconds": renotify,
    }
    params = {"allow_unknown_metric": "true"} if allow_unknown_metric else None
    _print_rule(_call(url, api_key, "POST", "/alerts", body, params), "created", as_json)


@alerts.command("update")
@click.argument("rule_id")
@click.option("--enable/--disable", "enabled", default=None, help="Switch the rule on or off.")
@click.option("--no-renotify", is_flag=True, help="Stop reminders while in ALARM.")
@lambda f: _rule_options(f, update=True)
def update(rule_id, enabled, no_renotify, name, metric, threshold, comparison, statistic, period,
           evaluation_periods, datapoints_to_alarm, missing_data, severity, dim, group_by, label, renotify,
           allow_unknown_metric, as_json, url, api_key):
    """Change some fields of rule RULE_ID and keep the others (PUT /alerts/RULE_ID).

    A new metric, statistic, period, filter or grouping starts the rule's states afresh;
    a new threshold keeps them.
    """
    rule = _call(url, api_key, "GET", f"/alerts/{rule_id}")
    body = {k: rule[k] for k in RuleSpec.__struct_fields__ if k in rule}
    given = {
        "name": name, "metric": metric, "threshold": threshold, "comparison": comparison, "statistic": statistic,
        "period": period, "evaluation_periods": evaluation_periods, "datapoints_to_alarm": datapoints_to_alarm,
        "missing_data": missing_data, "severity": severity, "enabled": enabled, "renotify_seconds": renotify,
        "dimensions": _pairs(dim, "--dim") if dim else None, "group_by": list(group_by) or None,
        "labels": _pairs(label, "--label") if label else None,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    if no_renotify:
        changes["renotify_seconds"] = None
    if not changes:
        raise click.UsageError("nothing to change: give the options to change (see --help)")
    if "evaluation_periods" in changes and "datapoints_to_alarm" not in changes:
        # N follows M when it was M (the default), and is kept otherwise (the server checks N <= M).
        if body.get("datapoints_to_alarm") == body.get("evaluation_periods"):
            changes["datapoints_to_alarm"] = changes["evaluation_periods"]
    body.update(changes)
    params = {"allow_unknown_metric": "true"} if allow_unknown_metric else None
    _print_rule(_call(url, api_key, "PUT", f"/alerts/{rule_id}", body, params), "updated", as_json)


def _print_rule(rule: dict, done: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(rule, indent=2))
    else:
        err.print(f"{done} alert rule [bold]{rule['id']}[/]", cell(f"({rule['name']})"))
        click.echo(rule["id"])


@alerts.command("ls")
@click.option("--json", "as_json", is_flag=True)
@url_option
def ls(as_json, url, api_key):
    """List alert rules and their states."""
    rules = _call(url, api_key, "GET", "/alerts")["alerts"]
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
        table.add_row(r["id"], cell(r["name"]), cell(cond), r["severity"], state)
    out.print(table)
    if not rules:
        err.print("no alert rules; create one with `weir alerts add`")


@alerts.command("show")
@click.argument("rule_id")
@click.option("--json", "as_json", is_flag=True)
@url_option
def show(rule_id, as_json, url, api_key):
    """Show one rule, with the state of each group."""
    r = _call(url, api_key, "GET", f"/alerts/{rule_id}")
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    skip = {"states"}
    for key, value in r.items():
        if key not in skip:
            out.print(f"[bold]{key}[/]:", cell(value))
    table = Table(title="states")
    for col in ("group", "state", "since", "value", "reason"):
        table.add_column(col)
    for s in r["states"]:
        st = s["state"]
        group = ",".join(f"{k}={v}" for k, v in s["group"].items()) or "(all)"
        value = "" if s.get("value") is None else f"{s['value']:.6g}"
        table.add_row(cell(group), f"[{_STATE_STYLE[st]}]{st}[/]", s["since"], value, cell(s["reason"]))
    out.print(table)


@alerts.command("rm")
@click.argument("rule_id")
@url_option
def rm(rule_id, url, api_key):
    """Delete a rule (its past events stay visible)."""
    _call(url, api_key, "DELETE", f"/alerts/{rule_id}")
    err.print("deleted alert rule", cell(rule_id))


@alerts.command("history")
@click.argument("rule_id")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--json", "as_json", is_flag=True)
@url_option
def history(rule_id, limit, as_json, url, api_key):
    """State transitions of a rule, newest first, with how each was delivered."""
    events = _call(url, api_key, "GET", f"/alerts/{rule_id}/history", params={"limit": str(limit)})["events"]
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
        table.add_row(e["at"], cell(group), f"{e['previous_state']} → [{_STATE_STYLE[e['state']]}]{e['state']}[/]",
                      cell(e["reason"]), cell(deliveries))
    out.print(table)
    if not events:
        err.print("no transitions yet")
