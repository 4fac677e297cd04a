"""Blynk's HTML5 sample's way of connecting (device-lifecycle.md §3): MQTT.js in headless
Chromium over ``ws://…/mqtt`` of the HTTP port and ``wss://…:<mqtt_wss_port>/mqtt``, with the
sample's options.

The page and MQTT.js (vendored, ``vendor/README.md``) come from a local HTTP server of the test,
another origin than Pinbase's, as a page on a user's own site would (Chromium refuses a public
page's connection to a loopback address, so the page is local too). Pinbase allows that page's
origin only (``PINBASE_MQTT_WEBSOCKET_ORIGINS``): the same page reached by another name
(``localhost``, another origin) is refused.
"""

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from pinbase.testing import ServerProcess, free_port, provision
from testspec import UNTHROTTLED, load_spec
from tls_certs import self_signed

MQTT_JS = Path(__file__).parent / "vendor" / "mqtt-5.16.0" / "mqtt.min.js"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>HTML5 sample</title>
<script src="/mqtt.min.js"></script></head>
<body><p id="status">Connecting</p>
<script>
// The options of Blynk's HTML5_WebSocket sample (samples: WebSocket-Blynk-MQTT.html).
const settings = new URLSearchParams(location.hash.slice(1));
window.log = {messages: [], errors: [], connected: false, published: false, closed: 0};
const client = mqtt.connect(settings.get("url"), {
  username: "device",
  password: settings.get("token"),
  keepalive: 45,
  clean: true,
  connectTimeout: 5000,
  reconnectPeriod: 0,
});
client.on("connect", () => {
  window.log.connected = true;
  document.getElementById("status").textContent = "Connected";
  client.subscribe("downlink/#", {qos: 0}, () => {
    client.publish("ds/" + settings.get("name"), settings.get("value"), {qos: 1}, () => {
      window.log.published = true;
    });
  });
});
client.on("message", (topic, payload) => {
  window.log.messages.push([topic, payload.toString()]);
});
client.on("error", (error) => {
  const text = error.message.includes("password") ? "Invalid Auth Token" : error.message;
  window.log.errors.push(text);
});
client.on("close", () => { window.log.closed += 1; });
</script></body></html>
"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not logged."""


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The port of a local HTTP server serving the sample page and MQTT.js."""
    folder = tmp_path_factory.mktemp("sample")
    (folder / "index.html").write_text(PAGE)
    shutil.copy(MQTT_JS, folder / "mqtt.min.js")
    handler = partial(_QuietHandler, directory=str(folder))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as http:
        thread = threading.Thread(target=http.serve_forever, daemon=True)
        thread.start()
        yield http.server_address[1]
        http.shutdown()
        thread.join(timeout=5)


@dataclass(frozen=True)
class Served:
    """The server, its secure WebSocket port and its devices."""

    process: ServerProcess
    wss_port: int
    devices: list[dict[str, Any]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pages: int) -> Iterator[Served]:
    """``pinbase serve`` with a few devices and a throwaway certificate for ``localhost`` (the
    secure WebSocket port open), MQTT over WebSocket allowed from the page's origin
    ``http://127.0.0.1:<pages>`` only."""
    data_dir = tmp_path_factory.mktemp("mqttjs")
    created = provision(load_spec(4), data_dir=data_dir)
    cert, key = self_signed(data_dir)
    wss_port = free_port()
    options = [f"--tls-cert={cert}", f"--tls-key={key}", "--hardware-tls-port=0"]
    options.append(f"--mqtt-wss-port={wss_port}")
    env = {"PINBASE_MQTT_WEBSOCKET_ORIGINS": f"http://127.0.0.1:{pages}", **UNTHROTTLED}
    with ServerProcess(data_dir, *options, env=env) as process:
        yield Served(process, wss_port, created["devices"])


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser context; it accepts the throwaway certificate, as a browser given it
    would."""
    context = browser.new_context(ignore_https_errors=True)
    yield context
    context.close()


def open_sample(
    context: BrowserContext,
    served: Served,
    token: str,
    *,
    origin: str,
    name: str = "Temperature",
    value: str = "24.5",
    secure: bool = False,
) -> Page:
    """The sample page from ``origin``, connecting to the server's ``/mqtt`` with ``token``
    (over ``wss://localhost:<wss port>`` with ``secure``)."""
    url = (
        f"wss://localhost:{served.wss_port}/mqtt"
        if secure
        else f"ws://127.0.0.1:{served.process.port}/mqtt"
    )
    page = context.new_page()
    page.goto(f"{origin}/index.html#url={url}&token={token}&name={name}&value={value}")
    return page


@pytest.mark.parametrize("secure", [False, True], ids=["ws", "wss"])
def test_mqttjs_publish_reaches_the_http_api_and_downlinks_reach_the_page(
    context: BrowserContext, server: Served, pages: int, secure: bool
) -> None:
    """MQTT.js connects with username ``device`` and the token (over ``ws://`` on the HTTP port
    and ``wss://`` on the secure WebSocket port), subscribes ``downlink/#`` and publishes
    ``ds/Temperature``: GET /external/api/get returns it; an API write arrives on
    ``downlink/ds/Counter``."""
    process = server.process
    token = server.devices[2 if secure else 0]["token"]
    origin = f"http://127.0.0.1:{pages}"
    page = open_sample(context, server, token, origin=origin, secure=secure)
    page.wait_for_function("window.log.published", timeout=10_000)
    assert page.get_by_text("Connected").is_visible()
    with httpx.Client(base_url=process.base_url, timeout=10) as api:
        assert api.get(f"/external/api/get?token={token}&v3").text == "24.50000"
        assert api.get(f"/external/api/update?token={token}&v1=31").status_code == 200
    page.wait_for_function(
        "window.log.messages.some(([t, p]) => t === 'downlink/ds/Counter' && p === '31')",
        timeout=10_000,
    )
    assert page.evaluate("window.log.errors") == []


def test_mqttjs_with_a_wrong_token_shows_invalid_auth_token(
    context: BrowserContext, server: Served, pages: int
) -> None:
    """A wrong token is refused with CONNACK 0x04: MQTT.js's error mentions the password, which
    the sample shows as "Invalid Auth Token"."""
    page = open_sample(context, server, "z" * 32, origin=f"http://127.0.0.1:{pages}")
    page.wait_for_function("window.log.errors.length > 0", timeout=10_000)
    assert page.evaluate("window.log.errors")[0] == "Invalid Auth Token"
    assert page.evaluate("window.log.connected") is False


def test_a_page_from_an_origin_not_allowed_cannot_connect(
    context: BrowserContext, server: Served, pages: int
) -> None:
    """With an Origin allow-list set, a page from another origin gets no connection at all."""
    process = server.process
    token = server.devices[1]["token"]
    elsewhere = f"http://localhost:{pages}"
    page = open_sample(context, server, token, origin=elsewhere, value="99")
    page.wait_for_function("window.log.closed > 0", timeout=10_000)
    assert page.evaluate("window.log.connected") is False
    with httpx.Client(base_url=process.base_url, timeout=10) as api:
        assert api.get(f"/external/api/get?token={token}&v3").text != "99"
    assert f"reason=origin not allowed: '{elsewhere}'" in process.log()
