"""Which addresses a GESDENT server may have: public unicast only. The ranges are typed here again
from the IANA special-purpose registries, so the tests check the module's tables, not echo them."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.addresses import forbidden_address

# https://www.iana.org/assignments/iana-ipv4-special-registry (every entry, globally reachable or
# not), and multicast, which is not unicast.
IPV4_SPECIAL = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.0.0/29",
    "192.0.0.8/32",
    "192.0.0.9/32",
    "192.0.0.10/32",
    "192.0.0.170/32",
    "192.0.0.171/32",
    "192.0.2.0/24",
    "192.31.196.0/24",
    "192.52.193.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "192.175.48.0/24",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "255.255.255.255/32",
]
# https://www.iana.org/assignments/iana-ipv6-special-registry, but for the forms judged by the IPv4
# address they carry (::ffff:0:0/96, 64:ff9b::/96, 2002::/16: tested below); and multicast,
# site-local (deprecated) and everything outside 2000::/3 (reserved by the IETF).
IPV6_SPECIAL = [
    "::/128",
    "::1/128",
    "::/96",  # IPv4-compatible, deprecated
    "64:ff9b:1::/48",
    "100::/64",
    "100:0:0:1::/64",
    "2001::/23",
    "2001::/32",
    "2001:1::1/128",
    "2001:1::2/128",
    "2001:1::3/128",
    "2001:2::/48",
    "2001:3::/32",
    "2001:4:112::/48",
    "2001:10::/28",
    "2001:20::/28",
    "2001:30::/28",
    "2001:db8::/32",
    "2620:4f:8000::/48",
    "3fff::/20",
    "5f00::/16",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
    "4000::/2",
    "8000::/1",
    "::/3",
]
V4_NETWORKS = [ipaddress.IPv4Network(n) for n in IPV4_SPECIAL]
V6_NETWORKS = [ipaddress.IPv6Network(n) for n in IPV6_SPECIAL]
ALL_NETWORKS: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = [*V4_NETWORKS, *V6_NETWORKS]
CARRIERS = [ipaddress.IPv6Network(n) for n in ("::ffff:0:0/96", "64:ff9b::/96", "2002::/16")]


def special_v4(ip: ipaddress.IPv4Address) -> bool:
    return any(ip in network for network in V4_NETWORKS)


def in_network(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> st.SearchStrategy[str]:
    first, last = int(network.network_address), int(network.broadcast_address)
    kind = type(network.network_address)
    return st.integers(first, last).map(lambda value: str(kind(value)))


def mapped(v4: ipaddress.IPv4Address) -> str:
    return f"::ffff:{v4}"


def nat64(v4: ipaddress.IPv4Address) -> str:
    return f"64:ff9b::{v4}"


def sixtofour(v4: ipaddress.IPv4Address, subnet: int) -> str:
    return str(ipaddress.IPv6Address((0x2002 << 112) | (int(v4) << 80) | subnet))


def teredo(server: ipaddress.IPv4Address, client: ipaddress.IPv4Address, middle: int) -> str:
    return str(
        ipaddress.IPv6Address(
            (0x20010000 << 96) | (int(server) << 64) | (middle << 32) | (~int(client) & 0xFFFFFFFF)
        )
    )


def local_nat64(v4: ipaddress.IPv4Address) -> str:
    """RFC 6052, /48 prefix: the IPv4 address around the zero octet at bits 64-71."""
    value = int(v4)
    return str(
        ipaddress.IPv6Address((0x0064FF9B0001 << 80) | ((value >> 16) << 64) | ((value & 0xFFFF) << 40))
    )


def compatible(v4: ipaddress.IPv4Address) -> str:
    return f"::{v4}"


ipv4s = st.ip_addresses(v=4)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("100.100.100.200", "a carrier-grade NAT address"),
        ("192.0.0.192", "an IETF protocol assignment address"),
        ("2002:a9fe:a9fe::", "a 6to4 address embedding a link-local address"),
        ("127.0.0.1", "a loopback address"),
        ("169.254.169.254", "a link-local address"),
        ("::ffff:10.0.0.1", "an IPv4-mapped address embedding a private address"),
        ("64:ff9b::7f00:1", "a NAT64 address embedding a loopback address"),
        ("::a9fe:a9fe", "an IPv4-compatible address embedding a link-local address"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "a Teredo address embedding a documentation address"),
        ("64:ff9b:1:a9fe:a9:fe00::", "a local-use NAT64 address embedding a link-local address"),
        ("fe80::1%eth0", "a link-local address"),
        ("fd00::1", "a private (unique local) address"),
        ("4000::1", "a reserved address"),
    ],
)
def test_reasons(address: str, reason: str) -> None:
    assert forbidden_address(address) == reason


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "1.1.1.1",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::8.8.8.8",
        "2002:808:808::1",
    ],
)
def test_public_unicast_addresses_pass(address: str) -> None:
    assert forbidden_address(address) is None


@pytest.mark.parametrize("network", ALL_NETWORKS, ids=str)
def test_every_special_range_is_refused_from_end_to_end(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network,
) -> None:
    assert forbidden_address(network.network_address), network
    assert forbidden_address(network.broadcast_address), network


@given(st.data())
def test_any_address_of_a_special_range_is_refused(data: st.DataObject) -> None:
    network = data.draw(st.sampled_from(ALL_NETWORKS))
    assert forbidden_address(data.draw(in_network(network)))


@given(ipv4s)
def test_an_ipv4_address_passes_exactly_when_it_is_in_no_special_range(ip: ipaddress.IPv4Address) -> None:
    assert (forbidden_address(ip) is None) == (not special_v4(ip))
    if not ip.is_global:  # what this Python's ipaddress knows of is covered too
        assert forbidden_address(ip)


@given(st.integers(0x2000 << 112, (0x4000 << 112) - 1).map(ipaddress.IPv6Address))
def test_global_unicast_ipv6_passes_outside_the_special_ranges(ip: ipaddress.IPv6Address) -> None:
    if any(ip in network for network in [*V6_NETWORKS, *CARRIERS]):
        return  # covered by the other tests
    assert forbidden_address(ip) is None


@given(ipv4s, st.integers(0, 2**80 - 1))
def test_forms_carrying_an_ipv4_address_are_judged_by_it(v4: ipaddress.IPv4Address, subnet: int) -> None:
    inner = forbidden_address(v4)
    for form, kind in [
        (mapped(v4), "an IPv4-mapped address"),
        (nat64(v4), "a NAT64 address"),
        (sixtofour(v4, subnet), "a 6to4 address"),
    ]:
        assert forbidden_address(form) == (None if inner is None else f"{kind} embedding {inner}"), form


@given(ipv4s, ipv4s, st.integers(0, 2**32 - 1))
def test_teredo_local_nat64_and_compatible_forms_are_always_refused(
    v4: ipaddress.IPv4Address, other: ipaddress.IPv4Address, middle: int
) -> None:
    inner, inner_other = forbidden_address(v4), forbidden_address(other)
    for form, kind, carried in [
        (teredo(v4, other, middle), "a Teredo address", [inner, inner_other]),  # server, client
        (teredo(other, v4, middle), "a Teredo address", [inner_other, inner]),
        (local_nat64(v4), "a local-use NAT64 address", [inner]),
    ]:
        named = next(filter(None, carried), None)  # the first carried address that is not public
        assert forbidden_address(form) == (kind if named is None else f"{kind} embedding {named}"), form
    if int(v4) > 1:  # ::0.0.0.0 and ::0.0.0.1 are the unspecified and loopback addresses
        kind = "an IPv4-compatible address"
        assert forbidden_address(compatible(v4)) == (kind if inner is None else f"{kind} embedding {inner}")
