"""``OutboundHttp``: the one HTTP client for calls leaving Pinbase (automations.md §5.5).

STAND-IN on branch ``webhooks``: helper ``outbox`` owns this module (the shared contract of
issue #10); this copy implements the same names so the webhook sender can be tested before
that branch lands, and is replaced by ``outbox``'s at merge.

Resolve the host, refuse it unless every address is public or allow-listed, connect to the
vetted address keeping ``Host`` and TLS SNI (no DNS rebinding), never follow a redirect, read
at most ``max_response_bytes``, and ignore proxy settings from the environment.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import httpx

from pinbase.domain.errors import PinbaseError

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_REFUSED: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "this-network"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("fc00::/7", "private"),
    ("fe80::/10", "link-local"),
    ("ff00::/8", "multicast"),
)
REFUSED_NETWORKS = tuple((ipaddress.ip_network(cidr), rule) for cidr, rule in _REFUSED)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class BlockedTarget(PinbaseError):
    """The target resolves to a refused address; ``rule`` names the range."""

    def __init__(self, rule: str) -> None:
        super().__init__(f"blocked target: {rule}")
        self.rule = rule


class OutboundError(PinbaseError):
    """The request failed: name resolution, connection, TLS, timeout or protocol error."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundResponse:
    """An answer: status, headers, at most the cap of the body, and whether more came."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False


def _embedded_v4(address: IpAddress) -> IpAddress:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def refusal(address: IpAddress) -> str | None:
    """The rule that refuses ``address``, or None for a public one."""
    judged = _embedded_v4(address)
    for network, rule in REFUSED_NETWORKS:
        if judged.version == network.version and judged in network:
            return rule
    if judged.version == 4 and judged == ipaddress.IPv4Address("255.255.255.255"):
        return "broadcast"
    return None


class OutboundHttp:
    """Makes guarded HTTP requests."""

    def __init__(
        self,
        *,
        allowed_networks: Sequence[str] = (),
        allowed_hosts: Sequence[str] = (),
        connect_timeout_s: float = 5.0,
        total_timeout_s: float = 10.0,
        max_response_bytes: int = 16 * 1024,
    ) -> None:
        self._networks: tuple[IpNetwork, ...] = tuple(
            ipaddress.ip_network(n.strip(), strict=False) for n in allowed_networks if n.strip()
        )
        self._hosts = frozenset(h.strip().lower() for h in allowed_hosts if h.strip())
        self._total = total_timeout_s
        self._cap = max_response_bytes
        self._client = httpx.AsyncClient(
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(total_timeout_s, connect=connect_timeout_s),
        )

    async def close(self) -> None:
        """Release the connection pool."""
        await self._client.aclose()

    async def check_host(self, host: str, port: int) -> None:
        """Refuse ``host`` unless every address it resolves to is public or allow-listed.

        Raises:
            BlockedTarget: an address is refused and not allow-listed.
            OutboundError: the name does not resolve.
        """
        await self._vet(host, port)

    async def _vet(self, host: str, port: int) -> str:
        """Resolve ``host`` and return the vetted address to connect to.

        Raises:
            BlockedTarget: an address is refused and not allow-listed.
            OutboundError: the name does not resolve.
        """
        allowed_host = host.lower() in self._hosts
        try:
            literal: IpAddress | None = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
            except OSError as error:
                raise OutboundError(f"cannot resolve {host}: {error.strerror}") from None
            addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        if not addresses:
            raise OutboundError(f"cannot resolve {host}")
        for address in addresses:
            rule = refusal(address)
            if rule is None or allowed_host:
                continue
            if not any(address in network for network in self._networks):
                raise BlockedTarget(rule)
        return str(addresses[0])

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        content: bytes,
    ) -> OutboundResponse:
        """One request through the guard.

        Raises:
            BlockedTarget: the target is refused (the request was not sent).
            OutboundError: it failed on the way.
        """
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise OutboundError("only http and https URLs")
        host = parts.hostname
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        address = await self._vet(host, port)
        literal = f"[{address}]" if ":" in address else address
        netloc = literal if parts.port is None else f"{literal}:{parts.port}"
        pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        sent = {k: v for k, v in headers.items() if k.lower() != "host"}
        sent["Host"] = parts.netloc.rpartition("@")[2]
        request = self._client.build_request(
            method, pinned, headers=sent, content=content, extensions={"sni_hostname": host}
        )
        try:
            async with asyncio.timeout(self._total):
                response = await self._client.send(request, stream=True)
                try:
                    body = bytearray()
                    truncated = False
                    async for chunk in response.aiter_raw():
                        body.extend(chunk)
                        if len(body) > self._cap:
                            truncated = True
                            break
                finally:
                    await response.aclose()
        except (httpx.HTTPError, TimeoutError) as error:
            raise OutboundError(type(error).__name__) from None
        return OutboundResponse(
            status=response.status_code,
            headers=dict(response.headers.items()),
            body=bytes(body[: self._cap]),
            truncated=truncated,
        )
