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


def test_update_changes_the_given_fields_and_keeps_the_others(server):
    assert server.http.post("/metrics", {"name": "cli_upd", "value": 1, "dimensions": {"host": "a"}}).status == 200
    r = run(server, "add", "--name", "cli-upd", "--metric", "cli_upd", "--threshold", "90", "--stat", "max",
            "-m", "3", "-n", "2", "--label", "team=ops", "--renotify", "600")
    assert r.exit_code == 0, r.output
    rule_id = r.stdout.strip().splitlines()[-1]
    r = run(server, "update", rule_id, "--threshold", "95", "--severity", "critical", "--disable")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == rule_id
    shown = json.loads(run(server, "show", rule_id, "--json").stdout)
    assert (shown["threshold"], shown["severity"], shown["enabled"]) == (95, "critical", False)
    assert (shown["name"], shown["statistic"], shown["evaluation_periods"], shown["datapoints_to_alarm"],
            shown["labels"], shown["renotify_seconds"]) == ("cli-upd", "max", 3, 2, {"team": "ops"}, 600)
    r = run(server, "update", rule_id, "--enable", "--no-renotify", "--label", "team=web", "--json")
    assert r.exit_code == 0, r.output
    updated = json.loads(r.stdout)
    assert (updated["enabled"], updated["renotify_seconds"], updated["labels"]) == (True, None, {"team": "web"})
    r = run(server, "update", rule_id)
    assert r.exit_code == 2 and "nothing to change" in r.output
    r = run(server, "update", rule_id, "-n", "4")
    assert r.exit_code == 1 and "must not exceed" in r.stderr
    r = run(server, "update", "r-000000000000", "--threshold", "1")
    assert r.exit_code == 1 and "no alert rule" in r.stderr
    assert run(server, "rm", rule_id).exit_code == 0


def test_brackets_in_names_and_errors_are_printed_as_they_are(server):
    """Rich markup must not eat text in square brackets: rule names, error messages."""
    assert server.http.post("/metrics", {"name": "cli_br", "value": 1}).status == 200
    r = run(server, "add", "--name", "cpu [prod] [red]x[/red]", "--metric", "cli_br", "--threshold", "1")
    assert r.exit_code == 0, r.output
    rule_id = r.stdout.strip().splitlines()[-1]
    shown = run(server, "show", rule_id)
    assert "name: cpu [prod] [red]x[/red]" in shown.stdout
    assert "cpu [prod] [red]x[/red]" in r.stderr
    again = run(server, "add", "--name", "cpu [prod] [red]x[/red]", "--metric", "cli_br", "--threshold", "1")
    assert again.exit_code == 1 and "[prod] [red]x[/red]" in again.stderr
    assert run(server, "rm", rule_id).exit_code == 0
