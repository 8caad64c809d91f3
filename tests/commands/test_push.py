"""`weir push` against a real `weir serve`: what a bad line leaves stored and how to resume,
CSV by content as well as by name, and a later write of a point replacing the earlier one."""

from __future__ import annotations

import json
import time

from click.testing import CliRunner

from weir.cli import main

T0 = int(time.time()) // 3600 * 3600 - 5 * 3600  # a fixed past hour, well inside the retention


def push(server, *args, **kw):
    return CliRunner().invoke(main, ["push", *args, "--url", server.url], **kw)


def count(server, name: str) -> int:
    r = server.http.get(f"/metrics/{name}", params={"start": str(T0 - 3600), "end": str(T0 + 7200),
                                                     "period": "3h", "stat": "count"})
    assert r.status == 200, r
    return sum(p["count"] for g in r.json()["groups"] for p in g["datapoints"])


def test_a_bad_line_stops_the_push_after_sending_all_before_it_and_says_how_to_resume(server, tmp_path):
    src = tmp_path / "points.jsonl"
    lines = [json.dumps({"name": "push_resume", "value": i, "timestamp": T0 * 1000 + i}) for i in range(15_000)]  # ms
    lines[12_000] = '{"name": "push_resume", "value": 1'  # line 12001: cut short
    src.write_text("\n".join(lines) + "\n")
    r = push(server, str(src))
    assert r.exit_code == 1, r.output
    assert "line 12001: not JSON" in r.stderr
    assert "12000 accepted" in r.stderr
    assert "lines up to 12000 were sent (12000 points accepted), nothing after line 12000 was" in r.stderr
    assert f"`weir push {src} --skip 12000`" in r.stderr and "`--skip 12001`" in r.stderr
    assert count(server, "push_resume") == 12_000
    r = push(server, str(src), "--skip", "12001")
    assert r.exit_code == 0, r.output
    assert "2999 accepted, 0 rejected" in r.stderr
    assert count(server, "push_resume") == 14_999


def test_csv_is_read_by_its_header_from_stdin_and_by_format(server):
    body = "name,value,timestamp,host\n" + "".join(f"push_csv,{i},{T0 + i},h{i % 2}\n" for i in range(10))
    r = push(server, "-", input=body)
    assert r.exit_code == 0, r.output
    assert "10 accepted, 0 rejected" in r.stderr
    r = push(server, "-", "--format", "csv", input=body.replace("push_csv", "push_csv2"))
    assert r.exit_code == 0, r.output
    assert count(server, "push_csv") == 10 and count(server, "push_csv2") == 10


def test_a_line_that_is_not_json_suggests_csv(server, tmp_path):
    src = tmp_path / "points.txt"
    src.write_text("metric;value\npush_semi;1\n")
    r = push(server, str(src))
    assert r.exit_code == 1
    assert "line 1: not JSON" in r.stderr and "--format csv" in r.stderr and "nothing was sent" in r.stderr


def test_csv_with_skip_keeps_reading_the_header(server, tmp_path):
    src = tmp_path / "p.csv"
    src.write_text("name,value,timestamp\n" + "".join(f"push_skip,{i},{T0 + i}\n" for i in range(5)))
    r = push(server, str(src), "--skip", "3")  # lines 2 and 3 are left out
    assert r.exit_code == 0, r.output
    assert "3 accepted" in r.stderr and count(server, "push_skip") == 3


def test_the_same_series_and_timestamp_twice_keeps_the_later_value(server, tmp_path):
    """As README's "Limits and errors" says: a point sent again replaces the earlier one."""
    src = tmp_path / "twice.jsonl"
    src.write_text("".join(json.dumps({"name": "push_twice", "value": v, "timestamp": T0 + i % 5,
                                       "dimensions": {"host": "a"}}) + "\n" for i, v in enumerate(range(10))))
    r = push(server, str(src))
    assert r.exit_code == 0 and "10 accepted" in r.stderr, r.output
    r = server.http.get("/metrics/push_twice", params={"start": str(T0), "end": str(T0 + 60), "period": "1m",
                                                       "stat": "count,min,max"})
    [point] = r.json()["groups"][0]["datapoints"]
    assert (point["count"], point["min"], point["max"]) == (5, 5, 9)


def test_csv_without_a_header_is_refused_not_read_as_one(server):
    """A CSV whose first line is a point would be its header: nothing would be sent, silently."""
    r = push(server, "-", "--format", "csv", input="push_nohead,1\npush_nohead,2\n")
    assert r.exit_code == 1, r.output
    assert "line 1: a CSV file starts with a header naming its columns, at least name and value" in r.stderr
    assert "found push_nohead,1" in r.stderr
    assert server.http.get("/metrics/push_nohead/series").status == 404  # nothing of it stored
