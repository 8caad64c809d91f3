"""The file routes over a real `weir serve` on loopback, watching its bucket folder."""

from __future__ import annotations

import time
import urllib.parse

import pytest

from tests.helpers import WeirProcess

KEYS = ["a b+c.txt", "photos/été/café ☕.jpg", "100% done?.txt", "deep/x/y/z.bin"]


def wait_for(check, timeout=60.0):  # bounds a failure only: a pass returns at once
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def path_of(key: str) -> str:
    return "/files/" + urllib.parse.quote(key, safe="/")


@pytest.fixture(scope="module")
def files_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("files") / "data"
    root = data / "bucket"
    for k in KEYS:
        (root / k).parent.mkdir(parents=True, exist_ok=True)
        (root / k).write_text(k)
    proc = WeirProcess(data)
    proc.start()
    yield proc, root
    proc.stop()


def listed(api, **params):
    r = api.get("/files", params=params)
    assert r.status == 200, r
    return [f["key"] for f in r.json()["files"]]


def test_startup_reconcile_indexes_existing_files(files_server):
    proc, root = files_server
    assert wait_for(lambda: len(listed(proc.http)) == len(KEYS))
    assert listed(proc.http) == sorted(KEYS, key=str.encode)
    assert listed(proc.http, prefix="photos/") == ["photos/été/café ☕.jpg"]


@pytest.mark.parametrize("key", KEYS)
def test_get_one_key_with_awkward_characters(files_server, key):
    proc, _ = files_server
    r = wait_for(lambda: (x := proc.http.get(path_of(key))).status == 200 and x)
    assert r, proc.http.get(path_of(key))
    rec = r.json()
    assert rec["key"] == key and rec["size"] == len(key.encode()) and rec["bucket"] == "bucket"
    assert rec["state"] == "created" and rec["storage_class"] == "STANDARD" and rec["region"] == "local"


def test_watcher_indexes_creates_changes_and_deletes(files_server):
    proc, root = files_server
    (root / "new dir").mkdir()
    (root / "new dir" / "n.txt").write_text("hello")
    assert wait_for(lambda: proc.http.get(path_of("new dir/n.txt")).status == 200)
    first = proc.http.get(path_of("new dir/n.txt")).json()
    (root / "new dir" / "n.txt").write_text("hello, again")
    assert wait_for(lambda: proc.http.get(path_of("new dir/n.txt")).json().get("size") == 12)
    second = proc.http.get(path_of("new dir/n.txt")).json()
    assert second["sequencer"] > first["sequencer"] and second["etag"] != first["etag"]
    (root / "new dir" / "n.txt").unlink()
    assert wait_for(lambda: proc.http.get(path_of("new dir/n.txt")).status == 404)
    r = proc.http.get(path_of("new dir/n.txt"))
    assert r.json()["error"] == "not_found" and "deleted at" in r.json()["message"]
    tomb = proc.http.get(path_of("new dir/n.txt"), params={"include_deleted": "true"}).json()
    assert tomb["state"] == "deleted" and tomb["deleted_at"] and tomb["event_name"] == "ObjectRemoved:Delete"
    assert "new dir/n.txt" in listed(proc.http, include_deleted="true")
    assert "new dir/n.txt" not in listed(proc.http)


def test_pagination_with_cursor(files_server):
    proc, _ = files_server
    wait_for(lambda: len(listed(proc.http)) >= len(KEYS))
    keys, params = [], {"limit": "1"}
    for _ in range(20):
        body = proc.http.get("/files", params=params).json()
        keys += [f["key"] for f in body["files"]]
        if not body["next_cursor"]:
            break
        params["cursor"] = body["next_cursor"]
    assert keys == listed(proc.http)


@pytest.mark.parametrize("params, status, fragment", [
    ({"limit": "5000"}, 400, "between 1 and 1000"),
    ({"cursor": "!!"}, 400, "cursor"),
    ({"include_deleted": "perhaps"}, 400, "true or false"),
    ({"sort": "size"}, 400, "unknown query parameter"),
])
def test_bad_list_parameters_are_400_json(files_server, params, status, fragment):
    proc, _ = files_server
    r = proc.http.get("/files", params=params)
    assert r.status == status and r.json()["error"] == "invalid_input" and fragment in r.json()["message"]


def test_unknown_key_is_404_json(files_server):
    proc, _ = files_server
    r = proc.http.get("/files/never/was")
    assert r.status == 404 and r.json()["error"] == "not_found" and "never/was" in r.json()["message"]


def test_openapi_documents_the_file_routes(files_server):
    proc, _ = files_server
    doc = proc.http.get("/openapi.json").json()
    assert {"/files", "/files/{key}"} <= set(doc["paths"])
    assert {"FileRecord", "FileList"} <= set(doc["components"]["schemas"])


def test_restart_reconciles_what_changed_while_stopped(tmp_path):
    data = tmp_path / "data"
    root = data / "bucket"
    root.mkdir(parents=True)
    (root / "keep.txt").write_text("1")
    (root / "change.txt").write_text("1")
    (root / "drop.txt").write_text("1")
    proc = WeirProcess(data)
    proc.start()
    try:
        assert wait_for(lambda: len(listed(proc.http)) == 3)
    finally:
        proc.stop()
    (root / "change.txt").write_text("22")
    (root / "drop.txt").unlink()
    (root / "added.txt").write_text("333")
    proc = WeirProcess(data)
    proc.start()
    try:
        assert wait_for(lambda: listed(proc.http) == ["added.txt", "change.txt", "keep.txt"])
        assert proc.http.get("/files/change.txt").json()["size"] == 2
        assert proc.http.get("/files/drop.txt", params={"include_deleted": "true"}).json()["state"] == "deleted"
    finally:
        proc.stop()
