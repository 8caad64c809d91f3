"""The Pushgateway API over loopback with the real `prometheus_client`, queried back through Weir."""

from __future__ import annotations

import base64
import time

import pytest
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Summary,
    delete_from_gateway,
    push_to_gateway,
    pushadd_to_gateway,
)


def last(api, name, **dims):
    """Latest value of each series of `name` matching dims: {canonical key: value}."""
    r = api.get(f"/metrics/{name}/series", params={f"dim.{k}": v for k, v in dims.items()})
    assert r.status == 200, r
    out = {}
    for s in r.json()["series"]:
        params = {"start": "-10m", "period": "1h", "stat": "max,count"}
        params.update({f"dim.{k}": v for k, v in s["dimensions"].items()})
        groups = api.get(f"/metrics/{name}", params=params).json()["groups"]
        out[s["key"]] = ([p["max"] for g in groups for p in g["datapoints"]][-1], s["type"])
    return out


def group(api, **labels):
    found = [g for g in api.get("/pushgateway/groups").json()["groups"] if g["labels"] == labels]
    return found[0] if found else None


def test_push_to_gateway_all_metric_types(server, api):
    reg = CollectorRegistry()
    Counter("pg_jobs", "jobs done", ["kind"], registry=reg).labels("full").inc(3)
    Gauge("pg_last_success", "unix time", registry=reg).set(1234.5)
    h = Histogram("pg_latency_seconds", "latency", buckets=(0.1, 1.0), registry=reg)
    for v in (0.05, 0.5, 5):
        h.observe(v)
    s = Summary("pg_size_bytes", "sizes", registry=reg)
    s.observe(10)
    s.observe(30)
    push_to_gateway(server.url, job="backup", registry=reg, grouping_key={"instance": "db/1"})

    g = {"job": "backup", "instance": "db/1"}
    assert last(api, "pg_jobs_total", **g) == {
        'pg_jobs_total{instance="db/1",job="backup",kind="full"}': (3.0, "counter")}
    assert list(last(api, "pg_last_success", **g).values()) == [(1234.5, "gauge")]
    buckets = last(api, "pg_latency_seconds_bucket", **g)
    assert {k.split('le="')[1].split('"')[0]: v for k, v in buckets.items()} == {
        "0.1": (1.0, "counter"), "1.0": (2.0, "counter"), "+Inf": (3.0, "counter")}
    assert list(last(api, "pg_latency_seconds_count", **g).values()) == [(3.0, "counter")]
    assert list(last(api, "pg_latency_seconds_sum", **g).values()) == [(5.55, "counter")]
    assert list(last(api, "pg_size_bytes_count", **g).values()) == [(2.0, "counter")]
    assert list(last(api, "pg_size_bytes_sum", **g).values()) == [(40.0, "counter")]
    assert list(last(api, "pg_jobs_created", **g).values())[0][1] == "gauge"
    [(pushed, kind)] = last(api, "push_time_seconds", **g).values()
    assert abs(pushed - time.time()) < 60 and kind == "gauge"
    members = group(api, **g)["metrics"]
    assert set(members) == {"pg_jobs_total", "pg_jobs_created", "pg_last_success", "pg_latency_seconds",
                            "pg_latency_seconds_created", "pg_size_bytes", "pg_size_bytes_created"}
    assert len(members["pg_latency_seconds"]) == 5  # 3 buckets, count, sum
    assert group(api, **g)["method"] == "PUT"


def registry(**gauges):
    reg = CollectorRegistry()
    for name, value in gauges.items():
        Gauge(name, name, registry=reg).set(value)
    return reg


def test_put_replaces_post_adds_delete_forgets(server, api):
    key = {"job": "nightly", "shard": "3"}
    push_to_gateway(server.url, job="nightly", registry=registry(pg_a=1, pg_b=2), grouping_key={"shard": 3})
    assert set(group(api, **key)["metrics"]) == {"pg_a", "pg_b"}

    pushadd_to_gateway(server.url, job="nightly", registry=registry(pg_b=20, pg_c=30), grouping_key={"shard": 3})
    g = group(api, **key)
    assert set(g["metrics"]) == {"pg_a", "pg_b", "pg_c"} and g["method"] == "POST"

    push_to_gateway(server.url, job="nightly", registry=registry(pg_c=300), grouping_key={"shard": 3})
    assert set(group(api, **key)["metrics"]) == {"pg_c"}

    # History is kept: the earlier values of pg_a and pg_b are still stored.
    assert list(last(api, "pg_b", **key).values()) == [(20.0, "gauge")]
    assert list(last(api, "pg_a", **key).values()) == [(1.0, "gauge")]

    delete_from_gateway(server.url, job="nightly", grouping_key={"shard": 3})
    assert group(api, **key) is None
    assert list(last(api, "pg_c", **key).values()) == [(300.0, "gauge")]
    # Deleting a group that does not exist is not an error (a Pushgateway answers 202 too).
    delete_from_gateway(server.url, job="nightly", grouping_key={"shard": 3})


def test_grouping_labels_overwrite_body_labels_and_base64(api):
    path = "/metrics/job@base64/" + base64.urlsafe_b64encode(b"a/b job").decode().rstrip("=") + "/empty@base64/="
    r = api.request("PUT", path, body='pg_over{job="other",empty="",x="1"} 7\n')
    assert r.status == 200, r
    assert list(last(api, "pg_over")) == ['pg_over{job="a/b job",x="1"}']


def test_empty_put_empties_the_group_and_post_keeps_it(server, api):
    push_to_gateway(server.url, job="emptied", registry=registry(pg_e=1))
    assert api.request("POST", "/metrics/job/emptied").status == 200
    assert set(group(api, job="emptied")["metrics"]) == {"pg_e"}
    assert api.request("PUT", "/metrics/job/emptied").status == 200
    assert group(api, job="emptied")["metrics"] == {}


def test_non_finite_samples_are_rejected_one_by_one(server, api):
    reg = registry(pg_fine=1.0, pg_nan=float("nan"))
    push_to_gateway(server.url, job="nan", registry=reg)  # 200: the other samples are stored
    r = api.request("PUT", "/metrics/job/nan", body="pg_fine 2\npg_nan NaN\n")
    out = r.json()
    assert r.status == 200 and out["accepted"] == 1
    assert out["rejected"][0]["error"].startswith("line 2: value nan")
    # The group holds what was stored: a family with no stored series is not a member.
    assert group(api, job="nan")["metrics"] == {"pg_fine": ['pg_fine{job="nan"}']}


def test_malformed_push_is_400_and_records_the_failure(server, api):
    r = api.request("PUT", "/metrics/job/broken", body="pg_ok 1\npg_broken{a=unquoted} 1\n")
    assert r.status == 400
    assert r.json()["message"].startswith("line 2: malformed label set")
    assert group(api, job="broken") is None
    assert list(last(api, "push_failure_time_seconds", job="broken"))
    assert api.get("/metrics/pg_ok").status == 404  # nothing of the broken push was stored
    with pytest.raises(OSError, match="400"):
        push_to_gateway(server.url, job="bad:name", registry=registry(pg_x=1), grouping_key={"9": "x"})


@pytest.mark.parametrize("method, path, body, headers, status, fragment", [
    ("PUT", "/metrics/job/x/odd", "m 1", {}, 400, "label/value pairs"),
    ("PUT", "/metrics/job@base64/!!!", "m 1", {}, 400, "base64"),
    ("PUT", "/metrics/job/x", "m 1", {"Content-Type": "application/vnd.google.protobuf; proto=x"}, 415, "protobuf"),
    ("POST", "/metrics/job/x", "# TYPE m wat\nm 1", {}, 400, "TYPE"),
    ("POST", "/metrics/job/x", "m one", {}, 400, "not a number"),
    ("POST", "/metrics/job/x", "m 1 1.5", {}, 400, "timestamp"),
    ("POST", "/metrics/job/x", "m{a=\"1\",a=\"2\"} 1", {}, 400, "twice"),
])
def test_bad_pushes_are_clear_4xx(api, method, path, body, headers, status, fragment):
    r = api.request(method, path, body=body, headers=headers)
    assert r.status == status, r
    assert fragment in r.json()["message"], r.json()


def test_gzip_push_and_too_many_samples(server, api):
    push_to_gateway(server.url, job="gz", registry=registry(pg_gz=5), compression="gzip")
    assert list(last(api, "pg_gz").values()) == [(5.0, "gauge")]
    body = "\n".join(f'pg_many{{i="{i}"}} 1' for i in range(10_001))
    r = api.request("PUT", "/metrics/job/many", body=body)
    assert r.status == 413


class _Refusing:
    """A real commit failure, injected from outside the server: a trigger that aborts every
    insert into `table` of the SQLite file `db` until the `with` block ends."""

    def __init__(self, db, table: str) -> None:
        self.db, self.table = db, table

    def __enter__(self):
        import sqlite3

        conn = sqlite3.connect(self.db, timeout=30)
        conn.execute(f"CREATE TRIGGER refuse_{self.table} BEFORE INSERT ON {self.table} "
                     "BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
        conn.close()

    def __exit__(self, *exc):
        import sqlite3

        conn = sqlite3.connect(self.db, timeout=30)
        conn.execute(f"DROP TRIGGER refuse_{self.table}")
        conn.close()


def test_a_failed_commit_changes_no_membership_and_the_retry_lands(server, api):
    """The points' commit fails: 503, the group still holds the previous push; the same
    push again (what a client does on 503) lands, points and membership."""
    path = "/metrics/job/commit_fails"
    assert api.request("PUT", path, body="pg_before 1\n").status == 200
    before = group(api, job="commit_fails")
    assert set(before["metrics"]) == {"pg_before"}

    with _Refusing(server.data_dir / "metrics.db", "log"):
        r = api.request("PUT", path, body="pg_after 2\n")
        assert r.status == 503 and r.json()["error"] == "storage_error", r
        assert group(api, job="commit_fails") == before, "membership changed for points that were not stored"
        assert api.get("/metrics/pg_after").status == 404

    r = api.request("PUT", path, body="pg_after 2\n")
    assert r.status == 200 and r.json()["accepted"] == 1, r
    after = group(api, job="commit_fails")
    assert after["metrics"] == {"pg_after": ['pg_after{job="commit_fails"}']}
    assert list(last(api, "pg_after", job="commit_fails").values()) == [(2.0, "gauge")]


def test_a_failed_membership_write_is_answered_and_the_retry_lands(server, api):
    """The points are durable but the membership cannot be written: the client is told
    (503), the points stay, the group is unchanged; the retry records it."""
    path = "/metrics/job/members_fail"
    assert api.request("PUT", path, body="pg_m1 1\n").status == 200
    before = group(api, job="members_fail")

    with _Refusing(server.data_dir / "pushgroups.db", "push_member"):
        r = api.request("PUT", path, body="pg_m2 2\n")
        assert r.status == 503 and r.json()["error"] == "storage_error", r
        assert group(api, job="members_fail") == before
    assert list(last(api, "pg_m2", job="members_fail").values()) == [(2.0, "gauge")]  # nothing lost

    assert api.request("PUT", path, body="pg_m2 3\n").status == 200
    assert set(group(api, job="members_fail")["metrics"]) == {"pg_m2"}
