"""The built UI's files as `weir.ui.static` answers them, over a build folder made here."""

from __future__ import annotations

import gzip
import os

import pytest

from weir.ui.static import IMMUTABLE, REVALIDATE, StaticFiles


@pytest.fixture
def dist(tmp_path):
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>Weir</title>" + "x" * 500)
    (root / "assets" / "app-1a2b.js").write_text("console.log('weir');" * 50)
    (root / "assets" / "tiny.css").write_text("a{}")
    (tmp_path / "secret.txt").write_text("outside the build")
    return root


def test_pages_are_the_index_and_unknown_pages_are_404s(dist):
    files = StaticFiles(dist)
    index = (dist / "index.html").read_bytes()
    for page in ("", "explore", "alerts", "files", "status"):
        a = files.lookup(page)
        assert (a.status, a.body, a.cache_control) == (200, index, REVALIDATE)
        assert a.content_type.startswith("text/html") and gzip.decompress(a.gzipped) == index
    assert files.lookup("nope").status == 404 and files.lookup("nope").body == index


def test_assets_are_immutable_and_gzipped_only_when_smaller(dist):
    files = StaticFiles(dist)
    js = files.lookup("assets/app-1a2b.js")
    assert js.status == 200 and js.cache_control == IMMUTABLE and js.content_type.startswith("text/javascript")
    assert gzip.decompress(js.gzipped) == js.body
    css = files.lookup("assets/tiny.css")
    assert css.status == 200 and css.gzipped is None  # "a{}" does not shrink


@pytest.mark.parametrize("rel", ["../secret.txt", "assets/../../secret.txt", "assets/.hidden", "assets//x.js",
                                 "assets/%2e%2e/secret.txt", "assets/missing.js", "index.html", "a\\b.js"])
def test_nothing_outside_the_build_or_missing_is_served(dist, rel):
    a = StaticFiles(dist).lookup(rel)
    assert a.status == 404 and b"outside" not in a.body


def test_without_a_build_every_page_says_how_to_build_it(tmp_path):
    files = StaticFiles(tmp_path / "none")
    for rel in ("", "explore", "assets/app.js"):
        a = files.lookup(rel)
        assert a.status == 404 and b"make ui" in a.body and a.content_type.startswith("text/html")


def test_a_new_build_replaces_what_was_kept(dist):
    files = StaticFiles(dist)
    assert files.lookup("assets/new-9f.js").status == 404
    (dist / "assets" / "new-9f.js").write_text("new")
    index = dist / "index.html"
    index.write_text("<!doctype html><title>rebuilt</title>")
    st = index.stat()
    os.utime(index, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a rebuild within the same mtime tick
    assert files.lookup("assets/new-9f.js").status == 200
    assert b"rebuilt" in files.lookup("").body
