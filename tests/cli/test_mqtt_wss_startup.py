"""``pinbase serve`` and the MQTT-over-secure-WebSocket port (docs/mqtt.md): checked with the
other ports before anything starts, and named in the one-line failure."""

import socket
from pathlib import Path

from pinbase.testing import free_port, run_cli
from tls_certs import self_signed

QUIET = ("--hardware-port", "0", "--mqtt-port", "0", "--mqtt-tls-port", "0")
"""No device listener but the one under test (``run_cli`` has no environment of its own)."""


def test_busy_wss_port_is_named(tmp_path: Path) -> None:
    """With a certificate, a busy 9443 (here a free port held by another socket) stops the start
    with one line naming --mqtt-wss-port, before the database opens."""
    cert, key = self_signed(tmp_path)
    data = tmp_path / "data"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = run_cli(
            "serve", "--data", str(data), *QUIET, "--http-port", str(free_port()),
            "--hardware-tls-port", "0", "--tls-cert", str(cert), "--tls-key", str(key),
            "--mqtt-wss-port", str(port), check=False,
        )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"pinbase: cannot listen on 127.0.0.1:{port} (address already in use); "
        "choose another --mqtt-wss-port or stop the other server"
    )
    assert not data.exists()
