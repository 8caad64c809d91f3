"""The local folder as an object source, and reconciling it with the catalog."""

from __future__ import annotations

import base64
import hashlib
import os

import pytest

from weir.backends.folder.bucket import LocalFolder
from weir.backends.sqlite.files import SqliteFileCatalog
from weir.files.service import FileIndexer
from weir.files.sync import FolderSync, LocalSequencer


def test_head_is_s3_shaped(tmp_path):
    (tmp_path / "d").mkdir()
    f = tmp_path / "d" / "a b+é.json"
    f.write_bytes(b'{"x": 1}')
    try:
        os.setxattr(f, "user.owner", b"ana")
        xattrs = {"owner": "ana"}
    except OSError:
        xattrs = {}
    h = LocalFolder(tmp_path).head("bucket", "d/a b+é.json")
    assert h.size == 8 and h.etag == hashlib.md5(b'{"x": 1}').hexdigest()
    assert h.checksum == {"SHA256": base64.b64encode(hashlib.sha256(b'{"x": 1}').digest()).decode()}
    assert h.content_type == "application/json" and h.storage_class == "STANDARD"
    assert h.last_modified.endswith("Z") and h.user_metadata == xattrs


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a/../../x", "a//b", "", "d"])
def test_keys_outside_the_root_or_not_files_have_no_head(tmp_path, key):
    (tmp_path / "d").mkdir()
    assert (
        LocalFolder(tmp_path / "d").head("b", key) is None
        if key != "d"
        else LocalFolder(tmp_path).head("b", key) is None
    )


@pytest.fixture
def sync(tmp_path):
    root = tmp_path / "bucket"
    root.mkdir()
    catalog = SqliteFileCatalog(tmp_path / "files.db")
    ix = FileIndexer(catalog, LocalFolder(root), region="local")
    s = FolderSync(ix, LocalFolder(root), bucket="bucket", sequencer=LocalSequencer(), batch=3)
    yield s, root, catalog
    catalog.close()


def test_reconcile_indexes_only_what_changed(sync):
    s, root, catalog = sync
    for i in range(7):
        (root / f"f{i}.txt").write_text(str(i))
    (root / "sub").mkdir()
    (root / "sub" / "x.bin").write_bytes(b"x")
    steps = []
    r = s.reconcile(progress=lambda done, total: steps.append((done, total)))
    assert (r.scanned, r.indexed, r.removed, r.unchanged) == (8, 8, 0, 0)
    assert steps[0] == (0, 8) and steps[-1] == (8, 8)
    r = s.reconcile()
    assert (r.indexed, r.removed, r.unchanged) == (0, 0, 8)
    (root / "f1.txt").write_text("changed, longer")
    (root / "f2.txt").unlink()
    r = s.reconcile()
    assert (r.indexed, r.removed, r.unchanged) == (1, 1, 6)
    assert catalog.get("bucket", "f1.txt").size == 15 and catalog.get("bucket", "f2.txt").deleted
    assert s.reconcile(full=True).indexed == 7


def test_changed_paths_follow_the_folder_state(sync):
    s, root, catalog = sync
    (root / "dir" / "deep").mkdir(parents=True)
    for name in ("dir/a", "dir/deep/b", "other"):
        (root / name).write_text(name)
    s.changed(["dir", "other"])  # a folder moved in: everything below it
    assert all(not catalog.get("bucket", k).deleted for k in ("dir/a", "dir/deep/b", "other"))
    for name in ("dir/a", "dir/deep/b"):
        (root / name).unlink()
    (root / "dir" / "deep").rmdir()
    (root / "dir").rmdir()
    report = s.changed(["dir"])  # the folder went away at once
    assert report.stored == 2
    assert catalog.get("bucket", "dir/a").deleted and catalog.get("bucket", "dir/deep/b").deleted
    assert not catalog.get("bucket", "other").deleted


def test_local_sequencer_never_goes_back():
    seq = LocalSequencer(start_after=f"{10**20:X}", clock_ns=lambda: 5)
    a, b = seq.next(), seq.next()
    assert int(a, 16) == 10**20 + 1 and int(b, 16) == 10**20 + 2
