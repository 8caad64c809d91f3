"""`weir keys add|ls|rm`: API keys of a local data folder (a running server sees changes at once)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from weir import auth, config
from weir.backends.sqlite.api_keys import SqliteKeyStore
from weir.errors import WeirError

_data_dir = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar=config.ENV_DATA_DIR, default=None,
    help="The data folder of `weir serve` (default ./data, env WEIR_DATA_DIR).",
)


def _store(data_dir: Path | None) -> SqliteKeyStore:
    return SqliteKeyStore(config.Settings(data_dir=data_dir or config.default_data_dir()).keys_db)


@click.group()
def keys() -> None:
    """Manage API keys. With any key present, writes need one (and reads, unless --open-reads)."""


@keys.command("add")
@click.argument("name")
@_data_dir
def add(name: str, data_dir: Path | None) -> None:
    """Create a key called NAME and print it once; only its digest is stored."""
    key = auth.new_key()
    try:
        _store(data_dir).add(name, auth.digest(key))
    except WeirError as exc:
        raise click.ClickException(exc.message) from None
    Console(stderr=True).print(f"key {name!r} created; it is shown only now:")
    click.echo(key)


@keys.command("ls")
@_data_dir
def ls(data_dir: Path | None) -> None:
    """List key names and creation times."""
    records = _store(data_dir).list()
    if not records:
        Console(stderr=True).print("no keys: the API is open to anyone who can reach it")
        return
    table = Table("name", "created", "digest (sha256, prefix)")
    for r in records:
        table.add_row(r.name, r.created, r.digest[:12])
    Console().print(table)


@keys.command("rm")
@click.argument("name")
@_data_dir
def rm(name: str, data_dir: Path | None) -> None:
    """Revoke the key called NAME."""
    if not _store(data_dir).remove(name):
        raise click.ClickException(f"no key named {name!r}; `weir keys ls` lists them")
    Console(stderr=True).print(f"key {name!r} revoked")
