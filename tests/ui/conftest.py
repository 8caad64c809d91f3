"""The web UI in a real browser: Debian's chromium driven by Playwright for Python, against a
`weir serve` the tests seed. Nothing is downloaded: the browser is /usr/bin/chromium (never
`playwright install`), and every request for a host other than 127.0.0.1 is aborted and
recorded, so a test can assert that none was made.

Tests here skip, saying why, when Node.js is absent (the UI cannot be built) or chromium or
the playwright package is missing; CI has all three.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import WeirProcess

CHROMIUM = os.environ.get("WEIR_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium tries to reach Google at start.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-quic", "--disable-sync", "--disable-default-apps", "--disable-extensions"]
T0 = 1_700_002_800  # a whole hour long past (2023-11-14T23:00Z): no test depends on the clock
WAIT_MS = 60_000


@pytest.fixture(scope="session")
def browser(built_ui):
    dist, why = built_ui
    if dist is None:
        pytest.skip(why)
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        _missing(f"no chromium at {CHROMIUM} (Debian package `chromium`; scripts/install_peers.sh installs it)")
    try:
        from playwright import sync_api
    except ImportError:
        _missing("the playwright package (dev extra) is missing")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _missing(why: str):
    """Skip, saying why; under CI a missing browser fails instead, so CI never passes by skipping."""
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    pytest.skip(why)


@dataclass
class Watched:
    """A browser tab with what it logged and what it tried to reach outside the machine."""

    page: object
    shots: Path
    console_errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        return path

    def debug(self, expr: str = ""):
        return self.page.evaluate("window.__weir" + expr)  # type: ignore[attr-defined]

    def wait(self, js: str, timeout: int = WAIT_MS):
        # As a function, not an expression: Playwright evals expressions inside the page, which
        # the UI's Content-Security-Policy (no 'unsafe-eval') forbids, as it should.
        # A page still loading (no window.__weir yet) is "not yet", not an error.
        self.page.wait_for_function(f"() => {{ try {{ return ({js}); }} catch (e) {{ return false; }} }}",
                                    timeout=timeout)  # type: ignore[attr-defined]


@pytest.fixture
def tab(browser, tmp_path):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, service_workers="block")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    page = ctx.new_page()
    w = Watched(page, shots)

    def route(r):
        host = urllib.parse.urlsplit(r.request.url).hostname
        if host == "127.0.0.1":
            r.continue_()
        else:
            w.outside.append(r.request.url)
            r.abort()

    ctx.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and w.console_errors.append(m.text))
    page.on("pageerror", lambda e: w.console_errors.append(f"uncaught: {e}"))
    page.set_default_timeout(WAIT_MS)
    yield w
    ctx.close()


def seed(proc: WeirProcess) -> None:
    """cpu: 5 hosts in 2 regions, one point every 10 s for an hour from T0; a counter; a name with dots."""
    points = []
    for h in range(5):
        for i in range(360):
            points.append({"name": "cpu", "value": round(20 + h * 10 + (i % 60) / 3, 1), "timestamp": T0 + i * 10,
                           "dimensions": {"host": f"h{h}", "region": "eu" if h % 2 else "us"}})
    for i in range(60):
        points.append({"name": "requests_total", "type": "counter", "value": i * 7.0, "timestamp": T0 + i * 60,
                       "dimensions": {"route": "/api"}})
        points.append({"name": "mem.used", "value": 1e9 + i, "timestamp": T0 + i * 60, "unit": "bytes"})
    for k in range(0, len(points), 5000):
        r = proc.http.post("/metrics", {"metrics": points[k:k + 5000]})
        assert r.status == 200 and not r.json()["rejected"], r


@pytest.fixture(scope="module")
def weir(tmp_path_factory):
    data = tmp_path_factory.mktemp("ui") / "data"
    (data / "bucket" / "reports").mkdir(parents=True)
    (data / "bucket" / "reports" / "q1.txt").write_text("first quarter")
    (data / "bucket" / "readme.txt").write_text("hello")
    proc = WeirProcess(data, "--retention", "3650d", "--no-exports")
    proc.start()
    seed(proc)
    yield proc
    proc.stop()
