"""Webhook deliveries to a real HTTP server on loopback.

The receivers listen on 127.0.0.1, so the notifiers here get a destination policy that
allows loopback (`LOOPBACK_OK`), as `weir serve` bound to loopback does by default."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import socket
import ssl
import threading
import time

import pytest

from tests.helpers import closed_port
from weir.backends.log import LogNotifier
from weir.backends.webhook import WebhookNotifier, WebhookRefusedError
from weir.errors import DeliveryError
from weir.metrics.alerts.destinations import WebhookPolicy
from weir.metrics.alerts.model import AlertEvent
from weir.metrics.alerts.notify import PermanentDeliveryError


def no_dns(host: str) -> list[str]:
    raise AssertionError(f"no name should be resolved here, got {host!r}")


LOOPBACK_OK = WebhookPolicy(resolver=no_dns, allow=["127.0.0.1"])


class FakeDNS:
    """A resolver answering from a table the test changes (DNS rebinding), counting lookups;
    an unknown name fails as getaddrinfo does."""

    def __init__(self, answers: dict[str, list[str]] | None = None) -> None:
        self.answers = dict(answers or {})
        self.calls: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.calls.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.answers[host])


class Receiver:
    """A real http.server in a thread that records posts and answers with `status`."""

    def __init__(self, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self.posts: list[tuple[dict, bytes]] = []
        self.server_names: list[str | None] = []  # TLS SNI, with `tls`
        self.paths: list[str] = []
        self.status = 200
        self.delay = 0.0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.delay:
                    time.sleep(receiver.delay)
                receiver.posts.append((dict(self.headers), body))
                receiver.paths.append(self.path)
                try:
                    self.send_response(receiver.status)
                    self.end_headers()
                    self.wfile.write(b"nope" if receiver.status >= 400 else b"")
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

            def log_message(self, *args):
                pass

        server_class = http.server.ThreadingHTTPServer
        if ":" in host:
            server_class = type("Server6", (server_class,), {"address_family": socket.AF_INET6})
        self.server = server_class((host, 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://{f'[{host}]' if ':' in host else host}:{self.port}/hook"
        if tls is not None:
            tls.sni_callback = lambda sock, name, ctx: self.server_names.append(name)  # type: ignore[assignment]
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            self.url = f"https://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def event(**kw) -> AlertEvent:
    base = dict(
        event_id="r-1.ab.1.1",
        kind="transition",
        rule_id="r-1",
        rule_name="cpu high",
        metric="cpu",
        group={"host": "a"},
        previous_state="OK",
        state="ALARM",
        severity="critical",
        reason="x",
        value=97.0,
        threshold=90.0,
        comparison=">",
        statistic="avg",
        period=60,
        labels={"team": "ops"},
        at="2026-01-01T00:00:00Z",
        environment="test",
    )
    base.update(kw)
    return AlertEvent(**base)


def test_posts_json_with_event_id_and_signature(receiver):
    WebhookNotifier(receiver.url, policy=LOOPBACK_OK, secret="s" * 20).send(event())
    [(headers, body)] = receiver.posts
    assert json.loads(body)["state"] == "ALARM" and json.loads(body)["labels"] == {"team": "ops"}
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Weir-Event-Id"] == "r-1.ab.1.1"
    want = hmac.new(b"s" * 20, body, hashlib.sha256).hexdigest()
    assert headers["X-Weir-Signature"] == f"sha256={want}"


def test_error_status_is_a_delivery_error(receiver):
    receiver.status = 500
    with pytest.raises(DeliveryError, match="HTTP 500: nope"):
        WebhookNotifier(receiver.url, policy=LOOPBACK_OK).send(event())


def test_timeout_is_a_delivery_error(receiver):
    receiver.delay = 1.0
    with pytest.raises(DeliveryError, match="no answer within 0.2 s"):
        WebhookNotifier(receiver.url, policy=LOOPBACK_OK, timeout=0.2).send(event())


def test_unreachable_is_a_delivery_error():
    with closed_port() as port, pytest.raises(DeliveryError, match="Connection refused"):
        WebhookNotifier(f"http://127.0.0.1:{port}/x", policy=LOOPBACK_OK, timeout=2).send(event())


def test_log_line_is_json(caplog):
    with caplog.at_level("INFO", logger="weir.alerts.events"):
        LogNotifier().send(event())
    [record] = caplog.records
    assert record.levelname == "WARNING"
    assert json.loads(record.getMessage())["alert"]["event_id"] == "r-1.ab.1.1"


# -- the destination policy at delivery time ------------------------------------------------


@pytest.fixture
def no_system_dns(monkeypatch):
    """Any lookup outside the injected resolver (http.client resolving the name again) fails."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"socket.getaddrinfo{args!r} called: the notifier resolved the name itself")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_connects_to_the_checked_address_and_keeps_the_host_name(receiver, no_system_dns):
    dns = FakeDNS({"hooks.internal.test": ["127.0.0.1"]})
    policy = WebhookPolicy(resolver=dns, allow=["hooks.internal.test"])
    WebhookNotifier(f"http://hooks.internal.test:{receiver.port}/in?team=ops", policy=policy).send(event())
    [(headers, _)] = receiver.posts
    assert headers["Host"] == f"hooks.internal.test:{receiver.port}" and receiver.paths == ["/in?team=ops"]
    assert dns.calls == ["hooks.internal.test"]  # resolved once, by the policy, and checked


def test_a_name_rebound_after_the_check_cannot_redirect_the_post(receiver, no_system_dns):
    """The classic rebinding answer: harmless when checked, the metadata service when the
    HTTP client looks again. The notifier never looks again; the next delivery is refused."""

    class Rebinding(FakeDNS):
        def __call__(self, host):
            answer = super().__call__(host)
            self.answers[host] = ["169.254.169.254"]
            return answer

    dns = Rebinding({"hooks.internal.test": ["127.0.0.1"]})
    hook = WebhookNotifier(f"http://hooks.internal.test:{receiver.port}/hook",
                           policy=WebhookPolicy(resolver=dns, allow_private=True))
    hook.send(event())
    assert len(receiver.posts) == 1 and dns.calls == ["hooks.internal.test"]
    with pytest.raises(WebhookRefusedError, match="resolves to 169.254.169.254, which is in 169.254.0.0/16") as info:
        hook.send(event())
    assert isinstance(info.value, PermanentDeliveryError)  # the dispatcher will not retry it
    assert len(receiver.posts) == 1


def test_ipv6_addresses_are_connected_to_as_checked(no_system_dns):
    try:
        receiver = Receiver(host="::1")
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    try:
        dns = FakeDNS({"hooks.internal.test": ["::1"]})
        policy = WebhookPolicy(resolver=dns, allow=["::1"])
        WebhookNotifier(f"http://hooks.internal.test:{receiver.port}/six", policy=policy).send(event())
        WebhookNotifier(receiver.url, policy=policy).send(event())
        assert [h["Host"] for h, _ in receiver.posts] == [f"hooks.internal.test:{receiver.port}",
                                                           f"[::1]:{receiver.port}"]
        with pytest.raises(WebhookRefusedError, match="::1 is in ::1/128: loopback"):
            WebhookNotifier(receiver.url, policy=WebhookPolicy(resolver=dns)).send(event())
    finally:
        receiver.close()


def test_a_refused_destination_sends_nothing(receiver):
    with pytest.raises(WebhookRefusedError, match=r"127.0.0.1 is in 127.0.0.0/8: loopback.*ALLOW-HOW"):
        WebhookNotifier(receiver.url, policy=WebhookPolicy(resolver=no_dns, hint="ALLOW-HOW")).send(event())
    assert receiver.posts == []


def test_a_name_that_does_not_resolve_is_retried_later():
    with pytest.raises(DeliveryError, match="cannot resolve the host") as info:
        WebhookNotifier("http://gone.internal.test/hook", policy=WebhookPolicy(resolver=FakeDNS())).send(event())
    assert not isinstance(info.value, PermanentDeliveryError)


def make_certificate(name: str) -> tuple[bytes, bytes, bytes]:
    """A throwaway CA and a certificate for `name` it signed: (CA PEM, cert PEM, key PEM)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def cert(subject, issuer, key, signer, *, ca: bool):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(hours=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
                decipher_only=False), critical=True)
        else:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "weir test CA")])
    ca = cert(ca_name, ca_name, ca_key, ca_key, ca=True)
    leaf = cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), ca_name, key, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return ca.public_bytes(pem), leaf.public_bytes(pem), key_pem


@pytest.fixture
def tls_receiver(tmp_path):
    ca, cert, key = make_certificate("hooks.internal.test")
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    r = Receiver(tls=server)
    yield r, ssl.create_default_context(cadata=ca.decode())
    r.close()


def test_https_checks_the_certificate_and_sends_the_name_of_the_url(tls_receiver, no_system_dns):
    receiver, trust = tls_receiver
    dns = FakeDNS({"hooks.internal.test": ["127.0.0.1"], "other.internal.test": ["127.0.0.1"]})
    policy = WebhookPolicy(resolver=dns, allow_private=True)
    WebhookNotifier(f"https://hooks.internal.test:{receiver.port}/hook", policy=policy, tls=trust).send(event())
    [(headers, _)] = receiver.posts
    assert receiver.server_names == ["hooks.internal.test"] and headers["Host"].startswith("hooks.internal.test:")
    # The same address under another name: the certificate does not name it, so nothing is sent.
    with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        WebhookNotifier(f"https://other.internal.test:{receiver.port}/hook", policy=policy, tls=trust).send(event())
    assert len(receiver.posts) == 1


def test_a_stored_url_the_rules_now_refuse_fails_for_good_at_delivery():
    """A subscription stored before the policy existed (or with rules since tightened):
    refused when delivered, as a permanent failure, not a crash or an endless retry."""
    for url in ("http://ops:pw@127.0.0.1:9/x", "http://0xa9fea9fe/", "gopher://127.0.0.1/"):
        with pytest.raises(WebhookRefusedError, match="destination policy refuses it"):
            WebhookNotifier(url, policy=LOOPBACK_OK).send(event())
