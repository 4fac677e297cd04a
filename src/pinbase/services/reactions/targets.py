"""Which network addresses calls leaving Pinbase may reach (automations.md §5.5, the SSRF guard).

A webhook URL, an OAuth token URL, a Web Push endpoint or an SMTP host is typed by a user, so
without a guard it could aim the server at itself, its LAN or a cloud metadata service. Every
address a target resolves to is judged here; one refused address refuses the target, since the
connection could otherwise be steered to it (DNS answers change). An IPv6 address that embeds
an IPv4 one (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) is judged by the IPv4 address
too, so ``::ffff:127.0.0.1`` is loopback. An operator lets chosen networks or host names through
(``PINBASE_OUTBOUND_ALLOWED_NETWORKS``, ``PINBASE_OUTBOUND_ALLOWED_HOSTS``; docs/outbound.md).
"""

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

REFUSED_NETWORKS: tuple[tuple[str, str], ...] = (
    # (network, rule): the rule names the refusal in the delivery's error.
    ("127.0.0.0/8", "loopback"),
    ("::1/128", "loopback"),
    ("10.0.0.0/8", "private"),
    ("172.16.0.0/12", "private"),
    ("192.168.0.0/16", "private"),
    ("fc00::/7", "private"),
    ("fec0::/10", "private"),  # deprecated site-local (RFC 3879), still routed inside sites
    ("169.254.0.0/16", "link-local"),  # cloud metadata lives at 169.254.169.254
    ("fe80::/10", "link-local"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("0.0.0.0/8", "unspecified"),
    ("::/128", "unspecified"),
    ("224.0.0.0/4", "multicast"),
    ("ff00::/8", "multicast"),
    ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved"),
    ("198.18.0.0/15", "benchmarking"),
)
"""The ranges §5.5 refuses, with the rule each one breaks; the first match names it."""

_REFUSED = tuple((ipaddress.ip_network(net), rule) for net, rule in REFUSED_NETWORKS)

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
"""The well-known NAT64 prefix (RFC 6052) and the local-use one (RFC 8215): the IPv4 address
is the last 32 bits."""

_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
"""Deprecated IPv4-compatible addresses (RFC 4291 §2.5.5.1): ``::a.b.c.d``."""


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo client),
    or None."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in prefix for prefix in _NAT64) or (
        address in _IPV4_COMPATIBLE and int(address) > 1
    ):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: Address) -> str | None:
    """The rule ``address`` breaks (``loopback``, ``private``, …), or None if it is public.

    An IPv6 address carrying an IPv4 one breaks the rules of either.
    """
    for network, rule in _REFUSED:
        if address in network:
            return rule
    inner = embedded_ipv4(address)
    return None if inner is None else refusal(inner)


@dataclass(frozen=True, slots=True)
class AllowList:
    """What an operator lets through although the rules refuse it."""

    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, networks: Iterable[str], hosts: Iterable[str]) -> "AllowList":
        """From the settings' texts: CIDRs (host bits allowed) and host names (any case).

        Raises:
            ValueError: a network is not a CIDR.
        """
        return cls(
            networks=tuple(ipaddress.ip_network(net.strip(), strict=False) for net in networks),
            hosts=frozenset(host.strip().lower().rstrip(".") for host in hosts),
        )

    def allows_host(self, host: str) -> bool:
        """Whether the host name is allowed whatever it resolves to."""
        return host.lower().rstrip(".") in self.hosts

    def allows(self, address: Address) -> bool:
        """Whether the address lies in an allowed network (an IPv6 address carrying an IPv4
        one also when the IPv4 address does)."""
        inner = embedded_ipv4(address)
        return any(
            address in network or (inner is not None and inner in network)
            for network in self.networks
        )
