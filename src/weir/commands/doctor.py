"""`weir doctor` and `weir repair`: find damage in a data folder, and salvage what can be.

`weir serve` refuses to start on a damaged folder and names these two commands. `doctor`
only reads (it may run beside a server); `repair` needs the server stopped, keeps every
damaged file aside and says what it could not save.
"""

from __future__ import annotations

import sys
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


def _folder(data_dir: Path | None) -> Path:
    folder = data_dir or config.default_data_dir()
    if not folder.is_dir():
        raise click.ClickException(f"no data folder at {folder}")
    return folder


@click.command()
@_data_dir
def doctor(data_dir: Path | None) -> None:
    """Check every store of the data folder, every row Weir reads included; exit 1 on damage."""
    from weir.backends.sqlite.integrity import STORES, check_file

    folder = _folder(data_dir)
    out = Console(soft_wrap=True)
    damaged = 0
    for name in STORES:
        path = folder / name
        if not path.exists():
            out.print(f"{name:<14} [dim]absent (created at the next start)[/]")
            continue
        findings = check_file(path, full=True)
        size = path.stat().st_size
        if not findings:
            out.print(f"{name:<14} [green]ok[/]  {size:,} bytes")
            continue
        damaged += 1
        out.print(f"{name:<14} [red]damaged[/]  {size:,} bytes")
        for f in findings:
            out.print(f"  {escape(f.where)}: {escape(f.problem)}")
    if damaged:
        out.print(f"\n{damaged} damaged file(s). With the server stopped, run "
                  f"`weir repair --data-dir {escape(str(folder))}` to "
                  "salvage what can be into fresh files; the damaged ones are kept aside.")
        sys.exit(1)
    out.print("\nno damage found")


@click.command()
@_data_dir
def repair(data_dir: Path | None) -> None:
    """Salvage the damaged stores of the data folder into fresh files (the server must be stopped)."""
    from weir.backends.sqlite.salvage import repair_folder
    from weir.backends.sqlite.salvage_rules import rules_for

    folder = _folder(data_dir)
    out = Console(soft_wrap=True)
    try:
        reports = repair_folder(folder, rules_for)
    except WeirError as exc:
        raise click.ClickException(exc.message) from None
    except FileNotFoundError as exc:  # a folder without any store: nothing Weir wrote
        raise click.ClickException(f"{exc}; is --data-dir the folder `weir serve` uses?") from None
    if not reports:
        out.print(escape(f"no damage found in {folder}: nothing to repair"))
        return
    incomplete = False
    for r in reports:
        kept = ", ".join(f"{n:,} {table}" for table, n in r.kept.items()) or "nothing"
        out.print(f"[bold]{r.file}[/]: damaged; moved to {escape(str(r.aside))}")
        out.print(f"  kept: {kept}")
        for note in r.notes:
            out.print(f"  [yellow]rebuilt[/] {escape(note)}")
        for item in r.lost:
            out.print(f"  [red]not saved[/] {escape(item)}")
        if r.file == "keys.db" and not r.kept.get("api_keys"):
            out.print("  [red]no API key was saved: until keys are added again (`weir keys add`), the server "
                      "asks for none[/]")
        for item in r.remaining:
            incomplete = True
            out.print(f"  [red]still damaged[/] {escape(item)}")
    if incomplete:
        sys.exit(1)
    out.print("\nthe folder checks clean; `weir serve` can start. The damaged files stay where they were "
              "moved until you delete them.")
