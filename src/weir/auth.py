"""API keys: who may write (and, unless reads are opened, read).

Keys are random 256-bit tokens shown once at creation; only their SHA-256 digests are
stored. A slow password hash would add nothing: the tokens are not guessable, and a fast
digest keeps the check off the ingest hot path. Comparison is constant-time and runs over
every stored digest, so timing reveals neither which key nor how much of one matched.

In AWS, API Gateway checks keys itself (usage plans, `x-api-key`); the same header is
accepted here so clients work unchanged in both places.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from typing import Protocol

import msgspec

from weir.errors import InvalidInputError, UnauthorizedError

PREFIX = "weir_"
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}\Z")
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_ALWAYS_OPEN = frozenset({"/health", "/ping"})  # liveness probes, as InfluxDB's /ping
# The web UI's files and the redirect of `/` to them hold no data, and a browser loading a
# page cannot add a key header: they are open to reads, and the page asks for a key before
# it reads anything else (kept in the tab's session storage, sent as x-api-key).
_OPEN_READS = frozenset({"/", "/ui"})
_OPEN_READ_PREFIX = "/ui/"
# POSTs that only read, under the same rules as GETs: Prometheus' query API takes its
# parameters as a form POST (Grafana's default). `weir.http.routes.prometheus` serves them.
# Remote read (`weir.http.routes.remote`) is a read too, though a protobuf POST.
READ_POSTS = frozenset(f"/api/v1/{p}" for p in ("query", "query_range", "series", "labels", "format_query",
                                                  "query_exemplars", "read"))


class KeyRecord(msgspec.Struct):
    name: str
    created: str
    digest: str


class KeyStore(Protocol):
    def add(self, name: str, digest: str) -> KeyRecord: ...
    def list(self) -> builtins.list[KeyRecord]: ...
    def remove(self, name: str) -> bool: ...
    def digests(self) -> builtins.list[str]:
        """Current digests; cheap to call per request (adapters cache until a change)."""

    def close(self) -> None: ...


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise InvalidInputError("name: 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit")


def presented_key(headers: Mapping[str, str]) -> str | None:
    lowered = {k.lower(): v for k, v in headers.items()}
    auth = lowered.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    if auth[:6].lower() == "token ":  # InfluxDB 2.x clients: InfluxDBClient(token=key)
        return auth[6:].strip()
    return lowered.get("x-api-key")


class Authenticator:
    def __init__(self, store: KeyStore, *, open_reads: bool = False) -> None:
        self.store = store
        self.open_reads = open_reads

    def close(self) -> None:
        self.store.close()

    def check(self, method: str, path: str, headers: Mapping[str, str]) -> str | None:
        """Raise UnauthorizedError unless this request may proceed; return the digest of the
        key that was verified, or None when none was (an open route, no key configured).

        Only a verified key may name the caller (for rate limits): a header nobody checked
        is whatever the client chose, a fresh one per request if that buys a fresh bucket.
        """
        if path in _ALWAYS_OPEN or (self.open_reads and (method.upper() in _READ_METHODS or (
                method.upper() == "POST" and path in READ_POSTS))):
            return None
        if method.upper() in _READ_METHODS and (path in _OPEN_READS or path.startswith(_OPEN_READ_PREFIX)):
            return None
        digests = self.store.digests()
        if not digests:
            return None  # no key configured: open, as a fresh local install is
        key = presented_key(headers)
        if not key:
            raise UnauthorizedError(
                "an API key is required: send `Authorization: Bearer <key>` or `x-api-key: <key>` "
                "(create one with `weir keys add NAME`)"
            )
        wanted = digest(key).encode()
        ok = False
        for d in digests:
            ok |= hmac.compare_digest(wanted, d.encode())
        if not ok:
            raise UnauthorizedError("the API key is not valid (revoked or mistyped); `weir keys ls` lists key names")
        return wanted.decode()
