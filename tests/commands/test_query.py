"""`weir query`: its help names the statistics and time forms; Unix-time metrics print as times."""

from __future__ import annotations

import json
import time

from click.testing import CliRunner

from weir.cli import main
from weir.commands.output import number
from weir.metrics.aggregate import STATS

T0 = int(time.time()) // 3600 * 3600 - 2 * 3600


def test_help_lists_the_statistics_and_the_time_forms():
    out = CliRunner().invoke(main, ["query", "--help"], terminal_width=200).output
    assert ",".join(STATS) in out
    for form in ("now", "-1h", "RFC 3339", "epoch seconds", "30s, 5m, 1h"):
        assert form in out, form


def test_unix_time_metrics_print_as_utc_times_and_durations_stay_numbers(server):
    points = [
        {"name": "backup_last_success_time_seconds", "value": 1_790_000_000, "timestamp": T0},
        {"name": "backup_last_success_time_seconds", "value": 1_790_000_100, "timestamp": T0 + 1},
        {"name": "response_time_seconds", "value": 0.25, "timestamp": T0},
    ]
    assert server.http.post("/metrics", {"metrics": points}).status == 200

    def query(name, stat):
        r = CliRunner().invoke(main, ["query", name, "--url", server.url, "--start", str(T0), "--end",
                                      str(T0 + 60), "--stat", stat], terminal_width=200)
        assert r.exit_code == 0, r.output
        return r.stdout

    shown = query("backup_last_success_time_seconds", "max,count")
    assert "2026-09-21T14:15:00Z" in shown  # 1_790_000_100
    assert "1.79" not in shown
    assert "0.25" in query("response_time_seconds", "max")
    raw = CliRunner().invoke(main, ["query", "backup_last_success_time_seconds", "--url", server.url, "--start",
                                    str(T0), "--end", str(T0 + 60), "--stat", "max", "--json"])
    assert json.loads(raw.stdout)["groups"][0]["datapoints"][0]["max"] == 1_790_000_100


def test_the_time_rule():
    assert number(1_790_000_000.0, metric="push_time_seconds", stat="avg") == "2026-09-21T14:13:20Z"
    assert number(1_790_000_000, metric="x_timestamp_seconds", stat="last") == "2026-09-21T14:13:20Z"
    assert number(1_790_000_000.0, metric="push_time_seconds", stat="sum") == "1.79e+09"
    assert number(3, metric="push_time_seconds", stat="count") == "3"
    assert number(120.5, metric="request_time_seconds", stat="max") == "120.5"  # a duration
    assert number(1_790_000_000.0, metric="cpu", stat="max") == "1.79e+09"
    assert number(None) == ""

