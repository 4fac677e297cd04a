"""A Blynk.Edgent device in its access-point mode, for ``pinbase edgent provision`` tests.

A real HTTP server on loopback implements the device's API of device-lifecycle.md §2.3: any
method, parameters from the query string or an urlencoded form body; ``/``, ``/board_info.json``,
``/wifi_scan.json``, ``/config`` (500 ``Configuration invalid`` unless the token has exactly 32
characters and the SSID is not empty), ``/reset``, ``/reboot`` and ESP32's ``/update``.

After a valid ``/config`` it behaves as §2.4 describes: the access point closes (the listener
really stops), the device "joins" the Wi-Fi network (only the networks of ``joinable`` with
their password succeed: 701 otherwise), then connects to ``host:port_ssl`` over TLS as a device
with the token it received, through PyPI ``blynklib`` in a process of its own (the interop
client ``tests/interop/clients/blynklib_device.py``), and on its first successful login sends
INTERNAL ``meta set Hotspot Name <AP SSID>``. A failed attempt sets ``last_error`` (701 Wi-Fi,
702 server unreachable, 703 token refused) and reopens the access point on the same port.
"""

import json
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

CLIENT = Path(__file__).parents[1] / "interop" / "clients" / "blynklib_device.py"
DEFAULT_HOST = "blynk.cloud"
DEFAULT_PORT = 443
MAX_HOST_CHARS = 33  # ConfigStore.h: longer hosts are cut (§2.4)
CONNECT_TIMEOUT_S = 10
"""How long the device tries the server before giving up (Edgent: 50 s, §2.4)."""

FORM = """<!DOCTYPE html><html><body><form action="/config" method="post">
<input name="ssid"><input name="pass" type="password">
<input name="blynk" pattern="[-_a-zA-Z0-9]{32}"><input name="host" value="blynk.cloud">
<input name="port_ssl" value="443"><button>Apply</button></form></body></html>"""
UPDATE_FORM = """<!DOCTYPE html><html><body><form method="post" enctype="multipart/form-data">
<input type="file" name="update"><button>Update</button></form></body></html>"""


@dataclass
class Configured:
    """What a valid ``/config`` stored, as the device keeps it (host cut to 33 characters)."""

    ssid: str
    password: str
    token: str
    host: str
    port: int
    saved: bool
    query: dict[str, list[str]]


@dataclass
class AccessPoint:
    """The device: its board info, its surroundings and what it was sent.

    Use as a context manager; ``url`` is the access point's base URL while it is open.
    """

    tmpl_id: str
    board: str = "Garage Door"
    fw_type: str = ""
    fw_ver: str = "0.1.0"
    last_error: int = 0
    token_chars: int = 32
    """What this firmware's ``/config`` requires (Edgent: 32)."""
    networks: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {
                "ssid": "Neighbours",
                "bssid": "aa:bb:cc:00:00:02",
                "rssi": -80,
                "sec": "WPA2",
                "ch": 11,
            },
            {"ssid": "HomeNet", "bssid": "aa:bb:cc:00:00:01", "rssi": -52, "sec": "WPA2", "ch": 6},
            {"ssid": "Cafe", "bssid": "aa:bb:cc:00:00:03", "rssi": -70, "sec": "OPEN", "ch": 1},
        ]
    )
    joinable: Mapping[str, str] = field(default_factory=lambda: {"HomeNet": "hunter22", "Cafe": ""})
    """The Wi-Fi networks the device can join, with their passwords."""
    ca_file: Path | None = None
    """The certificate the device trusts for the server's TLS (Edgent bundles public roots)."""
    log_dir: Path | None = None
    leave_delay_s: float = 0.2
    """Edgent answers ``/config`` and leaves the access point about 1 s later (§2.3)."""

    requests: list[tuple[str, str]] = field(default_factory=list)
    """Every ``(method, path)`` the access point answered, in order."""
    configs: list[Configured] = field(default_factory=list)
    state: str = "WAIT_CONFIG"
    hotspot_reported: bool = False
    port: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._serving: threading.Thread | None = None
        self._device_thread: threading.Thread | None = None
        self._client: subprocess.Popen[str] | None = None
        self._stopping = threading.Event()
        self.ssid = f"Blynk {self.board}-4W8N"

    @property
    def url(self) -> str:
        """The access point's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stopping.set()
        self._close()
        if self._device_thread is not None:
            self._device_thread.join(timeout=30)
        self._end_client()

    # --- the access point -----------------------------------------------------------------

    def _open(self) -> None:
        """Open (or reopen, on the same port) the access point's HTTP server."""
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        self._server = server
        self._serving = threading.Thread(target=server.serve_forever, daemon=True)
        self._serving.start()

    def _close(self) -> None:
        """Stop answering: the access point is gone."""
        server, serving = self._server, self._serving
        self._server = self._serving = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if serving is not None:
            serving.join(timeout=10)

    def answer(self, method: str, path: str, params: Mapping[str, str]) -> tuple[int, str, str]:
        """``(status, content type, body)`` of one request to the device's API (§2.3)."""
        with self._lock:
            self.requests.append((method, path))
        if path == "/":
            return 200, "text/html", FORM
        if path == "/board_info.json":
            self.state = "CONFIGURING"
            return 200, "application/json", json.dumps(self.board_info())
        if path == "/wifi_scan.json":
            ordered = sorted(self.networks, key=lambda n: -int(n["rssi"]))[:15]
            return 200, "application/json", json.dumps(ordered)
        if path == "/config":
            return self._configure(params)
        if path == "/reset":
            self.last_error = 0
            self.configs.clear()
            self.state = "WAIT_CONFIG"
            return 200, "application/json", _status("ok", "Configuration reset")
        if path == "/update":
            if method == "POST":
                return 200, "text/plain", "OK"
            return 200, "text/html", UPDATE_FORM
        return 404, "text/plain", f"Not found: {path}"

    def board_info(self) -> dict[str, Any]:
        """``/board_info.json`` of an ESP32 (§2.3)."""
        return {
            "board": self.board,
            "tmpl_id": self.tmpl_id,
            "fw_type": self.fw_type or self.tmpl_id,
            "fw_ver": self.fw_ver,
            "ssid": self.ssid,
            "bssid": "24:6f:28:00:00:01",
            "mac": "24:6f:28:00:00:00",
            "last_error": self.last_error,
            "wifi_scan": True,
            "static_ip": True,
        }

    def _configure(self, params: Mapping[str, str]) -> tuple[int, str, str]:
        ssid = params.get("ssidManual") or params.get("ssid", "")
        token = params.get("blynk", "")
        if len(token) != self.token_chars or not ssid:
            return 500, "application/json", _status("error", "Configuration invalid")
        port_text = params.get("port_ssl", "")
        configured = Configured(
            ssid=ssid,
            password=params.get("pass", ""),
            token=token,
            host=(params.get("host") or DEFAULT_HOST)[:MAX_HOST_CHARS],
            port=int(port_text) if port_text.isdecimal() else DEFAULT_PORT,
            saved=params.get("save") == "1",
            query={key: [value] for key, value in params.items()},
        )
        self.configs.append(configured)
        self._device_thread = threading.Thread(target=self._run_device, args=(configured,))
        self._device_thread.start()
        message = "Configuration saved" if configured.saved else "Trying to connect..."
        return 200, "application/json", _status("ok", message)

    # --- the device after /config (§2.4) ------------------------------------------------------

    def _run_device(self, configured: Configured) -> None:
        if self._stopping.wait(self.leave_delay_s):
            return
        self._close()
        self.state = "CONNECTING_NET"
        if self.joinable.get(configured.ssid) != configured.password:
            self._fail(701)
            return
        self.state = "CONNECTING_CLOUD"
        error = self._connect(configured)
        if error:
            self._fail(error)
            return
        self.state = "RUNNING"
        self.last_error = 0

    def _connect(self, configured: Configured) -> int:
        """Log in with blynklib over TLS; 0 when logged in, else the ``last_error`` code."""
        log = (self.log_dir or Path(".")) / f"edgent-device-{self.port}.log"
        command = [sys.executable, "-u", str(CLIENT), f"--token={configured.token}"]
        command += [f"--server={configured.host}", f"--port={configured.port}"]
        command += [f"--connect-timeout={CONNECT_TIMEOUT_S}"]
        if self.ca_file is not None:
            command += [f"--ssl-cert={self.ca_file}"]
        with log.open("w") as stderr:
            client = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True
            )
        self._client = client
        assert client.stdout is not None
        assert client.stdin is not None
        for line in client.stdout:
            if not line.startswith("{"):
                continue  # blynklib's banner
            event = json.loads(line)["event"]
            if event == "connected":
                meta = ["meta", "set", "Hotspot Name", self.ssid]
                client.stdin.write(json.dumps({"op": "internal", "args": meta}) + "\n")
                client.stdin.flush()
            elif event == "done":
                self.hotspot_reported = True
                return 0
            elif event == "connect_failed":
                break
        self._end_client()
        return 703 if "Invalid Auth Token" in log.read_text() else 702

    def _fail(self, code: int) -> None:
        """An attempt without ``save=1`` failed: back to the access point (§2.4)."""
        self.last_error = code
        self.state = "WAIT_CONFIG"
        if not self._stopping.is_set():
            self._open()

    def _end_client(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if client.stdin is not None:
            client.stdin.close()
        try:
            client.wait(timeout=10)
        except subprocess.TimeoutExpired:
            client.kill()
            client.wait()
        if client.stdout is not None:
            client.stdout.close()


def _status(status: str, message: str) -> str:
    return json.dumps({"status": status, "msg": message})


def _handler(access_point: AccessPoint) -> type[BaseHTTPRequestHandler]:
    """The request handler class of one access point."""

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            split = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
            length = int(self.headers.get("Content-Length") or 0)
            if length and self.headers.get_content_type() == "application/x-www-form-urlencoded":
                body = self.rfile.read(length).decode()
                params.update({k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()})
            elif length:
                self.rfile.read(length)
            if split.path == "/reboot":
                access_point.requests.append((self.command, split.path))
                self.close_connection = True  # restarts at once, answers nothing
                return
            status, content_type, text = access_point.answer(self.command, split.path, params)
            body_bytes = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body_bytes)))
            self.end_headers()
            self.wfile.write(body_bytes)

        do_GET = do_POST = do_PUT = do_DELETE = _any

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read ``requests``."""

    return Handler
