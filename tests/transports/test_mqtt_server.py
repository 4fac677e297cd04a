"""The MQTT listener as ``pinbase serve`` runs it: the CLI option and a clean failure."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pinbase.testing import free_port, provision
from testspec import load_spec

pytestmark = pytest.mark.subprocess


def test_taken_mqtt_port_fails_the_start(tmp_path: Path) -> None:
    """An MQTT port already in use stops ``pinbase serve --mqtt-port`` with an error before any
    listener opens (every port is checked first)."""
    provision(load_spec(1), data_dir=tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "pinbase", "serve", "--data", str(tmp_path)]
        command += ["--http-port", str(free_port()), "--hardware-port", str(free_port())]
        command += ["--mqtt-port", str(port)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    output = (done.stdout + done.stderr).lower()
    assert "address already in use" in output
    assert "tcp.listening" not in output
