"""The one HTTP client for calls leaving Pinbase: webhooks, OAuth token URLs, Web Push endpoints.

Theory of operation (automations.md §5.5). A request names a URL a user typed, so before any
byte leaves: the scheme must be ``http`` or ``https``; the host is resolved with the loop's
``getaddrinfo`` and every address is judged (``targets.refusal``; one refused address refuses
the target unless the allow-list lets it through); then the connection goes to the vetted
address itself, with the URL's host kept in the ``Host`` header and as the TLS server name
(SNI and certificate check), so a second DNS answer cannot steer it elsewhere (DNS rebinding).
Redirects are returned, never followed. The body is read up to ``max_response_bytes`` (16 KB)
and the rest dropped. Connecting may take ``connect_timeout_s`` (5 s) and the whole exchange
``total_timeout_s`` (10 s). Proxy variables of the environment are ignored
(``trust_env=False``): a proxy would connect to the target itself, unchecked.

Connections are not kept alive: pooled by address, a connection opened for one host name could
carry a request for another name on the same address, past its own certificate check. The
calls are rate-limited per webhook (10 a minute, §4.7), so the handshakes cost little.

Nothing here logs a URL's path or query, a header or a body: they may hold secrets (§4.8).
"""

import asyncio
import ipaddress
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import httpx

from pinbase.services.reactions.targets import Address, AllowList, refusal

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 16 * 1024
"""How much of a response body is read (§4.7: webhooks.max_response_bytes); the rest is dropped
and the response marked ``truncated``."""

CONNECT_TIMEOUT_S = 5.0
TOTAL_TIMEOUT_S = 10.0
"""The defaults of ``PINBASE_OUTBOUND_CONNECT_TIMEOUT_S`` and ``…_TOTAL_TIMEOUT_S`` (§4.7)."""

SCHEMES = {"http": 80, "https": 443}
"""The schemes a call may use, with their default ports (§5.5)."""

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Resolves a host name and port to address texts."""


class BlockedTarget(Exception):
    """The target is refused by the SSRF guard; ``rule`` names why (``loopback``, ``scheme``…).

    The message names the rule and the host, never the path, query or credentials.
    """

    def __init__(self, rule: str, message: str | None = None) -> None:
        super().__init__(message or f"refused target: {rule}")
        self.rule = rule


class OutboundError(Exception):
    """The call could not be made or completed: bad URL, DNS, connection, TLS, timeout."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundResponse:
    """What came back: ``headers`` with lower-case names (repeated ones joined by ``, ``), and at
    most ``max_response_bytes`` of the body, ``truncated`` when there was more."""

    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool


async def resolve(host: str, port: int) -> list[str]:
    """The addresses of ``host`` by the loop's ``getaddrinfo``, in its order, without repeats.

    Raises:
        OSError: the name does not resolve.
    """
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class OutboundHttp:
    """Makes HTTP calls to user-given URLs behind the SSRF guard."""

    def __init__(
        self,
        *,
        allowed_networks: Iterable[str] = (),
        allowed_hosts: Iterable[str] = (),
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        total_timeout_s: float = TOTAL_TIMEOUT_S,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        verify: ssl.SSLContext | bool = True,
        resolver: Resolver = resolve,
    ) -> None:
        """``verify`` is httpx's: True checks certificates against the bundled CA store (a test
        passes its own CA's context). ``resolver`` is for tests that need a name resolved."""
        self._allow = AllowList.parse(allowed_networks, allowed_hosts)
        self._total_timeout_s = total_timeout_s
        self._max_response_bytes = max_response_bytes
        self._resolve = resolver
        self._client = httpx.AsyncClient(
            trust_env=False,
            follow_redirects=False,
            verify=verify,
            timeout=httpx.Timeout(total_timeout_s, connect=connect_timeout_s),
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    async def close(self) -> None:
        """Close the client's connections."""
        await self._client.aclose()

    async def check_host(self, host: str, port: int) -> str:
        """Vet a host for a connection Pinbase makes itself (SMTP) and return the address to
        connect to, so the caller pins it as ``request`` does.

        Raises:
            BlockedTarget: an address of the host breaks a rule of §5.5.
            OutboundError: the host does not resolve.
        """
        return (await self._vet(host, port))[0]

    async def _vet(self, host: str, port: int) -> list[str]:
        """Every address of ``host``, in resolver order, once all of them passed the guard."""
        host = host.strip().lower().rstrip(".")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not host:
            raise OutboundError("no host given")
        try:
            literal: Address | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses: list[Address] = [literal]
        else:
            try:
                found = await self._resolve(host, port)
            except (OSError, UnicodeError) as error:
                raise OutboundError(f"cannot resolve {host}: {_reason(error)}") from None
            addresses = [ipaddress.ip_address(text.partition("%")[0]) for text in found]
            if not addresses:
                raise OutboundError(f"{host} has no address")
        if not self._allow.allows_host(host):
            for address in addresses:
                rule = refusal(address)
                if rule is not None and not self._allow.allows(address):
                    logger.info("outbound.blocked host=%s rule=%s", host, rule)
                    raise BlockedTarget(
                        rule,
                        f"{host} resolves to {address}, a {rule} address: refused "
                        "(PINBASE_OUTBOUND_ALLOWED_NETWORKS can allow it)",
                    )
        return [str(address) for address in addresses]

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        content: bytes = b"",
    ) -> OutboundResponse:
        """Make one call and read its answer (any status; redirects are answers too).

        Raises:
            BlockedTarget: the scheme is not http(s), or an address of the host breaks a rule.
            OutboundError: the URL is malformed, the host does not resolve, or connecting,
                TLS, sending or reading failed or timed out.
        """
        try:
            target = httpx.URL(url)
            host = target.raw_host.decode("ascii")
        except (httpx.InvalidURL, UnicodeError, TypeError):
            raise OutboundError("malformed URL") from None
        if target.scheme not in SCHEMES:
            raise BlockedTarget(
                "scheme", f"scheme {target.scheme or '(none)'!r}: use http or https"
            )
        if not host:
            raise OutboundError("the URL names no host")
        port = target.port or SCHEMES[target.scheme]
        sent = httpx.Headers(headers)
        sent["Host"] = target.netloc.decode("ascii")
        # Compressed bodies are refused: 16 KB of gzip can inflate to gigabytes in memory.
        sent["Accept-Encoding"] = "identity"
        extensions = {"sni_hostname": host} if target.scheme == "https" else {}
        try:
            async with asyncio.timeout(self._total_timeout_s):
                response = await self._connect(
                    method,
                    target,
                    await self._vet(host, port),
                    headers=sent,
                    content=content,
                    extensions=extensions,
                )
                try:
                    body, truncated = await self._read(response)
                finally:
                    await response.aclose()
        except TimeoutError:
            raise OutboundError(f"no complete answer within {self._total_timeout_s:g} s") from None
        except httpx.TimeoutException as error:
            raise OutboundError(f"{_TIMEOUTS.get(type(error), 'timed out')}") from None
        except httpx.HTTPError as error:
            raise OutboundError(f"{type(error).__name__}: {_reason(error)}") from None
        except (OSError, ssl.SSLError) as error:
            raise OutboundError(f"{type(error).__name__}: {_reason(error)}") from None
        return OutboundResponse(
            status=response.status_code,
            headers=dict(response.headers.items()),
            body=body,
            truncated=truncated,
        )

    async def _connect(
        self,
        method: str,
        target: httpx.URL,
        addresses: list[str],
        *,
        headers: httpx.Headers,
        content: bytes,
        extensions: dict[str, str],
    ) -> httpx.Response:
        """Send the request to the first vetted address that takes a connection (a host may
        list an IPv6 address it cannot be reached on first), and return the streamed answer."""
        for address in addresses[:-1]:
            try:
                return await self._send(
                    method, target, address, headers=headers, content=content, ext=extensions
                )
            except httpx.ConnectError:
                continue
        return await self._send(
            method, target, addresses[-1], headers=headers, content=content, ext=extensions
        )

    async def _send(
        self,
        method: str,
        target: httpx.URL,
        address: str,
        *,
        headers: httpx.Headers,
        content: bytes,
        ext: dict[str, str],
    ) -> httpx.Response:
        request = self._client.build_request(
            method,
            target.copy_with(host=address),
            headers=headers,
            content=content or None,
            extensions=ext,
        )
        return await self._client.send(request, stream=True)

    async def _read(self, response: httpx.Response) -> tuple[bytes, bool]:
        """At most ``max_response_bytes`` of the body, and whether more was there."""
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_raw():
            chunks.append(chunk)
            size += len(chunk)
            if size > self._max_response_bytes:
                return b"".join(chunks)[: self._max_response_bytes], True
        return b"".join(chunks), False


_TIMEOUTS = {
    httpx.ConnectTimeout: "could not connect in time",
    httpx.ReadTimeout: "no answer in time",
    httpx.WriteTimeout: "could not send in time",
    httpx.PoolTimeout: "no connection free in time",
}


def _reason(error: BaseException) -> str:
    """A short reason for the log and the delivery's error, without the URL: httpx names the
    request URL in some messages, and a query may hold a token."""
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:200]
