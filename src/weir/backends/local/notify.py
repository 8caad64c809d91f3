"""Local notification channels: a structured log line, and webhooks.

A webhook delivery is one HTTP POST of the event's JSON with a timeout; any answer other
than 2xx, a refused connection or a timeout raises DeliveryError, and the outbox retries
with backoff (see `weir.metrics.alerts.notify`). Headers carry the event id, stable across
retries, so a receiver can drop the rare repeat; with a secret, `X-Weir-Signature` is the
HMAC-SHA256 of the body, so a receiver can tell the post came from this Weir.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
from urllib.parse import urlsplit

import msgspec

from weir import __version__
from weir.errors import DeliveryError
from weir.metrics.alerts.model import AlertEvent, Subscription
from weir.metrics.alerts.notify import message

events_log = logging.getLogger("weir.alerts.events")


class LogNotifier:
    """One JSON line per event on the `weir.alerts.events` logger."""

    def send(self, event: AlertEvent) -> None:
        line = msgspec.json.encode({"alert": event}).decode()
        level = logging.WARNING if event.state == "ALARM" else logging.INFO
        events_log.log(level, "%s", line)


class WebhookNotifier:
    def __init__(self, url: str, *, timeout: float = 5.0, secret: str | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url
        self._parts = parts
        self.timeout = timeout
        self.secret = secret

    @classmethod
    def for_subscription(cls, sub: Subscription) -> WebhookNotifier:
        return cls(sub.url, timeout=sub.timeout, secret=sub.secret)

    def send(self, event: AlertEvent) -> None:
        body = message(event)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"weir/{__version__}",
            "X-Weir-Event-Id": event.event_id,
        }
        if self.secret:
            digest = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Weir-Signature"] = f"sha256={digest}"
        p = self._parts
        conn_cls = http.client.HTTPSConnection if p.scheme == "https" else http.client.HTTPConnection
        conn = conn_cls(p.hostname or "", p.port, timeout=self.timeout)  # checked when the URL was validated
        target = (p.path or "/") + (f"?{p.query}" if p.query else "")
        try:
            conn.request("POST", target, body=body, headers=headers)
            resp = conn.getresponse()
            reply = resp.read(500)
        except TimeoutError:
            raise DeliveryError(f"POST {self.url}: no answer within {self.timeout:g} s") from None
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryError(f"POST {self.url}: {type(exc).__name__}: {exc}") from None
        finally:
            conn.close()
        if not 200 <= resp.status < 300:
            text = reply.decode("utf-8", "replace").strip()[:200]
            raise DeliveryError(f"POST {self.url}: HTTP {resp.status}" + (f": {text}" if text else ""))
