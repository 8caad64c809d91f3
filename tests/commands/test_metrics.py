"""`weir metrics ls` and `weir series` against a real `weir serve`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from weir.cli import main


def run(server, *args):
    return CliRunner().invoke(main, [*args, "--url", server.url], terminal_width=200)


def test_metrics_ls_and_series_with_a_filter(server):
    points = [{"name": "ls_cpu", "value": 1, "dimensions": {"host": h, "region": "eu"}} for h in ("a", "b")]
    points.append({"name": "ls_mem", "value": 2, "unit": "By", "type": "gauge"})
    assert server.http.post("/metrics", {"metrics": points}).status == 200
    r = run(server, "metrics", "ls", "--json")
    assert r.exit_code == 0, r.output
    listed = {m["name"]: m["series"] for m in json.loads(r.stdout)["metrics"]}
    assert listed["ls_cpu"] == 2 and listed["ls_mem"] == 1
    r = run(server, "metrics", "ls")
    assert r.exit_code == 0 and "ls_cpu" in r.stdout and "ls_mem" in r.stdout
    r = run(server, "series", "ls_cpu", "--dim", "host=b")
    assert r.exit_code == 0, r.output
    assert 'ls_cpu{host="b",region="eu"}' in r.stdout and 'host="a"' not in r.stdout
    assert "1 series" in r.stderr
    r = run(server, "series", "ls_mem", "--json")
    [s] = json.loads(r.stdout)["series"]
    assert (s["unit"], s["type"]) == ("By", "gauge")


def test_series_of_an_unknown_metric_and_a_bad_filter(server):
    r = run(server, "series", "ls_never_sent")
    assert r.exit_code == 1 and "error:" in r.stderr
    r = run(server, "series", "ls_cpu", "--dim", "host")
    assert r.exit_code == 2 and "key=value" in r.output
