"""The built UI's files, answered from memory: content type, caching and gzip decided here.

The build (`make ui`) writes `dist/`: `index.html` and content-hashed files under
`assets/`. Every page of the UI (`/ui/`, `/ui/explore`, ...) is `index.html`, which routes
in the browser; hashed files never change, so browsers keep them a year, while
`index.html` is revalidated each time so a rebuild shows at once. Files are read and
gzipped once per process (the whole build is well under a megabyte), which keeps a
Lambda's warm requests and `weir serve` from compressing the same bytes again.

Only names the build writes can be asked for: a path segment of letters, digits, `.`,
`_` and `-` not starting with a dot, so no request reaches outside `dist/`.
"""

from __future__ import annotations

import gzip
import re
import threading
from dataclasses import dataclass
from pathlib import Path

DIST = Path(__file__).resolve().parent / "dist"
INDEX = "index.html"
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}\Z")
# Pages the browser router knows; any other extension-less name is a 404 page too, so
# mistyped links show the UI's own "no such page" rather than a JSON error.
PAGES = ("", "explore", "alerts", "files", "status")
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
    ".map": "application/json",
}
_COMPRESSIBLE = (".html", ".js", ".css", ".svg", ".json", ".txt", ".map")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Weir: the web UI is not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}
code,pre{background:#8882;padding:.1rem .3rem;border-radius:4px}</style></head>
<body><h1>The web UI is not built</h1>
<p>This Weir serves its API, but the files of its web UI are missing from
<code>src/weir/ui/dist/</code>. Build them once with Node.js 20 or newer:</p>
<pre>make ui</pre>
<p>(or <code>cd src/weir/ui/web &amp;&amp; npm ci &amp;&amp; npm run build</code>), then reload this page.
<code>make run</code> builds it by itself when Node.js is installed.</p>
<p>The API answers meanwhile: <a href="../openapi.json">openapi.json</a> lists its routes.</p>
</body></html>
"""


@dataclass(frozen=True)
class Asset:
    status: int
    content_type: str
    body: bytes
    cache_control: str
    gzipped: bytes | None = None  # the same body gzipped, when that is smaller


class StaticFiles:
    """The files of one build folder, loaded lazily and kept."""

    def __init__(self, root: Path = DIST) -> None:
        self.root = root
        self._cache: dict[str, Asset | None] = {}
        self._lock = threading.Lock()
        self._stamp: float | None = None

    def built(self) -> bool:
        """Whether a build is there; a new build (index.html rewritten) empties the cache,
        so `make ui` beside a running `weir serve` shows on the next reload."""
        try:
            stamp = (self.root / INDEX).stat().st_mtime
        except OSError:
            return False
        if stamp != self._stamp:
            with self._lock:
                self._cache.clear()
                self._stamp = stamp
        return True

    def lookup(self, rel: str) -> Asset:
        """The answer for `/ui/<rel>`: a file of the build, the UI's page, or a 404."""
        if not self.built():
            return Asset(404, TYPES[".html"], NOT_BUILT.encode(), REVALIDATE)
        segments = rel.split("/") if rel else []
        if len(segments) <= 1 and (not segments or "." not in segments[0]):
            # A page of the UI (or an unknown one, which the UI itself reports).
            page = self._load(INDEX)
            if page is None:  # removed since built() looked: a rebuild under way
                return Asset(404, TYPES[".html"], NOT_BUILT.encode(), REVALIDATE)
            status = 200 if (segments[0] if segments else "") in PAGES else 404
            return Asset(status, page.content_type, page.body, REVALIDATE, page.gzipped)
        if not all(_SEGMENT.match(s) for s in segments) or segments[-1] == INDEX:
            return _missing(rel)
        found = self._load("/".join(segments))
        return found if found is not None else _missing(rel)

    def _load(self, rel: str) -> Asset | None:
        with self._lock:
            if rel in self._cache:
                return self._cache[rel]
        path = self.root.joinpath(*rel.split("/"))
        asset = None
        if path.is_file():
            body = path.read_bytes()
            suffix = path.suffix.lower()
            packed = gzip.compress(body, 9, mtime=0) if suffix in _COMPRESSIBLE else None
            asset = Asset(
                200,
                TYPES.get(suffix, "application/octet-stream"),
                body,
                IMMUTABLE if rel.startswith("assets/") else REVALIDATE,
                packed if packed is not None and len(packed) < len(body) else None,
            )
        with self._lock:
            self._cache[rel] = asset
        return asset


def _missing(rel: str) -> Asset:
    text = f"no file {rel!r} in the web UI's build\n"
    return Asset(404, TYPES[".txt"], text.encode(), REVALIDATE)
