"""`weir files ls|show|reindex`.

`ls` and `show` ask a running server (like `weir query`), so they show what the API shows.
`reindex` works on the data folder directly, with or without a server running (SQLite
lets both write; both index the folder's present state, so they cannot disagree).
"""

from __future__ import annotations

import json
import sys
import urllib.parse
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from weir import config
from weir.commands.client import Client, url_option
from weir.commands.output import cell, err, note


def _call(url: str, api_key: str | None, path: str, params: dict) -> dict:
    return Client(url, api_key=api_key).call("GET", path, params=params)


@click.group()
def files() -> None:
    """File metadata: list, show and reindex the catalog."""


@files.command("ls")
@click.argument("prefix", default="")
@click.option("--deleted", is_flag=True, help="Also list deleted keys (tombstones).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Stop after this many records.")
@click.option("--bucket", default=None, help="Bucket (default: the server's).")
@click.option("--json", "as_json", is_flag=True, help="One JSON record per line.")
@url_option
def ls(prefix: str, deleted: bool, limit: int | None, bucket: str | None, as_json: bool, url: str,
       api_key: str | None) -> None:
    """List the records whose key starts with PREFIX."""
    params: dict = {"prefix": prefix, "limit": 1000}
    if deleted:
        params["include_deleted"] = "true"
    if bucket:
        params["bucket"] = bucket
    table = Table(box=None)
    table.add_column("key")
    table.add_column("size", justify="right")
    table.add_column("last modified")
    table.add_column("etag")
    count = 0
    while True:
        page = _call(url, api_key, "/files", params)
        for rec in page["files"]:
            if limit is not None and count >= limit:
                break
            count += 1
            if as_json:
                click.echo(json.dumps(rec, ensure_ascii=False))
            elif rec.get("state") == "deleted":
                table.add_row(cell(rec["key"]), "", f"deleted {rec.get('deleted_at', '')}", "", style="dim")
            else:
                table.add_row(cell(rec["key"]), _size(rec.get("size")), rec.get("last_modified") or "",
                              cell(rec.get("etag")))
        if not page.get("next_cursor") or (limit is not None and count >= limit):
            break
        params["cursor"] = page["next_cursor"]
    if not as_json:
        Console().print(table)
        note(f"{count} file(s) under {prefix!r} in bucket {page['bucket']!r}")


@files.command("show")
@click.argument("key")
@click.option("--deleted", is_flag=True, help="Show the tombstone of a deleted key.")
@click.option("--bucket", default=None, help="Bucket (default: the server's).")
@url_option
def show(key: str, deleted: bool, bucket: str | None, url: str, api_key: str | None) -> None:
    """Print the metadata record of KEY as JSON."""
    params: dict = {}
    if deleted:
        params["include_deleted"] = "true"
    if bucket:
        params["bucket"] = bucket
    record = _call(url, api_key, "/files/" + urllib.parse.quote(key, safe="/"), params)
    click.echo(json.dumps(record, indent=2, ensure_ascii=False))


@files.command("reindex")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar=config.ENV_DATA_DIR,
              default=None, help="Where data lives (default ./data, env WEIR_DATA_DIR).")
@click.option("--dir", "files_dir", type=click.Path(file_okay=False, path_type=Path), envvar=config.ENV_FILES_DIR,
              default=None, help="The bucket folder (default <data-dir>/bucket, env WEIR_FILES_DIR).")
@click.option("--full", is_flag=True, help="Hash every file, not only those whose size or time changed.")
@click.option("--files-deletion", type=click.Choice(["tombstone", "remove"]), default="tombstone",
              show_default=True, envvar=config.ENV_FILES_DELETION)
def reindex(data_dir: Path | None, files_dir: Path | None, full: bool, files_deletion: str) -> None:
    """Bring the catalog in step with the bucket folder."""
    from weir.wiring.local import local_files

    settings = config.Settings(data_dir=data_dir or config.default_data_dir(), files_dir=files_dir,
                               files_deletion=files_deletion)
    services = local_files(settings)
    sync = services.sync
    try:
        with Progress(TextColumn("[bold]reindex"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=err) as progress:
            task = progress.add_task("reindex", total=None)

            def step(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            report = sync.reconcile(full=full, progress=step)
    finally:
        services.close()
    note(f"{report.scanned} files in {settings.files_root}: {report.indexed} indexed, "
         f"{report.removed} removed, {report.unchanged} unchanged, {report.failed} failed")
    sys.exit(1 if report.failed else 0)


def _size(n) -> str:
    if n is None:
        return ""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)
