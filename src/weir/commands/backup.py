"""`weir backup DEST` and `weir restore SOURCE`: the data folder's stores, copied consistently
while `weir serve` runs, and put back with the server stopped (see
weir.backends.sqlite.backup)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from weir import config
from weir.errors import WeirError

_data_dir = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar=config.ENV_DATA_DIR, default=None,
    help="The data folder of `weir serve` (default ./data, env WEIR_DATA_DIR).",
)


@click.command()
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@_data_dir
def backup(dest: Path, data_dir: Path | None) -> None:
    """Copy every store of the data folder into the new folder DEST; safe while the server runs."""
    from weir.backends.sqlite.backup import backup_folder

    folder = data_dir or config.default_data_dir()
    try:
        copied = backup_folder(folder, dest)
    except WeirError as exc:
        raise click.ClickException(exc.message) from None
    out = Console(soft_wrap=True)
    for c in copied:
        out.print(f"{c.file:<14} {c.bytes:,} bytes")
    out.print(escape(f"backup of {folder} in {dest}; restore it with `weir restore {dest} --data-dir <folder>`"))


@click.command()
@click.argument("source", type=click.Path(file_okay=False, exists=True, path_type=Path))
@_data_dir
def restore(source: Path, data_dir: Path | None) -> None:
    """Put the backup in SOURCE in place in the data folder (the server must be stopped)."""
    from weir.backends.sqlite.backup import restore_folder

    folder = data_dir or config.default_data_dir()
    try:
        files, replaced = restore_folder(source, folder)
    except WeirError as exc:
        raise click.ClickException(exc.message) from None
    out = Console(soft_wrap=True)
    out.print(escape(f"restored {', '.join(files)} into {folder}"))
    if replaced is not None:
        out.print(escape(f"the files they replaced were moved to {replaced}; delete them once the restore is checked"))
