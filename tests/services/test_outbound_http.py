"""The outbound HTTP client against a real local receiver (automations.md §5.5): refused targets
receive nothing, allow-listed ones work, redirects come back unfollowed, bodies are capped, a
silent receiver times out, and TLS keeps the URL's host name while connecting to the vetted
address."""

import socket
import ssl
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from outbound_receiver import Receiver, Reply, receiver

from pinbase.services.reactions.outbound import (
    MAX_RESPONSE_BYTES,
    BlockedTarget,
    OutboundError,
    OutboundHttp,
)
from tls_certs import self_signed

LOOPBACK = ("127.0.0.1/32",)


@pytest.fixture
async def local() -> AsyncIterator[Receiver]:
    """A plain HTTP receiver on 127.0.0.1."""
    async with receiver() as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[OutboundHttp]:
    """A client that may reach 127.0.0.1 (as tests and LAN integrations opt in)."""
    http = OutboundHttp(allowed_networks=LOOPBACK)
    yield http
    await http.close()


async def test_loopback_targets_are_refused_and_receive_nothing(local: Receiver) -> None:
    """Without the allow-list, 127.0.0.1, localhost and an IPv4-mapped loopback address are
    refused as ``loopback`` before any byte is sent."""
    http = OutboundHttp()
    try:
        for host in ("127.0.0.1", "localhost", "[::ffff:127.0.0.1]"):
            with pytest.raises(BlockedTarget, match="loopback") as refused:
                await http.request("GET", f"http://{host}:{local.port}/hook")
            assert refused.value.rule == "loopback"
        with pytest.raises(BlockedTarget):
            await http.check_host("localhost", 25)
    finally:
        await http.close()
    assert local.received == []


async def test_one_refused_address_refuses_the_host(local: Receiver) -> None:
    """A name resolving to a public and a private address is refused (the connection could be
    steered to either)."""

    async def both(host: str, port: int) -> Sequence[str]:
        return ["93.184.216.34", "10.0.0.7"]

    http = OutboundHttp(resolver=both)
    try:
        with pytest.raises(BlockedTarget, match="private"):
            await http.request("GET", "http://example.com/")
    finally:
        await http.close()


async def test_an_allowed_target_gets_the_request_as_sent(
    local: Receiver, client: OutboundHttp
) -> None:
    """An allow-listed receiver gets method, path, query, headers and body; the answer comes
    back with its status, headers and body."""
    local.reply = lambda _: Reply(status=201, headers=(("X-Reply", "yes"),), body=b"made")
    answer = await client.request(
        "POST",
        f"{local.url}/hook/7?a=1&b=%20",
        headers={"Content-Type": "application/json", "X-Pinbase-Delivery": "abc"},
        content=b'{"v":1}',
    )
    assert (answer.status, answer.body, answer.truncated) == (201, b"made", False)
    assert answer.headers["x-reply"] == "yes"
    [got] = local.received
    assert (got.method, got.target, got.body) == ("POST", "/hook/7?a=1&b=%20", b'{"v":1}')
    assert got.headers["host"] == f"127.0.0.1:{local.port}"
    assert got.headers["x-pinbase-delivery"] == "abc"
    assert got.headers["content-type"] == "application/json"


async def test_an_allowed_host_name_is_reached_through_its_address(local: Receiver) -> None:
    """A host on the host allow-list passes whatever it resolves to; the Host header keeps the
    name."""
    http = OutboundHttp(allowed_hosts=["LOCALHOST"])
    try:
        answer = await http.request("GET", f"http://localhost:{local.port}/")
    finally:
        await http.close()
    assert answer.status == 200
    assert local.received[0].headers["host"] == f"localhost:{local.port}"


async def test_a_redirect_is_returned_not_followed(local: Receiver, client: OutboundHttp) -> None:
    """A 302 comes back as the answer; its Location is never requested."""
    local.reply = lambda got: (
        Reply(status=302, headers=(("Location", f"{local.url}/elsewhere"),), body=b"")
        if got.target == "/start"
        else Reply()
    )
    answer = await client.request("GET", f"{local.url}/start")
    assert answer.status == 302
    assert answer.headers["location"] == f"{local.url}/elsewhere"
    assert [got.target for got in local.received] == ["/start"]


async def test_a_large_body_is_cut_at_the_cap(local: Receiver, client: OutboundHttp) -> None:
    """A 20 KB answer is read up to 16 KB and marked truncated; compression is not asked for."""
    local.reply = lambda _: Reply(body=b"x" * 20 * 1024)
    answer = await client.request("GET", local.url)
    assert (len(answer.body), answer.truncated) == (MAX_RESPONSE_BYTES, True)
    assert local.received[0].headers["accept-encoding"] == "identity"


async def test_a_silent_receiver_times_out(local: Receiver) -> None:
    """A receiver that never answers ends in OutboundError once the total timeout passes."""
    local.reply = lambda _: Reply(hold=True)
    http = OutboundHttp(allowed_networks=LOOPBACK, total_timeout_s=0.2)
    try:
        with pytest.raises(OutboundError, match=r"in time|within"):
            await http.request("GET", local.url)
    finally:
        await http.close()
    assert len(local.received) == 1


async def test_bad_urls_and_schemes_are_refused(client: OutboundHttp) -> None:
    """Only http and https are called; a malformed URL, one without a host, or a host that does
    not resolve is an OutboundError."""
    with pytest.raises(BlockedTarget, match="scheme") as refused:
        await client.request("GET", "ftp://127.0.0.1/file")
    assert refused.value.rule == "scheme"
    with pytest.raises(BlockedTarget, match="scheme"):
        await client.request("GET", "file:///etc/passwd")
    with pytest.raises(OutboundError, match="malformed"):
        await client.request("GET", "http://[::1/")
    with pytest.raises(OutboundError, match="no host"):
        await client.request("GET", "http:///path")

    async def unknown(host: str, port: int) -> Sequence[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    http = OutboundHttp(resolver=unknown)
    try:
        with pytest.raises(OutboundError, match=r"cannot resolve nowhere\.example"):
            await http.request("GET", "https://nowhere.example/")
    finally:
        await http.close()


async def test_a_refused_connection_is_an_outbound_error(client: OutboundHttp) -> None:
    """Nothing listening on the port: OutboundError, no crash."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(OutboundError, match="ConnectError"):
        await client.request("GET", f"http://127.0.0.1:{port}/")


async def test_tls_keeps_the_host_name_while_connecting_to_the_vetted_address(
    tmp_path: Path,
) -> None:
    """Over HTTPS the client connects to the address it vetted yet sends the URL's name as
    SNI and Host and checks the certificate against that name (it names no IP address)."""
    cert, key = self_signed(tmp_path, host="hooks.pinbase.test", address=None)
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    trusted = ssl.create_default_context(cafile=str(cert))
    resolved: list[str] = []

    async def to_loopback(host: str, port: int) -> Sequence[str]:
        resolved.append(host)
        return ["127.0.0.1"]

    async with receiver(tls=server_side) as tls:
        http = OutboundHttp(allowed_networks=LOOPBACK, verify=trusted, resolver=to_loopback)
        try:
            answer = await http.request("GET", f"https://hooks.pinbase.test:{tls.port}/x")
            assert answer.status == 200
            wrong = OutboundHttp(allowed_networks=LOOPBACK, verify=trusted)
            try:
                with pytest.raises(OutboundError):  # 127.0.0.1 is not on the certificate
                    await wrong.request("GET", f"https://127.0.0.1:{tls.port}/x")
            finally:
                await wrong.close()
        finally:
            await http.close()
    assert resolved == ["hooks.pinbase.test"]
    assert tls.server_names[0] == "hooks.pinbase.test"
    assert tls.received[0].headers["host"] == f"hooks.pinbase.test:{tls.port}"


def test_the_allowed_networks_must_be_networks() -> None:
    """A malformed allow-list entry is refused when the client is built."""
    with pytest.raises(ValueError, match="does not appear"):
        OutboundHttp(allowed_networks=["127.0.0.1/33"])


async def test_the_next_vetted_address_is_tried_when_one_refuses(local: Receiver) -> None:
    """A host whose first address takes no connection is reached on its next one."""

    async def two(host: str, port: int) -> Sequence[str]:
        return ["::1", "127.0.0.1"]

    http = OutboundHttp(allowed_networks=[*LOOPBACK, "::1/128"], resolver=two)
    try:
        answer = await http.request("GET", f"http://receiver.test:{local.port}/")
    finally:
        await http.close()
    assert answer.status == 200
    assert local.received[0].headers["host"] == f"receiver.test:{local.port}"


async def test_check_host_returns_the_address_to_connect_to(client: OutboundHttp) -> None:
    """For SMTP: an allowed literal or name comes back as the vetted address; no host is an
    error."""
    assert await client.check_host("127.0.0.1", 25) == "127.0.0.1"
    assert await client.check_host("[::ffff:127.0.0.1]", 25) == "::ffff:7f00:1"
    with pytest.raises(OutboundError, match="no host"):
        await client.check_host(" ", 25)
