"""What every `weir` command prints: errors and notes on stderr, values as a person reads them.

Rich reads square brackets as markup, so text that is not ours (an error message that
quotes `weir[parquet]` or `cpu[red]`, a rule name, a dimension value) loses them unless it
is escaped. Every command prints such text through `fail`, `note` or `cell`, which escape
it, so no call site has to remember to.
"""

from __future__ import annotations

import datetime
from typing import NoReturn

from rich.console import Console
from rich.markup import escape
from rich.text import Text

# soft_wrap: a message is not broken at 80 columns (the terminal wraps it), so a command
# in it can be copied whole.
err = Console(stderr=True, soft_wrap=True)

# A value is shown as a time when its metric is named as a Unix time in seconds (Prometheus'
# convention: `push_time_seconds`, `process_start_time_seconds`, `*_timestamp_seconds`) and it
# lies in these years (2001-09-09 .. 2096-10-02): `response_time_seconds` of 0.25 stays a number.
TIME_SUFFIXES = ("_time_seconds", "_timestamp_seconds")
EPOCH_MIN, EPOCH_MAX = 1e9, 4e9
# Statistics that keep the unit of the values (a count or a sum of times is no time).
TIME_STATS = ("avg", "min", "max", "last", "p50", "p90", "p99")


def fail(message: str, *, hint: str | None = None, code: int = 1) -> NoReturn:
    """Print `error: message` (and a hint, which may use markup) on stderr and exit."""
    err.print(f"[red]error:[/] {escape(message)}")
    if hint:
        err.print(hint)
    raise SystemExit(code)


def note(message: str, style: str | None = None) -> None:
    """Print a message that is not ours (it may hold brackets) on stderr, in one style."""
    err.print(Text(message, style=style or ""))


def cell(value: object) -> Text:
    """A table cell holding text as it is (no markup)."""
    return Text("" if value is None else str(value))


def is_time_metric(name: str) -> bool:
    return name.endswith(TIME_SUFFIXES)


def number(value: object, *, metric: str = "", stat: str = "") -> str:
    """A statistic as a person reads it: 6 significant digits, or a UTC time (see TIME_SUFFIXES)."""
    if value is None:
        return ""
    if isinstance(value, float | int) and not isinstance(value, bool):
        if is_time_metric(metric) and stat in TIME_STATS and EPOCH_MIN <= value < EPOCH_MAX:
            moment = datetime.datetime.fromtimestamp(float(value), tz=datetime.UTC)
            return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
        if isinstance(value, float):
            return f"{value:.6g}"
    return str(value)
