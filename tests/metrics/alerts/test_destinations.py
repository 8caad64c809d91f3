"""The webhook destination policy: URL forms, address classes, spellings, allow lists, and
host names resolved by an injected resolver (no real DNS here)."""

from __future__ import annotations

import ipaddress
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.backends.test_webhook import FakeDNS
from weir.errors import InvalidInputError
from weir.metrics.alerts.destinations import (
    RefusedDestinationError,
    WebhookPolicy,
    classify,
    numeric_ipv4,
    parse_allow,
    parse_url,
    tables,
)


def strict(dns: FakeDNS | None = None, **kw) -> WebhookPolicy:
    return WebhookPolicy(resolver=dns or FakeDNS(), **kw)


def kind(text: str) -> str:
    return classify(ipaddress.ip_address(text)).kind


@pytest.mark.parametrize("address", [
    "169.254.169.254", "169.254.170.2", "0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250", "255.255.255.255",
    "240.0.0.1", "192.0.0.192", "100.100.100.200", "192.0.2.1", "198.18.0.1",
    "::", "fe80::1", "febf::1", "ff02::1", "fd00:ec2::254", "fd00:ec2::23", "fec0::1", "2001:db8::1", "2001::1",
    "::ffff:169.254.169.254", "::ffff:0.0.0.0", "64:ff9b::a9fe:a9fe", "2002:a9fe:a9fe::1", "::127.0.0.1", "::2",
])
def test_forbidden_addresses(address):
    assert kind(address) == "forbidden"


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.255.0.9", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1",
    "100.127.255.254", "::1", "fc00::1", "fd12:3456::1", "::ffff:127.0.0.1", "::ffff:10.1.2.3", "64:ff9b::a00:1",
])
def test_private_addresses(address):
    assert kind(address) == "private"


@pytest.mark.parametrize("address", [
    "8.8.8.8", "93.184.216.34", "172.32.0.1", "172.15.255.255", "100.128.0.1", "169.253.255.255", "223.255.255.255",
    "2606:4700:4700::1111", "2a00:1450::1", "::ffff:8.8.8.8", "64:ff9b::808:808",
])
def test_public_addresses(address):
    assert kind(address) == "public"


@pytest.mark.parametrize("host, want", [
    ("2852039166", "169.254.169.254"),
    ("0xa9fea9fe", "169.254.169.254"),
    ("0XA9FEA9FE".lower(), "169.254.169.254"),
    ("0251.0376.0251.0376", "169.254.169.254"),
    ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
    ("169.254.43518", "169.254.169.254"),
    ("169.16689662", "169.254.169.254"),
    ("127.1", "127.0.0.1"),
    ("017700000001", "127.0.0.1"),
    ("0", "0.0.0.0"),
    ("1.2.3.4.", "1.2.3.4"),
])
def test_numeric_host_names_are_read_as_ipv4(host, want):
    assert str(numeric_ipv4(host)) == want


@pytest.mark.parametrize("host", ["1.2.3.4.5", "256.1.1.1", "08.1.1.1", "4294967296", "a.1"])
def test_numbers_that_are_no_address_are_refused(host):
    with pytest.raises(ValueError):
        numeric_ipv4(host)
    with pytest.raises(RefusedDestinationError):
        parse_url(f"http://{host}/hook")


def test_real_host_names_are_not_numbers():
    assert numeric_ipv4("hooks.example.com") is None and numeric_ipv4("1password.com") is None


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/",
    "http://0xa9fea9fe/",
    "http://0251.0376.0251.0376/",
    "http://169.254.43518/",
    "http://169.254.169.254./",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[FD00:EC2::254]/",
    "https://[fe80::1]:8443/",
    "http://0/",
    "http://0.0.0.0:8080/",
    "http://[::]/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://100.100.100.200/latest/meta-data/",
])
def test_metadata_and_other_forbidden_urls_are_refused_even_when_everything_private_is_allowed(url):
    policy = strict(allow_private=True, allow=["0.0.0.0/0", "::/0"])
    with pytest.raises(RefusedDestinationError, match="webhooks never go there"):
        policy.check(url)


@pytest.mark.parametrize("url, rule", [
    ("ftp://hooks.example.com/x", "not an http(s) URL"),
    ("file:///etc/passwd", "not an http(s) URL"),
    ("gopher://127.0.0.1:6379/_", "not an http(s) URL"),
    ("http://user:pass@hooks.example.com/", "credentials"),
    ("http://user@hooks.example.com/", "credentials"),
    ("http://hooks.example.com@169.254.169.254/", "credentials"),
    ("http://evil.example\\@169.254.169.254/", "credentials"),
    ("http:///path-only", "no host"),
    ("http://hooks.example.com:0/", "port 0"),
    ("http://hooks.example.com:99999/", "not a valid URL"),
    ("http://hooks .example.com/", "spaces or control characters"),
    ("http://hooks.example.com/a\nb", "spaces or control characters"),
    ("http://hooks!.example.com/", "not a valid host name"),
    ("http://[fe80::1%25eth0]/", "zone ids"),
    ("http://[not-ipv6]/", "not a valid URL"),
])
def test_url_forms_that_are_refused_say_which_rule(url, rule):
    with pytest.raises(RefusedDestinationError, match=re.escape(rule)) as info:
        parse_url(url)
    assert info.value.message.startswith("url: ") and info.value.status == 400


def test_a_parsed_url_keeps_the_host_for_the_host_header():
    t = parse_url("https://Hooks.Example.COM.:8443/in?team=ops#frag")
    assert (t.scheme, t.host, t.port, t.path, t.address) == ("https", "hooks.example.com", 8443, "/in?team=ops", None)
    t = parse_url("http://0x7f.1:9000")
    assert (t.host, t.port, t.path, str(t.address)) == ("127.0.0.1", 9000, "/", "127.0.0.1")
    assert parse_url("http://bücher.example/").host == "xn--bcher-kva.example"


def test_private_and_loopback_are_refused_by_default_with_the_way_to_allow_them():
    policy = strict(hint="set allow_private_webhooks")
    for url in ("http://127.0.0.1:9000/", "http://10.1.2.3/", "http://[::1]/", "http://[fd12::1]/",
                "http://100.64.0.1/", "http://[::ffff:192.168.0.1]/", "http://127.1/", "http://2130706433/"):
        with pytest.raises(RefusedDestinationError, match=r"refuses private and loopback .*allow_private_webhooks"):
            policy.check(url)


def test_allow_lists_networks_and_host_names():
    dns = FakeDNS({"hooks.internal.example": ["10.9.0.7"], "a.svc.internal.example": ["10.8.0.1"],
                   "svc.internal.example": ["10.8.0.2"], "other.example": ["10.9.0.7"]})
    policy = strict(dns, allow=["10.1.2.0/24", "fd12::1", "127.0.0.1", "hooks.internal.example.",
                                "*.svc.internal.example"])
    policy.check("http://10.1.2.200/")
    policy.check("http://[fd12::1]:8080/")
    policy.check("http://[::ffff:127.0.0.1]/")  # the mapped form of an allowed address
    policy.check("http://hooks.internal.example/")
    policy.check("http://HOOKS.internal.example./")
    policy.check("http://a.svc.internal.example/")
    for url in ("http://10.1.3.1/", "http://[fd12::2]/", "http://127.0.0.2/", "http://svc.internal.example/",
                "http://other.example/"):
        with pytest.raises(RefusedDestinationError):
            policy.check(url)


def test_allow_entries_are_checked():
    networks, names = parse_allow(["10.0.0.0/8", "fd00::/8", "0x7f000001", "Hooks.Example.", "*.svc.example"])
    assert [str(n) for n in networks] == ["10.0.0.0/8", "fd00::/8", "127.0.0.1/32"]
    assert names == ("hooks.example", ".svc.example")
    for bad in ("169.254.0.0/16", "169.254.169.254", "fe80::/10", "fd00:ec2::254", "[fd00:ec2::254]", "10.0.0.0/33",
                "224.0.0.0/4", "hooks!", "", "1.2.3.4.5"):
        with pytest.raises(InvalidInputError, match="webhook_allow: "):
            parse_allow([bad])


def test_a_host_name_is_judged_by_every_address_it_resolves_to():
    dns = FakeDNS({"meta.example": ["169.254.169.254"], "mixed.example": ["93.184.216.34", "169.254.169.254"],
                   "v6meta.example": ["fd00:ec2::254"], "mapped.example": ["::ffff:169.254.169.254"],
                   "inside.example": ["10.0.0.5"], "public.example": ["93.184.216.34", "2606:4700::1111"],
                   "linklocal6.example": ["fe80::1%eth0"], "junk.example": ["not-an-address"]})
    policy = strict(dns, allow_private=True)
    for host in ("meta", "mixed", "v6meta", "mapped", "linklocal6"):
        with pytest.raises(RefusedDestinationError, match=f"{host}.example resolves to .*webhooks never go there"):
            policy.check(f"http://{host}.example/")
    with pytest.raises(RefusedDestinationError, match="not an IP address"):
        policy.check("http://junk.example/")
    assert policy.destination("http://inside.example/")[1] == ("10.0.0.5",)
    with pytest.raises(RefusedDestinationError, match="inside.example resolves to 10.0.0.5, which is in 10.0.0.0/8"):
        strict(dns).check("http://inside.example/")
    target, addresses = strict(dns).destination("https://public.example/x")
    assert addresses == ("93.184.216.34", "2606:4700::1111") and target.host == "public.example"


def test_trailing_dot_names_are_the_same_names():
    dns = FakeDNS({"localhost": ["127.0.0.1", "::1"], "metadata.google.internal": ["169.254.169.254"]})
    with pytest.raises(RefusedDestinationError, match="localhost resolves to 127.0.0.1"):
        strict(dns).check("http://localhost./hook")
    with pytest.raises(RefusedDestinationError, match="webhooks never go there"):
        strict(dns, allow=["metadata.google.internal"]).check("http://metadata.google.internal./computeMetadata/v1/")
    assert dns.calls == ["localhost", "metadata.google.internal"]


def test_literal_addresses_are_never_resolved():
    dns = FakeDNS()
    strict(dns).check("http://93.184.216.34/")
    strict(dns).check("http://[2606:4700::1111]/")
    with pytest.raises(RefusedDestinationError):
        strict(dns).check("http://0xa9fea9fe/")
    assert dns.calls == []


def test_a_name_that_does_not_resolve_passes_creation_and_fails_delivery_for_now():
    policy = strict(FakeDNS({"empty.example": []}))
    policy.check("http://not-yet.example/hook")  # checked again before every delivery
    with pytest.raises(OSError):
        policy.destination("http://not-yet.example/hook")
    with pytest.raises(OSError, match="no address"):
        policy.destination("http://empty.example/hook")


_IPV4 = st.integers(0, 2**32 - 1)


def spellings(n: int) -> list[str]:
    b = n.to_bytes(4, "big")
    return [str(n), hex(n), "0" + oct(n)[2:] if n else "0", ".".join(map(str, b)), ".".join(hex(x) for x in b),
            ".".join("0" + oct(x)[2:] for x in b), f"{b[0]}.{int.from_bytes(b[1:], 'big')}",
            f"{b[0]}.{b[1]}.{int.from_bytes(b[2:], 'big')}", ".".join(map(str, b)) + "."]


@given(_IPV4)
def test_every_spelling_of_an_address_is_judged_as_the_address(n):
    address = ipaddress.IPv4Address(n)
    for host in spellings(n):
        assert numeric_ipv4(host) == address, host
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    assert classify(mapped).kind == classify(address).kind


@given(st.sampled_from([net for net, _ in tables().forbidden]), st.integers(0, 2**128 - 1))
def test_no_allow_list_lets_a_forbidden_address_through(net, offset):
    address = net.network_address + (offset % net.num_addresses)
    url = f"http://[{address}]/" if address.version == 6 else f"http://{address}/"
    with pytest.raises(RefusedDestinationError):
        strict(allow_private=True, allow=["0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"]).check(url)
