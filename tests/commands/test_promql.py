"""`weir query` with PromQL, against a real `weir serve`; and the rule that tells the two forms apart."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from weir.cli import main
from weir.commands.promql import is_promql, table_rows

BASE = (int(time.time()) // 3600 - 2) * 3600  # whole hours in the past


@pytest.mark.parametrize("arg, options, promql", [
    ("cpu", {}, False),
    ("http.server.duration", {}, False),
    ("a-b", {}, False),
    ("job:rate5m", {}, False),
    ("cpu", {"step": "1m"}, True),
    ("cpu", {"instant": True}, True),
    ("cpu", {"at": "now"}, True),
    ('cpu{host="a"}', {}, True),
    ("rate(x_total[5m])", {}, True),
    ("a - b", {}, True),
    ("1+1", {}, True),
    ("sum by (host) (cpu)", {}, True),
    ("x" * 300, {}, True),  # longer than a Weir name can be
])
def test_which_form_runs(arg, options, promql):
    kw = {"step": None, "instant": False, "at": None, **options}
    assert is_promql(arg, **kw) is promql


def test_table_rows_of_each_result_type():
    assert table_rows({"resultType": "scalar", "result": [1700000000.5, "2"]}) == [
        ("(scalar)", "2023-11-14T22:13:20.5Z", "2")]
    vector = {"resultType": "vector", "result": [{"metric": {"__name__": "up", "job": "a"}, "value": [1700000000, "1"]},
                                                 {"metric": {}, "value": [1700000000, "3"]}]}
    assert table_rows(vector) == [('up{job="a"}', "2023-11-14T22:13:20Z", "1"), ("{}", "2023-11-14T22:13:20Z", "3")]
    pushed = {"resultType": "vector", "result": [
        {"metric": {"__name__": "push_time_seconds", "job": "b"}, "value": [1700000000, "1700000000.25"]},
        {"metric": {"__name__": "push_time_seconds", "job": "c"}, "value": [1700000000, "12.5"]},
        {"metric": {"job": "b"}, "value": [1700000000, "1700000000.25"]}]}  # time() - x: no name, a number
    assert [r[2] for r in table_rows(pushed)] == ["2023-11-14T22:13:20Z", "12.5", "1700000000.25"]
    matrix = {"resultType": "matrix", "result": [{"metric": {"host": "h"}, "values": [[1, "1"], [2, "2"]]}]}
    assert table_rows(matrix) == [('{host="h"}', "1970-01-01T00:00:01Z", "1"),
                                  ('{host="h"}', "1970-01-01T00:00:02Z", "2")]


@pytest.fixture(scope="module")
def loaded(server):
    pts = [{"name": "cli_req_total", "type": "counter", "value": 6 * j * (h + 1), "timestamp": BASE + 60 * j,
            "dimensions": {"host": f"h{h}"}} for j in range(31) for h in range(2)]
    assert server.http.post("/metrics", {"metrics": pts}).json()["accepted"] == len(pts)
    return server


def run(*args: str):
    return CliRunner().invoke(main, ["query", *args])


def test_a_range_query_as_json_and_as_a_table(loaded):
    args = ["sum by (host) (rate(cli_req_total[5m]))", "--url", loaded.url, "--start", str(BASE + 600),
            "--end", str(BASE + 1200), "--step", "5m"]
    q = run(*args, "--json")
    assert q.exit_code == 0, q.output
    data = json.loads(q.stdout)
    assert data["resultType"] == "matrix"
    got = {s["metric"]["host"]: s["values"] for s in data["result"]}
    # h grows by 6 (h+1) a minute: a rate of (h+1)/10 per second at every step
    for h in (0, 1):
        assert [t for t, _ in got[f"h{h}"]] == [BASE + 600, BASE + 900, BASE + 1200]
        assert [float(v) for _, v in got[f"h{h}"]] == pytest.approx([(h + 1) / 10] * 3)
    table = run(*args)
    assert table.exit_code == 0, table.output
    assert '{host="h0"}' in table.stdout and "0.1" in table.stdout and "0.2" in table.stdout


def test_an_instant_query(loaded):
    q = run("cli_req_total", "--instant", "--time", str(BASE + 1800), "--url", loaded.url, "--json")
    assert q.exit_code == 0, q.output
    data = json.loads(q.stdout)
    assert sorted((s["metric"]["host"], s["value"]) for s in data["result"]) == [
        ("h0", [BASE + 1800, "180"]), ("h1", [BASE + 1800, "360"])]


def test_the_statistics_form_still_runs(loaded):
    q = run("cli_req_total", "--url", loaded.url, "--start", str(BASE), "--end", str(BASE + 600), "--period", "5m",
            "--stat", "max", "--json")
    assert q.exit_code == 0, q.output
    body = json.loads(q.stdout)
    assert body["stats"] == ["max"] and body["period"] == 300


def test_errors_are_readable(loaded):
    q = run("sum(rate(cli_req_total[5m])", "--url", loaded.url)
    assert q.exit_code == 1 and "bad_data" in q.output and "parse error" in q.output
    q = run("rate(x[5m])", "--period", "1m", "--url", loaded.url)
    assert q.exit_code != 0 and "--period" in q.output and "statistics form" in q.output
    q = run("cpu", "--instant", "--start", "-1h", "--url", loaded.url)
    assert q.exit_code != 0 and "--instant" in q.output
    q = run("cpu", "--step", "1m", "--start", "yesterday", "--url", loaded.url)
    assert q.exit_code != 0 and "not a time" in q.output


@pytest.mark.parametrize("expr", [
    "-" * 10_000 + "1",  # short enough for a GET
    "-(" * 10_000 + "1" + ")" * 10_000,  # POSTed: too long for a URL
    " and ".join(["cli_req_total"] * 5_000),
])
def test_an_expression_too_deep_to_parse_is_a_readable_error_and_the_server_lives(loaded, expr):
    q = run("--instant", "--url", loaded.url, "--", expr)  # `--`: an expression may start with `-`
    assert q.exit_code == 1, q.output
    assert "bad_data" in q.output and "more than 250 operators" in q.output, q.output
    assert loaded.proc.poll() is None and loaded.http.get("/health").status == 200


def test_a_long_expression_is_posted_and_answered(loaded):
    """Past 16 KiB of query string the CLI POSTs the form (the server stops URLs at 32 KiB)."""
    expr = " + ".join([f'cli_req_total{{host="h0", host!="{"z" * 400}"}}'] * 60)
    q = run(expr, "--instant", "--time", str(BASE + 1800), "--url", loaded.url, "--json")
    assert q.exit_code == 0, q.output
    [series] = json.loads(q.stdout)["result"]
    assert series["value"] == [BASE + 1800, str(60 * 180)]
