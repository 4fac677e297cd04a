"""Device ports behind a balancer that speaks the PROXY protocol (``PINBASE_PROXY_PROTOCOL``,
docs/scaling.md "Client addresses"), against a real ``pinbase serve``: a binary device (plain
and TLS) and an MQTT device log in after a version 2 or version 1 header, and the server counts
and logs each login under the address the header names; a connection without a header, or with
a broken one, is closed unanswered. HAProxy itself sends it in tests/interop/test_scaling_recipe.py.
"""

import ipaddress
import socket
import ssl
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from pinbase.testing import ServerProcess, free_port, provision
from testspec import UNTHROTTLED, load_spec
from tls_certs import self_signed

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
HW_LOGIN, RESPONSE = 29, 0
TIMEOUT_S = 10.0


def v2_header(source: str, port: int) -> bytes:
    """HAProxy's ``send-proxy-v2`` header for a TCP over IPv4 connection from ``source``."""
    block = (
        ipaddress.IPv4Address(source).packed
        + ipaddress.IPv4Address("127.0.0.1").packed
        + struct.pack(">HH", 40000, port)
    )
    return V2_SIGNATURE + bytes([0x21, 0x11]) + struct.pack(">H", len(block)) + block


def v1_header(source: str, port: int) -> bytes:
    """HAProxy's ``send-proxy`` line."""
    return f"PROXY TCP4 {source} 127.0.0.1 40000 {port}\r\n".encode()


def binary_login(token: str) -> bytes:
    """The C++ library's login frame (device-protocols.md §1)."""
    body = token.encode()
    return struct.pack(">BHH", HW_LOGIN, 1, len(body)) + body


def mqtt_connect(token: str) -> bytes:
    """An MQTT 3.1.1 CONNECT as Blynk's MQTT clients send it: user ``device``, the token."""
    client, user = b"pinbase-proxy-test", b"device"
    variable = b"\x00\x04MQTT\x04\xc2\x00\x2d"
    payload = b"".join(struct.pack(">H", len(p)) + p for p in (client, user, token.encode()))
    remaining = len(variable) + len(payload)
    assert remaining < 128
    return bytes([0x10, remaining]) + variable + payload


def read_exactly(sock: socket.socket | ssl.SSLSocket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def closed_unanswered(port: int, sent: bytes) -> bool:
    """Whether the server closes a connection that sends ``sent`` without answering a byte (a
    reset counts: the server closed with bytes unread)."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
        sock.sendall(sent)
        try:
            return read_exactly(sock, 5) == b""
        except ConnectionResetError:
            return True


@dataclass
class Site:
    server: ServerProcess
    ports: dict[str, int]
    tokens: Iterator[str]
    tls: ssl.SSLContext


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A server whose device ports expect a PROXY header, with its binary TLS port."""
    data_dir = tmp_path_factory.mktemp("proxied")
    created: dict[str, Any] = provision(load_spec(10), data_dir=data_dir)
    cert, key = self_signed(data_dir)
    ports = {"hardware": free_port(), "hardware-tls": free_port(), "mqtt": free_port()}
    options = [f"--{name}-port={port}" for name, port in ports.items()]
    options += [f"--tls-cert={cert}", f"--tls-key={key}"]
    env = {**UNTHROTTLED, "PINBASE_PROXY_PROTOCOL": "true"}
    with ServerProcess(data_dir, *options, env=env) as server:
        context = ssl.create_default_context(cafile=str(cert))
        yield Site(server, ports, iter(d["token"] for d in created["devices"]), context)


def logged_in(site: Site, address: str, kind: str) -> bool:
    """Whether the server logged a login of ``kind`` (``tcp.login``, ``mqtt.connect``) from
    ``address``, waiting a little for the log line."""
    event = "tcp.login " if kind == "tcp" else "mqtt.connect "
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        if any(
            event in line and f"address={address}" in line
            for line in site.server.log().splitlines()
        ):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("header", [v2_header, v1_header], ids=["v2", "v1"])
def test_a_binary_device_logs_in_under_the_address_the_header_names(
    site: Site, header: Any
) -> None:
    """Header, then the login in the same segment, as HAProxy forwards them: answered 200, and
    the login is the named address's."""
    port = site.ports["hardware"]
    source = "203.0.113.7" if header is v2_header else "198.51.100.9"
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
        sock.sendall(header(source, port) + binary_login(next(site.tokens)))
        assert read_exactly(sock, 5) == struct.pack(">BHH", RESPONSE, 1, 200)
    assert logged_in(site, source, "tcp")


def test_a_tls_device_starts_its_handshake_right_after_the_header(site: Site) -> None:
    """The header in clear, then TLS on the same socket: the handshake and the login succeed,
    under the named address."""
    port = site.ports["hardware-tls"]
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
    raw.sendall(v2_header("192.0.2.44", port))
    with site.tls.wrap_socket(raw, server_hostname="localhost") as sock:
        sock.sendall(binary_login(next(site.tokens)))
        assert read_exactly(sock, 5) == struct.pack(">BHH", RESPONSE, 1, 200)
    assert logged_in(site, "192.0.2.44", "tcp")


def test_an_mqtt_device_connects_under_the_address_the_header_names(site: Site) -> None:
    """CONNECT after a v2 header: CONNACK accepted."""
    port = site.ports["mqtt"]
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
        sock.sendall(v2_header("203.0.113.99", port) + mqtt_connect(next(site.tokens)))
        assert read_exactly(sock, 4) == b"\x20\x02\x00\x00"
    assert logged_in(site, "203.0.113.99", "mqtt")


@pytest.mark.parametrize(
    "first",
    [b"", b"GET / HTTP/1.1\r\n\r\n", b"PROXY TCP9 x y 1 2\r\n"],
    ids=["none", "http", "bad"],
)
def test_a_connection_without_a_good_header_is_closed_unanswered(site: Site, first: bytes) -> None:
    """A login sent straight (no header), a stray HTTP request or a broken header: the server
    closes the connection without a byte."""
    port = site.ports["hardware"]
    assert closed_unanswered(port, first + binary_login(next(site.tokens)))


def test_a_header_split_over_two_segments_is_waited_for(site: Site) -> None:
    """Half a v1 line, a pause, the rest and the login: read whole, then the login answers."""
    port = site.ports["hardware"]
    header = v1_header("198.51.100.23", port)
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(header[:20])
        time.sleep(0.2)
        sock.sendall(header[20:] + binary_login(next(site.tokens)))
        assert read_exactly(sock, 5) == struct.pack(">BHH", RESPONSE, 1, 200)
    assert logged_in(site, "198.51.100.23", "tcp")


def test_a_failed_tls_handshake_after_the_header_closes_only_that_connection(site: Site) -> None:
    """Plain bytes where TLS is expected: that connection ends, and the next one logs in."""
    port = site.ports["hardware-tls"]
    assert closed_unanswered(port, v2_header("192.0.2.50", port) + binary_login(next(site.tokens)))
    test_a_tls_device_starts_its_handshake_right_after_the_header(site)
