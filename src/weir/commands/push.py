"""`weir push`: send datapoints from a JSON-lines or CSV file to a running server, in batches."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from weir.commands.client import ApiError, Client, url_option

err = Console(stderr=True)
PUSH_BATCH = 5_000


@click.command()
@click.argument("source", type=click.File("rb"))
@click.option("--format", "fmt", type=click.Choice(["auto", "jsonl", "csv"]), default="auto", show_default=True)
@url_option
def push(source, fmt: str, url: str, api_key: str | None) -> None:
    """Send datapoints from FILE (or - for stdin) to a running server.

    JSON lines: one datapoint object per line. CSV: a header with name, value and
    optionally timestamp, type, unit; every other column is a dimension.
    """
    if fmt == "auto":
        fmt = "csv" if getattr(source, "name", "").endswith(".csv") else "jsonl"
    total_size = _size(source)
    client = Client(url, api_key=api_key)
    accepted = 0
    rejected: list[str] = []
    with Progress(TextColumn("[bold]push"), BarColumn(), TextColumn("{task.fields[points]} points"),
                  TimeRemainingColumn(), console=err, transient=False) as progress:
        task = progress.add_task("push", total=total_size or None, points=0)
        for lines, points, nbytes in _batches(source, fmt):
            body = json.dumps({"metrics": points}).encode() if points else None
            if body is not None:
                try:
                    result = client.request("POST", "/metrics", body)
                except ApiError as exc:
                    if exc.status == 400 and exc.data.get("rejected"):
                        result = {"accepted": 0, "rejected": exc.data["rejected"]}
                    else:
                        err.print(f"[red]error:[/] {exc}")
                        sys.exit(1)
                accepted += result["accepted"]
                rejected.extend(f"line {lines[r['index']]}: {r['error']}" for r in result["rejected"])
            progress.update(task, advance=nbytes, points=accepted)
    for line in rejected[:20]:
        err.print(f"[yellow]rejected[/] {line}")
    if len(rejected) > 20:
        err.print(f"[yellow]… and {len(rejected) - 20} more rejected[/]")
    err.print(f"{accepted} accepted, {len(rejected)} rejected")
    sys.exit(1 if rejected else 0)


def _size(source) -> int:
    try:
        return os.fstat(source.fileno()).st_size
    except (OSError, io.UnsupportedOperation):
        return 0


def _batches(source, fmt: str):
    """Yield (line numbers, points, bytes read) in batches of PUSH_BATCH points."""
    text = io.TextIOWrapper(source, encoding="utf-8", newline="")
    lines: list[int] = []
    points: list[dict] = []
    nbytes = 0
    rows: Iterator[tuple[int, Any, int]]
    parse: Callable[[Any], dict | None]
    if fmt == "csv":
        reader = csv.DictReader(text)
        rows = ((reader.line_num, row, 0) for row in reader)
        parse = _csv_point
    else:
        rows = ((n, line, len(line.encode())) for n, line in enumerate(text, 1))
        parse = _json_point
    for lineno, row, size in rows:
        nbytes += size
        try:
            point = parse(row)
        except ValueError as exc:
            raise click.ClickException(f"line {lineno}: {exc}") from None
        if point is None:
            continue
        lines.append(lineno)
        points.append(point)
        if len(points) >= PUSH_BATCH:
            yield lines, points, nbytes
            lines, points, nbytes = [], [], 0
    yield lines, points, nbytes


def _json_point(line: str) -> dict | None:
    line = line.strip()
    if not line:
        return None
    try:
        return json.loads(line)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None


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
