"""Where a webhook may POST: the destination policy that keeps webhooks from being SSRF.

A webhook subscription makes Weir send a request to a URL a key holder chose. Without a
policy that is server-side request forgery: the cloud metadata service (169.254.169.254,
fd00:ec2::254) hands out credentials, and loopback or private hosts trust whoever can
reach them. So every URL is checked twice:

- when the subscription is created (API: 400; config file: a start-up error), for early
  and clear feedback, and
- before every delivery, because DNS can change after creation: the host is resolved,
  every address it resolves to is checked, and the notifier connects to a checked address
  itself instead of letting the HTTP client resolve the name again (DNS rebinding).

Addresses fall in three classes (`classify`), from explicit tables rather than
`ipaddress`'s `is_private`, whose lists changed between Python patch releases:

- forbidden, always: unspecified, link-local (the metadata services), the metadata
  addresses that sit elsewhere (fd00:ec2::/32, 100.100.100.200, 192.0.0.192), multicast,
  broadcast, reserved, documentation and benchmarking ranges;
- private: loopback, RFC 1918, carrier-grade NAT (100.64.0.0/10), unique local (fc00::/7),
  refused unless the policy allows them (all, or listed networks and host names);
- public: everything else.

IPv6 forms that carry an IPv4 address (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4
2002::/16) are judged by that IPv4 address. Host names that are numbers (2852039166,
0xa9fea9fe, 0251.0376.0251.0376, 169.254.43518) are read as IPv4 the way inet_aton and
browsers read them, so a spelling cannot slip an address past the check; the resolver is
never asked about them. This module does no I/O: the resolver is injected.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

from weir.errors import InvalidInputError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# A host name (never an IP literal) -> the addresses it resolves to; raises OSError when it
# cannot be resolved. Production: `weir.backends.webhook.system_resolver`.
Resolver = Callable[[str], Sequence[str]]
Kind = Literal["forbidden", "private", "public"]

# (network, why) pairs, parsed on first use: building them costs milliseconds, which a
# Lambda cold start that never sees a webhook should not pay (NamedTuples below: likewise).
_FORBIDDEN_TEXT = (
    ("0.0.0.0/8", "the unspecified address ('this network')"),
    ("169.254.0.0/16", "link-local, where cloud metadata services answer (169.254.169.254)"),
    ("100.100.100.200/32", "a cloud metadata service (Alibaba Cloud)"),
    ("192.0.0.0/24", "reserved for IETF protocol assignments (Oracle Cloud metadata is 192.0.0.192)"),
    ("192.0.2.0/24", "reserved for documentation"),
    ("198.51.100.0/24", "reserved for documentation"),
    ("203.0.113.0/24", "reserved for documentation"),
    ("198.18.0.0/15", "reserved for benchmarking"),
    ("192.88.99.0/24", "reserved (the deprecated 6to4 relay anycast)"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved (255.255.255.255 is broadcast)"),
    ("::/128", "the unspecified address"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local (deprecated)"),
    ("ff00::/8", "multicast"),
    ("fd00:ec2::/32", "AWS instance services: metadata (fd00:ec2::254), DNS and time"),
    ("64:ff9b:1::/48", "reserved for local NAT64 translation"),
    ("100::/64", "reserved (discard-only)"),
    ("2001::/23", "reserved for IETF protocol assignments (Teredo and others)"),
    ("2001:db8::/32", "reserved for documentation"),
    ("3fff::/20", "reserved for documentation"),
)
_PRIVATE_TEXT = (
    ("127.0.0.0/8", "loopback"),
    ("10.0.0.0/8", "private (RFC 1918)"),
    ("172.16.0.0/12", "private (RFC 1918)"),
    ("192.168.0.0/16", "private (RFC 1918)"),
    ("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
    ("::1/128", "loopback"),
    ("fc00::/7", "unique local (private)"),
)


class _Tables(NamedTuple):
    forbidden: tuple[tuple[Network, str], ...]
    private: tuple[tuple[Network, str], ...]
    reserved_v6: Network  # what is left of ::/8 after ::, ::1 and the IPv4-mapped block
    mapped: Network
    nat64: Network
    six_to_four: Network


@functools.cache
def tables() -> _Tables:
    net = ipaddress.ip_network
    return _Tables(
        forbidden=tuple((net(n), why) for n, why in _FORBIDDEN_TEXT),
        private=tuple((net(n), why) for n, why in _PRIVATE_TEXT),
        reserved_v6=net("::/8"), mapped=net("::ffff:0:0/96"), nat64=net("64:ff9b::/96"), six_to_four=net("2002::/16"),
    )


_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMBER = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


class RefusedDestinationError(InvalidInputError):
    """The URL, or an address its host resolves to, is not an allowed webhook destination."""


class Verdict(NamedTuple):
    kind: Kind
    address: Address  # the address judged (the IPv4 one for a mapped IPv6 address)
    network: Network | None
    why: str


def effective(address: Address) -> Address:
    """The IPv4 address an IPv6 address carries (mapped, NAT64, 6to4), else the address."""
    if isinstance(address, ipaddress.IPv6Address):
        t = tables()
        if address in t.mapped or address in t.nat64:
            return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
        if address in t.six_to_four:
            return ipaddress.IPv4Address((int(address) >> 80) & 0xFFFF_FFFF)
    return address


def classify(address: Address) -> Verdict:
    eff = effective(address)
    t = tables()
    for net, why in t.forbidden:
        if eff.version == net.version and eff in net:
            return Verdict("forbidden", eff, net, why)
    for net, why in t.private:
        if eff.version == net.version and eff in net:
            return Verdict("private", eff, net, why)
    if eff.version == 6 and eff in t.reserved_v6:
        return Verdict("forbidden", eff, t.reserved_v6, "reserved (IPv4-compatible and other ::/8 forms)")
    return Verdict("public", eff, None, "public")


def parse_ip(text: str) -> Address:
    """An address from text; raises ValueError. Refuses IPv6 zone ids (`fe80::1%eth0`)."""
    if "%" in text:
        raise ValueError("IPv6 zone ids are not accepted")
    return ipaddress.ip_address(text)


def numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """A host name that is a number read as IPv4, as inet_aton and the WHATWG URL standard
    read it: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x); the last part fills
    the remaining bytes. None if the last label is not a number (a real host name); raises
    ValueError if it is a number but not a valid address."""
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not _NUMBER.match(parts[-1]):
        return None
    values = []
    for part in parts:
        if not _NUMBER.match(part):
            raise ValueError(f"{host!r} ends in a number but is not an IPv4 address")
        if part.startswith("0x"):
            values.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            if not set(part) <= set("01234567"):
                raise ValueError(f"{host!r}: {part!r} is not an octal number")
            values.append(int(part, 8))
        else:
            values.append(int(part))
    if len(values) > 4 or any(v > 255 for v in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        raise ValueError(f"{host!r} ends in a number but is not an IPv4 address")
    number = values[-1]
    for i, v in enumerate(values[:-1]):
        number += v << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


class Target(NamedTuple):
    """A URL taken apart: what to connect to and what to send as Host / TLS server name."""

    url: str
    scheme: str
    host: str  # lower case, no trailing dot, no brackets: the Host header and the TLS name
    port: int
    path: str  # path and query, as sent in the request line
    address: Address | None  # for an IP literal (in any spelling); None for a host name


def parse_url(url: str) -> Target:
    """Check the URL's form: http(s), a host, no credentials, a valid port. Raises
    RefusedDestinationError saying which rule the URL breaks."""
    def refuse(rule: str) -> RefusedDestinationError:
        return RefusedDestinationError(f"url: {url[:200]!r} is refused: {rule}")

    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise refuse("it contains spaces or control characters; percent-encode them")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise refuse(f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise refuse("not an http(s) URL; webhooks are http:// or https://")
    if "@" in parts.netloc:
        raise refuse("credentials in the URL are not accepted (they would be shown by GET /subscriptions and "
                     "in delivery errors); sign the posts with `secret` instead")
    host = (parts.hostname or "").removesuffix(".")
    if not host:
        raise refuse("the URL has no host")
    if port == 0:
        raise refuse("port 0 is not a port to connect to")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    target_port = port or (443 if parts.scheme == "https" else 80)
    try:
        address = _literal(host)
        if address is None:
            host = _check_name(host)
        else:
            host = str(address)  # the canonical spelling goes in the Host header
    except ValueError as exc:
        raise refuse(str(exc)) from None
    return Target(url, parts.scheme, host, target_port, path, address)


def _check_name(host: str) -> str:
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise ValueError(f"{host!r} is not a valid host name") from None
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(f"{host!r} is not a valid host name")
    return ascii_host


def _literal(host: str) -> Address | None:
    """The address a host is the literal of (IPv6, or IPv4 in any spelling), else None."""
    return parse_ip(host) if ":" in host else numeric_ipv4(host)


def _check_entry(entry: str) -> Network | str:
    text = entry.strip().lower().removesuffix(".")
    try:
        if "/" in text:
            net = ipaddress.ip_network(text, strict=False)
        else:
            address = _literal(text)
            if address is None:
                name = text.removeprefix("*.")
                _check_name(name)
                return "." + name if text.startswith("*.") else name
            net = ipaddress.ip_network(address)
    except ValueError:
        raise ValueError(f"{entry!r} is neither a network (10.0.0.0/8), an address nor a host name "
                         "(hooks.internal.example, *.internal.example)") from None
    for forbidden, why in tables().forbidden:
        if net.version == forbidden.version and net.subnet_of(forbidden):  # type: ignore[arg-type]
            raise ValueError(f"{entry!r} lies in {forbidden} ({why}), which can never be allowed")
    return net


def parse_allow(entries: Iterable[str]) -> tuple[tuple[Network, ...], tuple[str, ...]]:
    """Allow-list entries: networks or addresses (`10.0.0.0/8`, `fd12::1`), host names
    (`hooks.internal.example`) or every name under a domain (`*.internal.example`).
    Raises InvalidInputError naming the first bad entry."""
    networks: list[Network] = []
    names: list[str] = []
    for entry in entries:
        try:
            item = _check_entry(entry)
        except ValueError as exc:
            raise InvalidInputError(f"webhook_allow: {exc}") from None
        if isinstance(item, str):
            names.append(item)
        else:
            networks.append(item)
    return tuple(networks), tuple(names)


class WebhookPolicy:
    """Which webhook destinations are allowed; see the module docstring.

    `allow_private` allows every private and loopback address; `allow` lists networks and
    host names allowed although private. Forbidden addresses are refused whatever is
    allowed. `hint` ends the message of a refusal for a private address: how to allow it
    in this deployment.
    """

    def __init__(self, *, resolver: Resolver, allow_private: bool = False, allow: Iterable[str] = (),
                 hint: str = "") -> None:
        self.resolver = resolver
        self.allow_private = allow_private
        self.networks, self.names = parse_allow(allow)
        self.hint = hint

    def check(self, url: str) -> Target:
        """At creation: refuse a bad URL, a refused address, or a host name that resolves to
        one. A name that does not resolve (yet) is accepted: delivery checks it again."""
        target = parse_url(url)
        try:
            self._addresses(target)
        except OSError:
            pass
        return target

    def destination(self, url: str) -> tuple[Target, tuple[str, ...]]:
        """Before a delivery: the target and the checked addresses to connect to, in the
        resolver's order. Raises RefusedDestinationError, or OSError when the host name
        does not resolve (a transient failure)."""
        target = parse_url(url)
        return target, self._addresses(target)

    def _addresses(self, target: Target) -> tuple[str, ...]:
        if target.address is not None:
            self._judge(target, target.address, resolved=False)
            return (str(target.address),)
        found = list(dict.fromkeys(self.resolver(target.host)))
        if not found:
            raise OSError(f"{target.host} resolves to no address")
        addresses = []
        for text in found:
            try:  # a zone id (fe80::1%eth0) only comes with link-local addresses, refused below
                address = ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError:
                raise self._refuse(target, f"{target.host} resolves to {text!r}, not an IP address") from None
            self._judge(target, address, resolved=True)
            addresses.append(str(address))
        return tuple(addresses)

    def _judge(self, target: Target, address: Address, *, resolved: bool) -> None:
        verdict = classify(address)
        what = str(address) + (f" (that is {verdict.address})" if verdict.address != address else "")
        what = f"{target.host} resolves to {what}, which" if resolved else what
        if verdict.kind == "forbidden":
            raise self._refuse(target, f"{what} is in {verdict.network}: {verdict.why}; webhooks never go there")
        if verdict.kind == "private" and not self._allowed(target.host, verdict.address):
            raise self._refuse(
                target, f"{what} is in {verdict.network}: {verdict.why}; this server refuses private and loopback "
                "webhook destinations unless they are allowed" + (f" ({self.hint})" if self.hint else ""),
            )

    def _allowed(self, host: str, address: Address) -> bool:
        if self.allow_private:
            return True
        if any(address.version == n.version and address in n for n in self.networks):
            return True
        return any(host == n or (n.startswith(".") and host.endswith(n)) for n in self.names)

    @staticmethod
    def _refuse(target: Target, rule: str) -> RefusedDestinationError:
        return RefusedDestinationError(f"url: {target.url[:200]!r} is refused: {rule}")
