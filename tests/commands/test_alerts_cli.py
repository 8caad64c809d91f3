"""`weir alerts` against a real `weir serve`."""

from __future__ import annotations

import json
import time

from click.testing import CliRunner

from weir.cli import main


def run(server, *args):
    result = CliRunner().invoke(main, ["alerts", *args, "--url", server.url])
    return result


def test_add_ls_show_history_rm(server):
    assert server.http.post("/metrics", {"name": "cli_cpu", "value": 99, "timestamp": time.time(),
                                         "dimensions": {"host": "a"}}).status == 200
    r = run(server, "add", "--name", "cli-high", "--metric", "cli_cpu", "--threshold", "90", "--stat", "max",
            "--severity", "critical", "--dim", "host=a", "--label", "team=ops", "-m", "3", "-n", "1")
    assert r.exit_code == 0, r.output
    rule_id = r.stdout.strip().splitlines()[-1]
    assert rule_id.startswith("r-")
    deadline = time.monotonic() + 60  # bounds a failure only
    while time.monotonic() < deadline:
        shown = json.loads(run(server, "show", rule_id, "--json").stdout)
        if shown["states"][0]["state"] == "ALARM":
            break
        time.sleep(0.1)
    assert shown["states"][0]["state"] == "ALARM", shown
    assert shown["labels"] == {"team": "ops"} and shown["datapoints_to_alarm"] == 1
    r = run(server, "ls")
    assert r.exit_code == 0 and "cli-high" in r.stdout and "ALARM" in r.stdout
    r = run(server, "history", rule_id, "--json")
    [item] = json.loads(r.stdout)
    assert item["event"]["state"] == "ALARM" and item["event"]["previous_state"] == "INSUFFICIENT_DATA"
    r = run(server, "show", rule_id)
    assert r.exit_code == 0 and "Threshold crossed" in r.stdout
    assert run(server, "rm", rule_id).exit_code == 0
    r = run(server, "show", rule_id)
    assert r.exit_code == 1 and "no alert rule" in r.stderr


def test_add_reports_bad_input(server):
    r = run(server, "add", "--name", "x", "--metric", "cli_missing_metric", "--threshold", "1")
    assert r.exit_code == 1 and "has no series" in r.stderr
    r = run(server, "add", "--name", "x", "--metric", "cli_cpu", "--threshold", "1", "-m", "2", "-n", "3")
    assert r.exit_code == 1 and "must not exceed" in r.stderr
    r = run(server, "add", "--name", "x", "--metric", "cli_cpu", "--threshold", "1", "--dim", "novalue")
    assert r.exit_code == 2 and "key=value" in r.output
