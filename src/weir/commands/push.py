"""`weir push`: send datapoints from a JSON-lines or CSV file to a running server, in batches."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import click
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from weir.commands.client import ApiError, Client, url_option
from weir.commands.output import err, fail, note

PUSH_BATCH = 5_000


class BadHeader(Exception):
    """A CSV file whose first line does not name the columns `name` and `value`."""


class BadLine(Exception):
    def __init__(self, lineno: int, message: str) -> None:
        super().__init__(f"line {lineno}: {message}")
        self.lineno = lineno


@click.command()
@click.argument("source", type=click.File("rb"))
@click.option("--format", "fmt", type=click.Choice(["auto", "jsonl", "csv"]), default="auto", show_default=True,
              help="auto: CSV when the file name ends in .csv or the first line is a CSV header "
                   "naming name and value; JSON lines otherwise.")
@click.option("--skip", type=click.IntRange(0), default=0,
              help="Skip the first N lines (to resume after a bad line; a CSV header is still read).")
@url_option
def push(source, fmt: str, skip: int, url: str, api_key: str | None) -> None:
    """Send datapoints from FILE (or - for stdin) to a running server.

    JSON lines: one datapoint object per line, as POST /metrics takes it. CSV: a header
    with name, value and optionally timestamp, type, unit; every other column is a
    dimension. Points without a timestamp get the server's time. A point sent again with
    the same name, dimensions and timestamp replaces the earlier value.

    A line that cannot be read stops the push after everything before it was sent; the
    message says which line, and how to resume with --skip.
    """
    if not hasattr(source, "peek"):  # a pipe or file is buffered already; anything else gets a buffer
        source = io.BufferedReader(source)
    if fmt == "auto":
        fmt = _sniff(source)
    total_size = _size(source)
    client = Client(url, api_key=api_key)
    accepted = 0
    rejected: list[str] = []
    bad: BadLine | None = None
    last_line = skip
    with Progress(TextColumn("[bold]push"), BarColumn(), TextColumn("{task.fields[points]} points"),
                  TimeRemainingColumn(), console=err, transient=False) as progress:
        task = progress.add_task("push", total=total_size or None, points=0)
        batches = _batches(source, fmt, skip)
        while True:
            try:
                lines, points, nbytes, upto = next(batches)
            except StopIteration:
                break
            except BadLine as exc:
                bad = exc
                break
            except BadHeader as exc:
                progress.stop()
                fail(str(exc))
            if points:
                try:
                    result = client.request("POST", "/metrics", json.dumps({"metrics": points}).encode())
                except ApiError as exc:
                    if exc.status == 400 and exc.data.get("rejected"):
                        result = {"accepted": 0, "rejected": exc.data["rejected"]}
                    else:
                        progress.stop()
                        _stopped(str(exc), accepted, last_line, source)
                accepted += result["accepted"]
                rejected.extend(f"line {lines[r['index']]}: {r['error']}" for r in result["rejected"])
            last_line = upto
            progress.update(task, advance=nbytes, points=accepted)
    for line in rejected[:20]:
        note(f"rejected {line}", "yellow")
    if len(rejected) > 20:
        note(f"… and {len(rejected) - 20} more rejected", "yellow")
    err.print(f"{accepted} accepted, {len(rejected)} rejected")
    if bad is not None:
        _stopped(str(bad), accepted, last_line, source, bad_line=bad.lineno)
    sys.exit(1 if rejected else 0)


def _stopped(reason: str, accepted: int, last_line: int, source, bad_line: int | None = None) -> NoReturn:
    """Say what was stored and how to go on, then exit 1."""
    name = getattr(source, "name", "-")
    name = "FILE" if name.startswith("<") else name
    if not last_line and bad_line is None:
        fail(reason)
    if last_line:
        done = (f"lines up to {last_line} were sent ({accepted} points accepted), "
                f"nothing after line {last_line} was")
    else:
        done = "nothing was sent"
    hint = f"send the rest with `weir push {name} --skip {last_line}`"
    if bad_line is not None:
        rest = f"send the rest with `weir push {name} --skip {last_line}`" if last_line else "push again"
        hint = f"fix line {bad_line} and {rest}, or leave that line out with `--skip {bad_line}`"
    fail(reason, hint=escape(f"{done}: {hint}"))


def _sniff(source) -> str:
    """CSV when the name says so, or when the first line is a CSV header naming name and value."""
    if getattr(source, "name", "").endswith(".csv"):
        return "csv"
    try:
        head = source.peek(4096)[:4096]
    except (AttributeError, OSError):
        return "jsonl"
    first = head.split(b"\n", 1)[0].strip().lstrip(b"\xef\xbb\xbf")
    if first[:1] not in (b"{", b"") and {b"name", b"value"} <= {c.strip() for c in first.split(b",")}:
        return "csv"
    return "jsonl"


def _size(source) -> int:
    try:
        return os.fstat(source.fileno()).st_size
    except (OSError, io.UnsupportedOperation):
        return 0


def _batches(source, fmt: str, skip: int = 0):
    """Yield (line numbers, points, bytes read, last line read) in batches of PUSH_BATCH
    points, skipping lines up to `skip`. A line that cannot be read ends the batch under way
    (yielded first, so all before it is sent) and raises BadLine."""
    text = io.TextIOWrapper(source, encoding="utf-8", newline="")
    lines: list[int] = []
    points: list[dict] = []
    nbytes = 0
    lineno = skip
    rows: Iterator[tuple[int, Any, int]]
    parse: Callable[[Any], dict | None]
    if fmt == "csv":
        reader = csv.DictReader(text)
        header = [h.strip() for h in reader.fieldnames or ()]  # reads line 1
        if not {"name", "value"} <= set(header):
            # Without this, a file without a header reads its first point as one and
            # then sends nothing, silently.
            found = ",".join(header) or "nothing"
            raise BadHeader("line 1: a CSV file starts with a header naming its columns, at least name and value "
                            f"(and optionally timestamp, type, unit, dimensions); found {found}")
        rows = ((reader.line_num, row, 0) for row in reader)
        parse = _csv_point
    else:
        rows = ((n, line, len(line.encode())) for n, line in enumerate(text, 1))
        parse = _json_point
    for n, row, size in rows:
        nbytes += size
        if n <= skip:
            continue
        try:
            point = parse(row)
        except ValueError as exc:
            yield lines, points, nbytes, lineno
            raise BadLine(n, str(exc)) from None
        lineno = n
        if point is None:
            continue
        lines.append(n)
        points.append(point)
        if len(points) >= PUSH_BATCH:
            yield lines, points, nbytes, lineno
            lines, points, nbytes = [], [], 0
    yield lines, points, nbytes, lineno


def _json_point(line: str) -> dict | None:
    line = line.strip()
    if not line:
        return None
    try:
        return json.loads(line)
    except ValueError as exc:
        hint = "" if line.startswith("{") else " (if the file is CSV, push it with --format csv)"
        raise ValueError(f"not JSON: {exc}{hint}") from None


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
