"""`weir migrate`: bring a data folder up to this version's storage now, with progress.

`weir serve` upgrades a folder on start too (one quick transaction, then the old chunks
are rewritten an hour at a time in the background); this does the rewriting at once,
shows it, and then compacts the file (VACUUM) to hand the freed space back. It takes the
folder's lock, so it refuses to run beside a `weir serve` on the same folder. Killing it
at any point loses nothing: every step is a transaction, and the next run (or start of
`weir serve`) carries on.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from weir import config
from weir.commands.output import fail, note
from weir.errors import WeirError

err = Console(stderr=True)


@click.command()
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), envvar=config.ENV_DATA_DIR,
              default=None, help="The data folder (default ./data, env WEIR_DATA_DIR).")
@click.option("--vacuum/--no-vacuum", default=True, show_default=True,
              help="Compact the file afterwards (needs free disk space about the size of the data).")
def migrate(data_dir: Path | None, vacuum: bool) -> None:
    """Upgrade a data folder's metrics to this version's storage, and compact it."""
    from weir.backends.sqlite.metrics import SqliteMetricStore
    from weir.backends.sqlite.schema import VERSION, compact

    settings = config.Settings(data_dir=data_dir or config.default_data_dir())
    path = settings.metrics_db
    if not path.is_file():
        fail(f"no metrics database at {path}; is --data-dir the folder `weir serve` uses?")
    before = path.stat().st_size
    try:
        store = SqliteMetricStore(path, retention_seconds=settings.retention_seconds)
    except WeirError as exc:
        fail(exc.message)
    try:
        found = store.upgraded_from
        note(f"{path}: schema {found} → {VERSION}" if found < VERSION else f"{path}: schema {VERSION}")
        with Progress(TextColumn("finalising hours"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=err) as bar:
            task = bar.add_task("finalise", total=store.backlog() or 1)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=max(total, 1))

            store.finalise(progress)
            bar.update(task, completed=bar.tasks[0].total)
    finally:
        store.close()
    if vacuum:
        with err.status("compacting (VACUUM)"):
            compact(path)
    after = path.stat().st_size
    err.print(f"done: {before / 1e6:.1f} MB → {after / 1e6:.1f} MB")
