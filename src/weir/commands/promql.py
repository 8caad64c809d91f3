"""`weir query` with PromQL: an expression asked of the server's Prometheus API.

`weir query` keeps its statistics form (`weir query cpu --stat avg,max`). Which form runs:

- the statistics form when the argument is a plain Weir metric name (letters, digits, `_`,
  `.`, `:`, `-`; as `POST /metrics` accepts them) and none of `--step`, `--instant` or
  `--time` is given;
- PromQL otherwise: anything with braces, brackets, parentheses, spaces, operators or
  quotes, or any argument with one of those three options (`weir query up --instant`).

So `weir query cpu` is the statistics form as before, `weir query cpu --step 1m` and
`weir query 'rate(x_total[5m])'` are PromQL. (`a-b` is a metric name; write `a - b` for
PromQL's subtraction.) Times take the same forms as the statistics form (`now`, `-1h`,
RFC 3339, epoch seconds) and are sent to the server as epoch seconds.
"""

from __future__ import annotations

import json
import math
import time
import urllib.parse

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from weir.commands.client import ApiError, Client
from weir.commands.output import EPOCH_MAX, EPOCH_MIN, cell, fail, is_time_metric, note, number
from weir.metrics import limits
from weir.metrics.series import canonical_key
from weir.metrics.timeutil import NS, ns_to_rfc3339, parse_time

AUTO_STEPS = 250  # steps a range query gets when --step is not given (as Prometheus' graph page)
STATS_ONLY = ("--period", "--stat", "--dim", "--group-by")
FORM = "application/x-www-form-urlencoded"
MAX_GET_QUERY = 16 * 1024  # longer query strings are POSTed


def is_promql(arg: str, *, step: str | None, instant: bool, at: str | None) -> bool:
    """The rule above: PromQL unless a plain metric name without PromQL's options."""
    return bool(step or instant or at) or not (len(arg) <= limits.MAX_NAME_LENGTH and limits.NAME_RE.match(arg))


def run(expr: str, *, start: str | None, end: str | None, step: str | None, instant: bool, at: str | None,
        timeout: str | None, as_json: bool, url: str, api_key: str | None, err: Console) -> int:
    """Ask the server; print a table (or the JSON `data`); return the exit status."""
    now = time.time_ns()
    params: dict[str, str] = {"query": expr}
    if timeout:
        params["timeout"] = timeout
    try:
        if instant:
            if start or end or step:
                raise click.UsageError("--instant takes --time, not --start, --end or --step")
            params["time"] = _seconds(parse_time(at or "now", "--time", now))
            path = "/api/v1/query"
        else:
            if at:
                raise click.UsageError("--time is for --instant queries; a range query takes --start and --end")
            a = parse_time(start or "-1h", "--start", now)
            b = parse_time(end or "now", "--end", now)
            params.update(start=_seconds(a), end=_seconds(b), step=step or _auto_step(a, b))
            path = "/api/v1/query_range"
    except click.UsageError:
        raise
    except Exception as exc:  # a WeirError from parse_time: the option is malformed
        raise click.BadParameter(getattr(exc, "message", str(exc))) from None
    try:
        # GET (a read, open without a key where reads are open), or a POSTed form (as Grafana
        # sends) for an expression too long for a URL, which the server stops at 32 KiB.
        form = urllib.parse.urlencode(params)
        client = Client(url, api_key=api_key)
        if len(form) <= MAX_GET_QUERY:
            answer = client.request("GET", path, params=params)
        else:
            answer = client.request("POST", path, form.encode(), content_type=FORM)
    except ApiError as exc:
        kind, message = exc.data.get("errorType"), exc.data.get("error") or exc.message or str(exc)
        fail(f"{kind + ': ' if kind else ''}{message}")
    for w in answer.get("warnings") or ():
        note(f"warning: {w}", "yellow")
    data = answer["data"]
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return 0
    rows = table_rows(data)
    title = expr if not instant else f"{expr}  at {ns_to_rfc3339(int(float(params['time']) * 1000) * 1_000_000)}"
    table = Table(title=Text(title), title_justify="left")
    for col, justify in (("series", "left"), ("time", "left"), ("value", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(*map(cell, row))
    Console().print(table)
    if not rows:
        err.print("no data: the expression selects no series at these times")
    return 0


def table_rows(data: dict) -> list[tuple[str, str, str]]:
    """(series, time, value) rows of a query answer, a row per sample."""
    kind, result = data["resultType"], data["result"]
    if kind in ("scalar", "string"):
        return [(f"({kind})", _time(result[0]), result[1])]
    rows: list[tuple[str, str, str]] = []
    for s in result:
        name = _series(s["metric"])
        samples = s["values"] if kind == "matrix" else [s["value"]]
        metric = s["metric"].get("__name__", "")
        if is_time_metric(metric):
            rows.extend((name, _time(t), _as_time(v, metric)) for t, v in samples)
        else:
            rows.extend((name, _time(t), v) for t, v in samples)
    return rows


def _as_time(value: str, metric: str) -> str:
    """A sample of a metric named as a Unix time, shown as one (as the statistics form does).
    PromQL keeps `__name__` where the value is still the stored one (a bare selector) and
    drops it for arithmetic and most functions, so `time() - push_time_seconds` stays a number."""
    try:
        seconds = float(value)
    except ValueError:
        return value
    if EPOCH_MIN <= seconds < EPOCH_MAX:
        return number(seconds, metric=metric, stat="last")
    return value  # out of the years a time is read in (output.TIME_SUFFIXES): as sent


def _series(labels: dict[str, str]) -> str:
    dims = {k: v for k, v in labels.items() if k != "__name__"}
    return canonical_key(labels.get("__name__", ""), dims) or "{}"


def _time(seconds: float) -> str:
    return ns_to_rfc3339(round(seconds * 1000) * 1_000_000)


def _seconds(ns: int) -> str:
    """Epoch seconds to the millisecond (PromQL's resolution)."""
    ms = abs(ns) // 1_000_000
    return f"{'-' if ns < 0 else ''}{ms // 1000}.{ms % 1000:03d}"


def _auto_step(start_ns: int, end_ns: int) -> str:
    return str(max(1, math.ceil((end_ns - start_ns) / NS / AUTO_STEPS)))
