"""README.md and docs/deploy.md run as written: every `sh` example, in order, against a
`weir serve` this test starts (the conventions are in tests/docs/shell.py).

The examples run in a folder laid out as a clone after `make run`: `examples/` (the sample
files), `data/` (the server's data folder) and `.venv/bin/weir` (this checkout's `weir`).
Only the port differs from a reader's: `localhost:8080` and `127.0.0.1:8080` in a command
become the test server's port, and `WEIR_URL` (which `weir` reads, as the README says)
points the CLI at it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.docs import shell
from tests.helpers import ROOT, WeirProcess
from weir import config

DOCS = ("README.md", "docs/deploy.md")


def _text(doc: str) -> str:
    return (ROOT / doc).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A folder like a clone after `make run`, with a `weir serve` on its data folder."""
    if shutil.which("curl") is None:
        if os.environ.get("CI"):
            pytest.fail("the README's examples need curl, and CI must run them")
        pytest.skip("the README's examples need curl")
    repo = tmp_path_factory.mktemp("clone")
    (repo / "examples").symlink_to(ROOT / "examples")
    bin_dir = repo / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    weir = bin_dir / "weir"
    weir.write_text(f'#!/bin/sh\nexec {sys.executable} -m weir "$@"\n')
    weir.chmod(0o755)
    (bin_dir / "python").symlink_to(sys.executable)
    server = WeirProcess(repo / "data")
    server.start()
    yield repo, server
    server.stop()


def _env(server: WeirProcess) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEIR_")}
    env["PYTHONPATH"] = str(ROOT / "src")
    env[config.ENV_URL] = server.url
    env["COLUMNS"] = "200"  # tables not cut at 80 columns, as in a wide terminal
    return env


def _run(doc: str, clone) -> tuple[int, list[str]]:
    """Run the document's examples; return how many commands ran and the reasons of the
    blocks skipped."""
    repo, server = clone
    scratch = repo / ".outputs" / doc.replace("/", "_")
    scratch.mkdir(parents=True)
    bash = shell.Shell(repo, _env(server), scratch)
    skipped = []
    ran = 0
    try:
        for block in shell.blocks(_text(doc)):
            if block.language == "sh" and not block.runs:
                skipped.append(f"{doc}:{block.line}: {block.skip_reason}")
                continue
            if not block.runs:
                continue
            for command in shell.commands(block):
                command.text = re.sub(r"\b(localhost|127\.0\.0\.1):8080\b", rf"\g<1>:{server.port}", command.text)
                bash.check(command)
                ran += 1
    finally:
        bash.close()
    return ran, skipped


def test_the_readme_runs_in_order(clone, capsys):
    ran, skipped = _run("README.md", clone)
    assert ran >= 50, f"only {ran} README commands ran: are its examples still fenced as ```sh?"
    with capsys.disabled():
        print(f"\nREADME: {ran} commands run; blocks not run:\n  " + "\n  ".join(skipped))


def test_deploy_md_runs_its_local_steps(clone, capsys):
    """The local rehearsal of the smoke test (a key, a write with it, a read, a push) runs;
    the steps that need the Pulumi CLI, AWS or a deployed stack are listed with why."""
    ran, skipped = _run("docs/deploy.md", clone)
    assert ran >= 6, f"only {ran} docs/deploy.md commands ran"
    with capsys.disabled():
        print(f"\ndocs/deploy.md: {ran} commands run; blocks not run:\n  " + "\n  ".join(skipped))


@pytest.mark.parametrize("doc", DOCS)
def test_every_block_names_its_language_and_every_skip_its_reason(doc):
    for block in shell.blocks(_text(doc)):
        assert block.language, f"{doc}:{block.line}: a fence without a language (sh, toml, text ...)"
        assert block.language not in ("bash", "shell", "console", "zsh"), \
            f"{doc}:{block.line}: shell examples are fenced as ```sh (only those run)"
        if block.language == "sh" and not block.runs:
            assert block.skip_reason, f"{doc}:{block.line}: `sh skip:` without a reason"


@pytest.mark.parametrize("doc", DOCS)
def test_examples_use_no_fixed_times_and_one_spelling_of_the_command(doc):
    """Fixed times fall out of the retention and fail later; `weir` is run one way."""
    text = _text(doc)
    assert ".venv/bin/weir" not in text, "after `export PATH=...`, the command is `weir`"
    for block in shell.blocks(text):
        if not block.runs:
            continue
        for command in shell.commands(block):
            code = "\n".join(line.split(" #", 1)[0] for line in command.text.splitlines())
            assert not re.search(r"\b20\d\d-\d\d-\d\dT|\b1[5-9]\d{8}\b", code), (
                f"{doc}:{command.line}: a fixed time; use $(date ...) or a relative time such as -1h")


def test_the_environment_variables_the_readme_names_are_the_ones_weir_reads():
    """One truth: a WEIR_*/METRICS_*/SERIES_*/ALERT_* name in the README is one `weir.config` reads."""
    known = {v for k, v in vars(config).items() if k.startswith("ENV_") and isinstance(v, str)}
    outside = {"WEIR_STACK_OUTPUTS": "tests/e2e/stack.py", "WEIR_PYTHON312": "scripts/lambda_zip.py"}
    for name, reader in outside.items():  # read by the tests or scripts, not by weir
        assert name in (ROOT / reader).read_text(), (name, reader)
    named = set(re.findall(r"\b((?:WEIR|METRICS|SERIES|ALERT)_[A-Z0-9_]+)\b", _text("README.md")))
    assert named - known - set(outside) == set()


def test_the_splitter_reads_commands_as_bash_does():
    text = "\n".join([
        "```sh",
        "a=1   # a comment",
        "curl -s -X POST x -d '{\"a\": [",
        "  1]}'",
        "# → {\"ok\":true}",
        "# → second ... line",
        "cat <<JSON",
        "{\"now\": $a}",
        "JSON",
        "for i in 1 2; do",
        "  echo $i",
        "done",
        "echo one \\",
        "  two",
        "```",
    ])
    [block] = shell.blocks(text)
    cmds = shell.commands(block)
    assert [c.text.splitlines()[0] for c in cmds] == [
        "a=1   # a comment", "curl -s -X POST x -d '{\"a\": [", "cat <<JSON", "for i in 1 2; do", "echo one \\"]
    assert cmds[1].expected == ['{"ok":true}', "second ... line"] and cmds[1].line == 3
    assert shell.matches("second ... line", "first\nsecond and then a line\n")
    assert not shell.matches('{"ok":true}', '{"ok":false}')
    assert not cmds[1].reads_only and shell.Command("curl -s localhost/x", 1).reads_only
    assert shell.Command("weir alerts show r-1", 1).reads_only and not shell.Command("weir alerts rm x", 1).reads_only


def test_the_runner_fails_on_a_failing_example_and_on_output_not_shown(tmp_path):
    bash = shell.Shell(tmp_path, dict(os.environ), tmp_path)
    try:
        bash.check(shell.Command("echo hello", 1, ["hello"]))
        with pytest.raises(AssertionError, match="exit 3"):
            bash.check(shell.Command("(exit 3)", 2))
        with pytest.raises(AssertionError, match="missing output lines"):
            bash.check(shell.Command("echo hello", 3, ["goodbye"]))
        bash.check(shell.Command("x=5", 4))
        bash.check(shell.Command("echo $x", 5, ["5"]))
    finally:
        bash.close()


def test_the_statistics_the_readme_lists_are_the_ones_weir_computes():
    from weir.metrics.aggregate import STATS

    assert f"`weir query --help` lists the statistics (`{','.join(STATS)}`)" in _text("README.md")


def test_make_run_prints_the_path_line_the_readme_pastes():
    """One spelling: the README runs `weir` after `export PATH=...`, the line `make run` prints."""
    readme_line = 'export PATH="$PWD/.venv/bin:$PATH"'
    assert readme_line in _text("README.md")
    printed = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                             env={**os.environ, "MAKEFLAGS": ""})
    assert printed.returncode == 0, printed.stderr
    echoed = [line for line in printed.stdout.splitlines() if line.startswith("echo ") and "PATH" in line]
    [line] = echoed
    shown = subprocess.run(["sh", "-c", line], capture_output=True, text=True, timeout=30).stdout.strip()
    assert shown == readme_line


def test_the_aws_example_installs_what_it_runs():
    """`moto_server` is in moto's `server` extra, not in `weir[aws]`: the example installs both,
    and the dev extra (what `make test` installs) holds them too."""
    import tomllib

    [block] = [b for b in shell.blocks(_text("README.md")) if any("moto_server" in line for line in b.body)]
    install = next(line for line in block.body if line.startswith("pip install"))
    assert '".[aws]"' in install and '"moto[server]"' in install
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    assert any(d.startswith("moto[server]") for d in dev) and any(d.startswith("boto3") for d in dev)
