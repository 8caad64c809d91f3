"""What every command prints goes through weir.commands.output: text that is not ours keeps
its square brackets (rich would read them as markup), and long messages are not cut."""

from __future__ import annotations

import pytest
from rich.console import Console

from weir.commands import output


def test_fail_prints_the_message_as_it_is_and_exits_1(capsys):
    message = "install it with `pip install 'weir[parquet]'`; cpu[red] [bold]x[/bold] " + "y" * 200
    with pytest.raises(SystemExit) as exit_:
        output.fail(message, hint="run [bold]this[/]")
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert f"error: {message}\n" in err, "escaped, and on one line"
    assert "run this" in err, "a hint is ours: its markup is applied"


def test_note_and_cell_keep_brackets(capsys):
    output.note("rejected line 3: metrics[3] [red]x", "yellow")
    assert "rejected line 3: metrics[3] [red]x" in capsys.readouterr().err
    console = Console(width=200, record=True)
    console.print(output.cell("cpu [prod]"), output.cell(None))
    assert console.export_text().strip() == "cpu [prod]"


def test_migrate_of_a_folder_without_a_store_is_a_clear_error(tmp_path):
    from click.testing import CliRunner

    from weir.cli import main

    folder = tmp_path / "data [old]"
    r = CliRunner().invoke(main, ["migrate", "--data-dir", str(folder)])
    assert r.exit_code == 1 and f"no metrics database at {folder}" in r.stderr
