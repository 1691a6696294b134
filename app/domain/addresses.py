"""Which IP addresses a GESDENT server may have by default: public unicast ones only (SSRF).

The ranges are those of the IANA special-purpose address registries (IPv4 and IPv6, as of 2025),
all of them, the few marked "globally reachable" included: they are anycast services (AS112 DNS,
AMT relays, PCP and TURN) or experiments, never a GESDENT server. Python's `ipaddress` flags do not
follow the registries in every version (3.11's `is_global` accepts 192.0.0.0/24, 6to4 and Teredo
forms of private addresses), so the tables are written out here; `is_global` is only a last check,
for ranges a later Python knows of.

IPv6 forms that carry an IPv4 address are judged by it: IPv4-mapped, NAT64 (64:ff9b::/96) and 6to4
(2002::/16) addresses are allowed when their IPv4 address is; IPv4-compatible (::/96, deprecated),
local-use NAT64 (64:ff9b:1::/48) and Teredo (2001::/32) addresses never are, and the reason names
what they embed when that is not public either.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_IPV4_SPECIAL = tuple(
    (ipaddress.IPv4Network(network), reason)
    for network, reason in (
        ("0.0.0.0/8", "a 'this network' address"),
        ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a carrier-grade NAT address"),  # shared address space, RFC 6598
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "an IETF protocol assignment address"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.31.196.0/24", "an AS112 DNS address"),
        ("192.52.193.0/24", "an AMT relay address"),
        ("192.88.99.0/24", "a 6to4 relay anycast address"),
        ("192.168.0.0/16", "a private address"),
        ("192.175.48.0/24", "an AS112 DNS address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "a broadcast address"),  # before 240.0.0.0/4, which holds it
        ("240.0.0.0/4", "a reserved address"),
    )
)

_IPV6_SPECIAL = tuple(
    (ipaddress.IPv6Network(network), reason)
    for network, reason in (
        ("::/128", "an unspecified address"),
        ("::1/128", "a loopback address"),
        ("100::/64", "a discard-only address"),
        ("100:0:0:1::/64", "a dummy-prefix address"),
        ("2001::/23", "an IETF protocol assignment address"),
        ("2001:db8::/32", "a documentation address"),
        ("2620:4f:8000::/48", "an AS112 DNS address"),
        ("3fff::/20", "a documentation address"),
        ("5f00::/16", "a segment-routing (SRv6) address"),
        ("fc00::/7", "a private (unique local) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    )
)
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")  # the rest of the IPv6 space is reserved


def _low32(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]


def _sixtofour(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    return [ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)]


def _teredo(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    server = ipaddress.IPv4Address((int(ip) >> 64) & 0xFFFFFFFF)
    client = ipaddress.IPv4Address(~int(ip) & 0xFFFFFFFF)  # stored inverted
    return [server, client]


def _nat64_48(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """RFC 6052 with a /48 prefix: bits 48-63 and 72-87 (bits 64-71 are the zero `u` octet)."""
    value = int(ip)
    return [ipaddress.IPv4Address(((value >> 64) & 0xFFFF) << 16 | (value >> 40) & 0xFFFF)]


Embedded = Callable[[ipaddress.IPv6Address], list[ipaddress.IPv4Address]]
# (range, its kind, the IPv4 addresses it carries, allowed when they are all public). First match
# wins: ::/128 and ::1/128 are settled before ::/96 is looked at.
_EMBEDDING: tuple[tuple[ipaddress.IPv6Network, str, Embedded, bool], ...] = tuple(
    (ipaddress.IPv6Network(network), kind, embedded, allowed)
    for network, kind, embedded, allowed in (
        ("::ffff:0:0/96", "an IPv4-mapped address", _low32, True),
        ("64:ff9b::/96", "a NAT64 address", _low32, True),
        ("2002::/16", "a 6to4 address", _sixtofour, True),
        ("64:ff9b:1::/48", "a local-use NAT64 address", _nat64_48, False),
        ("2001::/32", "a Teredo address", _teredo, False),
        ("::/96", "an IPv4-compatible address", _low32, False),
    )
)


def parse_address(text: str) -> IPAddress | None:
    """`text` as an IP address (an IPv6 zone such as `%eth0` ignored), or None if it is not one."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


def forbidden_address(address: str | IPAddress) -> str | None:
    """Why an IP address is off limits for a GESDENT server by default, e.g. "a loopback
    address"; None for a public unicast address. ValueError if `address` is not an IP address."""
    ip = parse_address(address) if isinstance(address, str) else address
    if ip is None:
        raise ValueError(f"{address!r} is not an IP address")
    if isinstance(ip, ipaddress.IPv4Address):
        return _ipv4_reason(ip)
    return _ipv6_reason(ip)


def _ipv4_reason(ip: ipaddress.IPv4Address) -> str | None:
    for network, reason in _IPV4_SPECIAL:
        if ip in network:
            return reason
    return None if ip.is_global else "a special-purpose address"


def _ipv6_reason(ip: ipaddress.IPv6Address) -> str | None:
    for network, reason in _IPV6_SPECIAL[:2]:  # :: and ::1, inside ::/96
        if ip in network:
            return reason
    for network, kind, embedded, allowed in _EMBEDDING:
        if ip in network:
            inner = next(filter(None, map(_ipv4_reason, embedded(ip))), None)
            if inner is not None:
                return f"{kind} embedding {inner}"
            return None if allowed else kind
    for network, reason in _IPV6_SPECIAL[2:]:
        if ip in network:
            return reason
    if ip not in _GLOBAL_UNICAST:
        return "a reserved address"
    return None if ip.is_global else "a special-purpose address"
