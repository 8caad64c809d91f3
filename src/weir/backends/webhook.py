"""The webhook notifier: alert events POSTed to subscribers' URLs (`weir serve` and the
`alerts` Lambda both deliver with it; the log notifier is `weir.backends.log`).

A webhook delivery is one HTTP POST of the event's JSON with a timeout; any answer other
than 2xx, a refused connection or a timeout raises DeliveryError, and the outbox retries
with backoff (see `weir.metrics.alerts.notify`). A destination the policy refuses
(`weir.metrics.alerts.destinations`) is a permanent failure: recorded, never retried.
Headers carry the event id, stable across retries, so a receiver can drop the rare
repeat; with a secret, `X-Weir-Signature` is the HMAC-SHA256 of the body, so a receiver
can tell the post came from this Weir.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import socket
import ssl

from weir import __version__
from weir.errors import DeliveryError
from weir.metrics.alerts.destinations import RefusedDestinationError, Target, WebhookPolicy
from weir.metrics.alerts.model import AlertEvent, Subscription
from weir.metrics.alerts.notify import PermanentDeliveryError, message


def system_resolver(host: str) -> list[str]:
    """The addresses of a host name, from the system resolver (hosts file, DNS), in its order."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class WebhookRefusedError(PermanentDeliveryError):
    """The destination policy refuses the URL or what its host resolves to now."""


class WebhookNotifier:
    """POSTs an event to one URL, to an address the destination policy has just checked.

    The URL is checked again before every POST (DNS can change after the subscription was
    created), and the connection goes to one of the checked addresses: the host name is
    never handed to the HTTP client to resolve again, which is what DNS rebinding exploits.
    The Host header and, for https, the TLS server name and certificate check stay those of
    the host name. Redirects are not followed (a 3xx is a failed delivery), so an allowed
    receiver cannot bounce the POST somewhere the policy refuses.
    """

    def __init__(self, url: str, *, policy: WebhookPolicy, timeout: float = 5.0, secret: str | None = None,
                 tls: ssl.SSLContext | None = None) -> None:
        self.url = url  # checked at each send: a refusal then is a recorded, permanent failure
        self.policy = policy
        self.timeout = timeout
        self.secret = secret
        self.tls = tls

    @classmethod
    def for_subscription(cls, sub: Subscription, *, policy: WebhookPolicy,
                         tls: ssl.SSLContext | None = None) -> WebhookNotifier:
        return cls(sub.url, policy=policy, timeout=sub.timeout, secret=sub.secret, tls=tls)

    def send(self, event: AlertEvent) -> None:
        try:
            target, addresses = self.policy.destination(self.url)
        except RefusedDestinationError as exc:
            raise WebhookRefusedError(f"not sent, the webhook destination policy refuses it: {exc.message}") from None
        except OSError as exc:  # the name does not resolve (now): retried, DNS may come back
            raise DeliveryError(f"POST {self.url}: cannot resolve the host: {exc}") from None
        body = message(event)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"weir/{__version__}",
            "X-Weir-Event-Id": event.event_id,
        }
        if self.secret:
            digest = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Weir-Signature"] = f"sha256={digest}"
        conn: http.client.HTTPConnection
        if target.scheme == "https":
            conn = _PinnedHTTPS(target, addresses, self.timeout, self.tls or ssl.create_default_context())
        else:
            conn = _PinnedHTTP(target, addresses, self.timeout)
        try:
            conn.request("POST", target.path, body=body, headers=headers)
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


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to checked addresses, tried in order, never to a fresh lookup."""

    def __init__(self, target: Target, addresses: tuple[str, ...], timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)  # host: the Host header
        self.addresses = addresses

    def connect(self) -> None:
        error: OSError | None = None
        for address in self.addresses:  # like socket.create_connection, minus its getaddrinfo
            sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.timeout)
                sock.connect((address, self.port))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError as exc:
                sock.close()
                error = exc
                continue
            self.sock = sock
            return
        raise error or OSError("no address to connect to")


class _PinnedHTTPS(_PinnedHTTP):
    default_port = 443

    def __init__(self, target: Target, addresses: tuple[str, ...], timeout: float, tls: ssl.SSLContext) -> None:
        super().__init__(target, addresses, timeout)
        self.tls = tls

    def connect(self) -> None:
        super().connect()
        # The certificate is checked for the host name in the URL, not the address.
        self.sock = self.tls.wrap_socket(self.sock, server_hostname=self.host)
