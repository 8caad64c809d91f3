"""The ObjectStore contract, run against every backend: a local folder and S3 (moto server)."""

from __future__ import annotations

import pytest

from weir.backends.aws.objects import S3ObjectStore
from weir.backends.folder.objects import FolderObjectStore
from weir.errors import NotFoundError


@pytest.fixture(params=["folder", "s3"])
def objects(request, tmp_path):
    if request.param == "folder":
        return FolderObjectStore(tmp_path / "exports")
    client, bucket = request.getfixturevalue("s3_bucket")
    return S3ObjectStore(client, bucket, "base")


def put(objects, key, data):
    objects.put(key, data, content_type="application/octet-stream")


def test_put_then_get_returns_the_same_bytes(objects):
    data = bytes(range(256)) * 10
    put(objects, "a/b/c.bin", data)
    assert objects.get("a/b/c.bin") == data


def test_put_replaces_an_existing_key(objects):
    put(objects, "k/x", b"first version")
    put(objects, "k/x", b"second")
    assert objects.get("k/x") == b"second"
    assert objects.list("k/") == ["k/x"]


def test_get_of_a_missing_key_is_not_found(objects):
    with pytest.raises(NotFoundError):
        objects.get("nothing/here")


def test_list_returns_keys_under_the_prefix_sorted(objects):
    for key in ["m/dt=1/hour=02/b", "m/dt=1/hour=02/a", "m/dt=1/hour=03/a", "m/dt=10/hour=02/a", "other"]:
        put(objects, key, b"x")
    assert objects.list("m/dt=1/hour=02/") == ["m/dt=1/hour=02/a", "m/dt=1/hour=02/b"]
    # a prefix that ends inside a name matches like S3's
    assert objects.list("m/dt=1") == ["m/dt=1/hour=02/a", "m/dt=1/hour=02/b", "m/dt=1/hour=03/a", "m/dt=10/hour=02/a"]
    assert objects.list("none/") == []


def test_delete_removes_keys_and_ignores_missing_ones(objects):
    put(objects, "d/1", b"1")
    put(objects, "d/2", b"2")
    objects.delete(["d/1", "d/missing"])
    assert objects.list("d/") == ["d/2"]
    objects.delete([])
    assert objects.list("d/") == ["d/2"]


def test_empty_object_round_trips(objects):
    put(objects, "e/empty", b"")
    assert objects.get("e/empty") == b""
