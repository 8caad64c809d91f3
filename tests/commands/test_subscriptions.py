"""`weir subscriptions add|ls|rm` against a real `weir serve`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from weir.cli import main


def run(server, *args):
    return CliRunner().invoke(main, ["subscriptions", *args, "--url", server.url], terminal_width=200)


def test_add_ls_rm(server):
    r = run(server, "add", "http://127.0.0.1:9000/alerts", "--name", "ops", "--filter",
            '{"severity": ["critical"]}', "--secret", "at-least-16-characters", "--timeout", "3")
    assert r.exit_code == 0, r.output
    sub_id = r.stdout.strip()
    [sub] = [s for s in json.loads(run(server, "ls", "--json").stdout) if s["id"] == sub_id]
    assert (sub["name"], sub["url"], sub["filter_policy"], sub["timeout"], sub["signed"]) == (
        "ops", "http://127.0.0.1:9000/alerts", {"severity": ["critical"]}, 3.0, True)
    r = run(server, "ls")
    assert r.exit_code == 0 and sub_id in r.stdout and '["critical"]' in r.stdout
    assert run(server, "rm", sub_id).exit_code == 0
    assert sub_id not in run(server, "ls", "--json").stdout
    r = run(server, "rm", sub_id)
    assert r.exit_code == 1 and "error:" in r.stderr


def test_bad_input_is_a_clear_error(server):
    r = run(server, "add", "http://169.254.169.254/latest", "--name", "metadata")
    assert r.exit_code == 1 and "169.254.169.254" in r.stderr
    r = run(server, "add", "http://127.0.0.1:9000/x", "--filter", "{nope")
    assert r.exit_code == 2 and "not JSON" in r.output
