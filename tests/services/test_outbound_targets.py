"""The SSRF guard's address rules (automations.md §5.5): every refused range, IPv6 forms that
carry an IPv4 address, and the operator's allow-list."""

import ipaddress

import pytest

from pinbase.services.reactions.targets import AllowList, embedded_ipv4, refusal


@pytest.mark.parametrize(
    ("address", "rule"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("fec0::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.255", "carrier-grade NAT"),
        ("0.0.0.0", "unspecified"),  # noqa: S104 (an address judged, never bound)
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("255.255.255.255", "broadcast"),
        ("240.0.0.1", "reserved"),
        ("198.18.0.1", "benchmarking"),
        ("198.19.255.255", "benchmarking"),
        # IPv6 forms judged by the IPv4 address they carry
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::10.0.0.1", "private"),
        ("64:ff9b:1::192.168.0.1", "private"),
        ("2002:7f00:1::", "loopback"),
        ("2002:a9fe:a9fe::1", "link-local"),
        ("::127.0.0.1", "loopback"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", None),  # Teredo, client 192.0.2.45: public
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo client 127.0.0.1
    ],
)
def test_each_refused_range_names_its_rule(address: str, rule: str | None) -> None:
    """An address in a refused range (directly or embedded in IPv6) breaks that range's rule."""
    assert refusal(ipaddress.ip_address(address)) == rule


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "8.8.8.8",
        "172.32.0.1",
        "100.128.0.1",
        "198.20.0.1",
        "2606:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::8.8.8.8",
        "2002:808:808::",
    ],
)
def test_public_addresses_pass(address: str) -> None:
    """Public addresses, also embedded in IPv6, break no rule."""
    assert refusal(ipaddress.ip_address(address)) is None


def test_only_ipv6_forms_carry_an_ipv4_address() -> None:
    """An IPv4 address or a plain IPv6 one carries no embedded IPv4 address."""
    assert embedded_ipv4(ipaddress.ip_address("10.0.0.1")) is None
    assert embedded_ipv4(ipaddress.ip_address("2606:4700::1111")) is None
    assert embedded_ipv4(ipaddress.ip_address("::ffff:10.0.0.1")) == ipaddress.ip_address(
        "10.0.0.1"
    )


def test_the_allow_list_takes_networks_and_host_names() -> None:
    """Allowed networks admit their addresses, also IPv4-mapped; host names match in any case,
    with or without the final dot."""
    allow = AllowList.parse(["127.0.0.1/32", " 192.168.1.7/24 "], ["Printer.LAN."])
    assert allow.allows(ipaddress.ip_address("127.0.0.1"))
    assert allow.allows(ipaddress.ip_address("::ffff:127.0.0.1"))
    assert allow.allows(ipaddress.ip_address("192.168.1.200"))
    assert not allow.allows(ipaddress.ip_address("127.0.0.2"))
    assert not allow.allows(ipaddress.ip_address("::1"))
    assert allow.allows_host("printer.lan")
    assert allow.allows_host("PRINTER.lan.")
    assert not allow.allows_host("lan")
    with pytest.raises(ValueError, match="does not appear to be"):
        AllowList.parse(["not-a-network"], [])
