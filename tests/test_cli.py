"""The `weir` command against a real `weir serve` on loopback."""

from __future__ import annotations

import json
import time

from click.testing import CliRunner

from weir.cli import main

NOW = int(time.time()) // 60 * 60 - 4 * 3600


def test_push_jsonl_then_query(server, tmp_path):
    src = tmp_path / "points.jsonl"
    lines = [json.dumps({"name": "cli_j", "value": i, "timestamp": NOW + i, "dimensions": {"h": "a"}})
             for i in range(12_000)]
    lines.insert(5, "")
    lines.append(json.dumps({"name": "cli_j", "value": "bad"}))
    src.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(main, ["push", str(src), "--url", server.url])
    assert result.exit_code == 1, result.output  # one rejected line
    assert "12000 accepted, 1 rejected" in result.output
    assert "line 12002" in result.output
    q = CliRunner().invoke(main, ["query", "cli_j", "--url", server.url, "--start", str(NOW), "--end",
                                  str(NOW + 60), "--period", "1m", "--stat", "count,max", "--json"])
    assert q.exit_code == 0, q.output
    [point] = json.loads(q.output)["groups"][0]["datapoints"]
    assert point["count"] == 60 and point["max"] == 59


def test_push_csv_dimensions_and_table(server, tmp_path):
    src = tmp_path / "points.csv"
    src.write_text("name,value,timestamp,host\n" + "".join(f"cli_c,{i},{NOW + i},h{i % 2}\n" for i in range(10)))
    result = CliRunner().invoke(main, ["push", str(src), "--url", server.url])
    assert result.exit_code == 0, result.output
    assert "10 accepted, 0 rejected" in result.output
    q = CliRunner().invoke(main, ["query", "cli_c", "--url", server.url, "--start", str(NOW), "--end", str(NOW + 60),
                                  "--stat", "count,avg", "--group-by", "host"])
    assert q.exit_code == 0, q.output
    assert "h0" in q.output and "h1" in q.output
    assert "count" in q.output and "5" in q.output


def test_query_errors_are_readable(server):
    q = CliRunner().invoke(main, ["query", "nope_never", "--url", server.url])
    assert q.exit_code == 1
    assert "no series" in q.output


def test_unreachable_server(tmp_path):
    src = tmp_path / "p.jsonl"
    src.write_text('{"name": "x", "value": 1}\n')
    result = CliRunner().invoke(main, ["push", str(src), "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "weir serve" in result.output
