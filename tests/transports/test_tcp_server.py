"""The device listeners as ``pinbase serve`` runs them: CLI options, PINBASE_* settings, TLS."""

import socket
import ssl
import struct
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from pinbase.testing import ServerProcess, free_port, provision
from testspec import load_spec
from tls_certs import self_signed

pytestmark = pytest.mark.subprocess

LOGIN_FAILURES = 2
LOGIN_DELAY_MAX_S = 0.05
MESSAGE_BURST = 20
"""Far above what the other tests of this module send, far below a flood."""


@dataclass
class Listening:
    """A server with both device listeners."""

    process: ServerProcess
    port: int
    tls_port: int
    cert: Path
    tokens: list[str]


@pytest.fixture(scope="module")
def listening(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Listening]:
    """``pinbase serve --hardware-port --hardware-tls-port --tls-cert --tls-key`` with the failed
    login rule and the message flood rule lowered through the environment."""
    data_dir = tmp_path_factory.mktemp("tcp-server")
    created = provision(load_spec(4), data_dir=data_dir)
    cert, key = self_signed(data_dir)
    port, tls_port = free_port(), free_port()
    options = ["--hardware-port", str(port), "--hardware-tls-port", str(tls_port)]
    options += ["--tls-cert", str(cert), "--tls-key", str(key)]
    env = {
        "PINBASE_LOGIN_FAILURES_LIMIT": str(LOGIN_FAILURES),
        "PINBASE_LOGIN_DELAY_MAX_S": str(LOGIN_DELAY_MAX_S),
        "PINBASE_DEVICE_MESSAGE_RATE": "0.5",
        "PINBASE_DEVICE_MESSAGE_BURST": str(MESSAGE_BURST),
    }
    with ServerProcess(data_dir, *options, env=env) as process:
        yield Listening(process, port, tls_port, cert, [d["token"] for d in created["devices"]])


def login_frame(token: str) -> bytes:
    """HW_LOGIN with id 1."""
    return struct.pack(">BHH", 29, 1, len(token)) + token.encode()


def exchange(sock: socket.socket, data: bytes) -> bytes:
    """Send ``data`` and read one 5-byte answer (empty when the server closed)."""
    sock.sendall(data)
    answer = b""
    while len(answer) < 5:
        chunk = sock.recv(5 - len(answer))
        if not chunk:
            break
        answer += chunk
    return answer


def test_plain_login(listening: Listening) -> None:
    """The plain port answers a login with 200 and the device shows as connected."""
    token = listening.tokens[0]
    with socket.create_connection(("127.0.0.1", listening.port), timeout=5) as sock:
        assert exchange(sock, login_frame(token)) == bytes.fromhex("00 00 01 00 c8")
        answer = httpx.get(
            f"{listening.process.base_url}/external/api/isHardwareConnected",
            params={"token": token},
        )
        assert answer.text == "true"


def test_message_flood_rule_comes_from_the_settings(listening: Listening) -> None:
    """PINBASE_DEVICE_MESSAGE_BURST pings are answered 200; the next one gets QUOTA_LIMIT (1)."""
    with socket.create_connection(("127.0.0.1", listening.port), timeout=5) as sock:
        assert exchange(sock, login_frame(listening.tokens[3]))[-2:] == b"\x00\xc8"
        for msg_id in range(2, 2 + MESSAGE_BURST):
            assert exchange(sock, struct.pack(">BHH", 6, msg_id, 0))[-2:] == b"\x00\xc8"
        refused = exchange(sock, struct.pack(">BHH", 6, 99, 0))
        assert refused == struct.pack(">BHH", 0, 99, 1)


def test_tls_login(listening: Listening) -> None:
    """The TLS port speaks the same protocol inside TLS, verified against the certificate."""
    context = ssl.create_default_context(cafile=str(listening.cert))
    with (
        socket.create_connection(("127.0.0.1", listening.tls_port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as sock,
    ):
        assert sock.version() in ("TLSv1.2", "TLSv1.3")
        assert exchange(sock, login_frame(listening.tokens[1])) == bytes.fromhex("00 00 01 00 c8")


def test_tls_below_1_2_is_refused(listening: Listening) -> None:
    """A client limited to TLS 1.1 cannot complete a handshake."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client offer TLS 1.1 at all
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    with (
        socket.create_connection(("127.0.0.1", listening.tls_port), timeout=5) as raw,
        pytest.raises(ssl.SSLError),
        context.wrap_socket(raw, server_hostname="localhost"),
    ):
        pass  # pragma: no cover - the handshake fails


def test_failed_logins_never_keep_a_valid_token_out(listening: Listening) -> None:
    """PINBASE_LOGIN_FAILURES_LIMIT=2, PINBASE_LOGIN_DELAY_MAX_S=0.05: twenty bad tokens from
    127.0.0.3 are each answered 9 (past the second one after a delay), then a good token from
    there logs in; the log names the first refusal only (the rest go into a summary)."""
    source = ("127.0.0.3", 0)
    for n in range(20):
        with socket.create_connection(
            ("127.0.0.1", listening.port), timeout=5, source_address=source
        ) as sock:
            assert exchange(sock, login_frame(f"{n:032}")) == bytes.fromhex("00 00 01 00 09")
    with socket.create_connection(
        ("127.0.0.1", listening.port), timeout=5, source_address=source
    ) as sock:
        assert exchange(sock, login_frame(listening.tokens[2])) == bytes.fromhex("00 00 01 00 c8")
    assert listening.process.log().count("tcp.login_refused") == 1


def test_sigterm_with_a_connected_device_stops_cleanly(tmp_path: Path) -> None:
    """A server stopped while a device is connected closes the link and exits with 0."""
    created = provision(load_spec(1), data_dir=tmp_path)
    port = free_port()
    process = ServerProcess(tmp_path, "--hardware-port", str(port)).start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            token = created["devices"][0]["token"]
            assert exchange(sock, login_frame(token)) == bytes.fromhex("00 00 01 00 c8")
            assert process.stop() == 0
            assert sock.recv(1) == b""
    finally:
        process.kill()
    assert "tcp.stopped" in process.log()


def test_taken_port_fails_the_start(tmp_path: Path) -> None:
    """A device port already in use stops ``pinbase serve`` with an error instead of serving."""
    provision(load_spec(1), data_dir=tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [
                *(sys.executable, "-m", "pinbase", "serve", "--data", str(tmp_path)),
                *("--http-port", str(free_port()), "--hardware-port", str(port)),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode != 0
    assert "address already in use" in (done.stdout + done.stderr).lower()
