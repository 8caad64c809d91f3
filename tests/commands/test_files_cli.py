"""`weir files ls|show|reindex` as a user runs them."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from tests.helpers import WeirProcess
from weir.cli import main


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    data = tmp_path_factory.mktemp("cli") / "data"
    root = data / "bucket"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "a b.txt").write_text("hello")
    (root / "docs" / "ü.md").write_text("x")
    (root / "top.bin").write_bytes(b"\0" * 2048)
    proc = WeirProcess(data)
    proc.start()
    deadline = time.monotonic() + 60  # bounds a failure only
    while len(proc.http.get("/files").json()["files"]) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(proc.http.get("/files").json()["files"]) == 3, "the startup reconcile did not index the folder"
    yield proc
    proc.stop()


def test_ls_prefix_table_and_json(served):
    r = CliRunner().invoke(main, ["files", "ls", "docs/", "--url", served.url])
    assert r.exit_code == 0, r.output
    assert "docs/a b.txt" in r.output and "docs/ü.md" in r.output and "top.bin" not in r.output
    r = CliRunner().invoke(main, ["files", "ls", "--json", "--url", served.url])
    keys = [json.loads(line)["key"] for line in r.output.splitlines() if line.startswith("{")]
    assert keys == ["docs/a b.txt", "docs/ü.md", "top.bin"]


def test_show_prints_the_record(served):
    r = CliRunner().invoke(main, ["files", "show", "docs/a b.txt", "--url", served.url])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.output)
    assert rec["key"] == "docs/a b.txt" and rec["size"] == 5 and rec["content_type"] == "text/plain"


def test_show_unknown_key_is_a_clear_error(served):
    r = CliRunner().invoke(main, ["files", "show", "nope", "--url", served.url])
    assert r.exit_code == 1 and "no file 'nope'" in r.output


def test_reindex_without_a_server(tmp_path):
    root = tmp_path / "data" / "bucket"
    root.mkdir(parents=True)
    for i in range(30):
        (root / f"f{i:02d}.txt").write_text("x" * i)
    args = ["files", "reindex", "--data-dir", str(tmp_path / "data")]

    def run(*extra):
        r = CliRunner().invoke(main, [*args, *extra])
        assert r.exit_code == 0, r.output
        return " ".join(r.output.split())  # rich wraps lines

    out = run()
    assert "30/30" in out and "30 files" in out and "30 indexed, 0 removed" in out
    (root / "f00.txt").unlink()
    assert "0 indexed, 1 removed, 29 unchanged" in run()
    assert "29 indexed" in run("--full")
