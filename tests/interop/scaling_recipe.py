"""docs/scaling.md's recipe on one machine: HAProxy run from deploy/haproxy.cfg as shipped, with
only its addresses, ports and file paths substituted, in front of nodes on loopback ports.

The shipped file names the nodes 10.0.0.11 and 10.0.0.12 (``node1``, ``node2``) on Pinbase's
default ports and binds HAProxy's public ports (80, 443, 8442, 8441, 1883, 8883) on every
address. ``render`` rewrites each ``bind`` to a free loopback port and each ``server`` line to
its node's loopback port (its health-check ``port`` too), and fails if a line it must rewrite is
missing, so the test and the shipped file cannot drift apart.
"""

import re
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pinbase.testing import free_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
HAPROXY_CFG = DEPLOY / "haproxy.cfg"
ENVIRONMENT = DEPLOY / "pinbase.env"
HAPROXY = Path("/usr/sbin/haproxy")
LOOPBACK = "127.0.0.1"

NODE_PORTS = {
    "http": 8080,
    "hardware": 8442,
    "hardware-tls": 8441,
    "mqtt": 1883,
    "mqtt-tls": 8883,
}
"""A node's listeners, by ``pinbase serve --<name>-port``, on the default ports the file uses."""
PUBLIC_PORTS = (80, 443, 8442, 8441, 1883, 8883)
"""HAProxy's public ports in the shipped file."""
SHIPPED_PATHS = {
    "pem": "/etc/haproxy/certs/pinbase.pem",
    "stats": "/run/haproxy/admin.sock",
}
"""Files the shipped file names that a test run replaces with its own."""
SHIPPED_MAXCONN = "maxconn 200000"
TEST_MAXCONN = "maxconn 2000"
NODE_ADDRESS = re.compile(r"^(\s*server (node\d) )10\.0\.0\.\d+:(\d+)$", re.MULTILINE)
BIND = re.compile(r"^(\s*bind ):(\d+)\b", re.MULTILINE)
READY_TIMEOUT_S = 15.0
KEPT_AS_SHIPPED = {"PINBASE_LOG_LEVEL", "PINBASE_PROXY_PROTOCOL"}
"""The variables of deploy/pinbase.env a test node takes as they are."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """One node's loopback ports, by ``NODE_PORTS`` name."""

    ports: Mapping[str, int]

    @classmethod
    def on_free_ports(cls) -> "Node":
        """A node whose every listener has a free port of its own."""
        return cls(ports={name: free_port() for name in NODE_PORTS})

    def environment(
        self,
        *,
        database_url: str,
        broker_url: str,
        tls: tuple[Path, Path],
        public_url: str,
        data_dir: Path,
    ) -> dict[str, str]:
        """deploy/pinbase.env as shipped, with this node's values put in: its loopback ports,
        the test's database, broker, certificate and key, HTTPS address and data folder, and one
        worker (a node killed with -9 must die as a crash does; a parent's workers would stop
        cleanly when it dies).

        Raises:
            AssertionError: the shipped file has a variable this does not know to replace.
        """
        values = {
            "PINBASE_DATABASE_URL": database_url,
            "PINBASE_BROKER_URL": broker_url,
            "PINBASE_HOST": LOOPBACK,
            "PINBASE_TLS_CERT": str(tls[0]),
            "PINBASE_TLS_KEY": str(tls[1]),
            "PINBASE_PUBLIC_URL": public_url,
            "PINBASE_DATA_DIR": str(data_dir),
            "PINBASE_WORKERS": "1",
        }
        for name, port in self.ports.items():
            values[f"PINBASE_{name.upper().replace('-', '_')}_PORT"] = str(port)
        shipped = dict(
            line.split("=", 1)
            for line in ENVIRONMENT.read_text().splitlines()
            if line and not line.startswith("#")
        )
        assert shipped.keys() - values.keys() == KEPT_AS_SHIPPED, shipped.keys() - values.keys()
        return {**shipped, **values}


def render(
    shipped: str,
    *,
    nodes: Mapping[str, Node],
    public: Mapping[int, int],
    pem: Path,
    stats: Path,
) -> str:
    """``shipped`` with ``nodes`` (by server name) and ``public`` (shipped port → port) put in.

    Raises:
        AssertionError: a server, port or path of the shipped file is not where it is expected.
    """
    node_ports = {shipped_port: name for name, shipped_port in NODE_PORTS.items()}

    def server_line(match: re.Match[str]) -> str:
        node = nodes[match.group(2)]
        port = node.ports[node_ports[int(match.group(3))]]
        return f"{match.group(1)}{LOOPBACK}:{port}"

    def bind_line(match: re.Match[str]) -> str:
        return f"{match.group(1)}{LOOPBACK}:{public[int(match.group(2))]}"

    text, servers = NODE_ADDRESS.subn(server_line, shipped)
    text, binds = BIND.subn(bind_line, text)
    assert servers == len(nodes) * 5, f"{servers} server lines rewritten"
    assert binds == len(PUBLIC_PORTS), f"{binds} bind lines rewritten"
    # The device backends check each node's HTTP port: the same for both nodes in the shipped
    # file, so it moves from `default-server` onto each server line here.
    health = f"check port {NODE_PORTS['http']} "
    assert text.count(health) == 4, "the device backends check the nodes' HTTP port"
    text = text.replace(health, "check ")
    for name, node in nodes.items():
        text = re.sub(
            rf"^(\s*server {name} {LOOPBACK}:(?!{node.ports['http']}$)\d+)$",
            rf"\1 port {node.ports['http']}",
            text,
            flags=re.MULTILINE,
        )
    for key, path in {"pem": pem, "stats": stats}.items():
        assert SHIPPED_PATHS[key] in text, f"{SHIPPED_PATHS[key]} is not in the shipped file"
        text = text.replace(SHIPPED_PATHS[key], str(path))
    # HAProxy raises its open-file limit to fit maxconn, which a test's container may refuse.
    assert SHIPPED_MAXCONN in text, f"{SHIPPED_MAXCONN} is not in the shipped file"
    return text.replace(SHIPPED_MAXCONN, TEST_MAXCONN)


@dataclass(frozen=True, slots=True, kw_only=True)
class Balancer:
    """A running HAProxy: its public ports (shipped port → loopback port)."""

    public: Mapping[int, int]
    log: Path

    def port(self, shipped: int) -> int:
        """The loopback port standing for the shipped public port ``shipped``."""
        return self.public[shipped]

    @property
    def base_url(self) -> str:
        """The plain HTTP front end."""
        return f"http://{LOOPBACK}:{self.public[80]}"

    @property
    def tls_url(self) -> str:
        """The HTTPS front end, by the certificate's name."""
        return f"https://localhost:{self.public[443]}"


def public_ports() -> dict[int, int]:
    """A free loopback port for each public port of the shipped file."""
    return {port: free_port() for port in PUBLIC_PORTS}


@contextmanager
def haproxy(
    nodes: Mapping[str, Node],
    *,
    folder: Path,
    cert: Path,
    key: Path,
    public: Mapping[int, int],
) -> Iterator[Balancer]:
    """HAProxy running deploy/haproxy.cfg (rendered into ``folder``) until the block exits,
    its public ports on ``public`` (from ``public_ports``)."""
    pem = folder / "pinbase.pem"
    pem.write_text(cert.read_text() + key.read_text())
    config = folder / "haproxy.cfg"
    config.write_text(
        render(
            HAPROXY_CFG.read_text(),
            nodes=nodes,
            public=public,
            pem=pem,
            stats=folder / "admin.sock",
        )
    )
    log = folder / "haproxy.log"
    check = subprocess.run(
        [str(HAPROXY), "-c", "-f", str(config)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    with log.open("w") as output:
        process = subprocess.Popen(
            [str(HAPROXY), "-db", "-f", str(config)], stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_listening(list(public.values()), process, log)
        yield Balancer(public=public, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_listening(ports: list[int], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    waiting = list(ports)
    while waiting:
        if process.poll() is not None:
            raise RuntimeError(f"haproxy exited ({process.returncode}):\n{log.read_text()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"haproxy is not listening on {waiting}:\n{log.read_text()}")
        try:
            with socket.create_connection((LOOPBACK, waiting[0]), timeout=1):
                waiting.pop(0)
        except OSError:
            time.sleep(0.05)
