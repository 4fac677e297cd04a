"""The steps of ``services.edgent_provisioning`` and its HTTP peers, in-process, against a real
local HTTP server (pytest-httpserver) playing the Pinbase server and the device where a peer
must misbehave in ways ``pinbase serve`` and the access-point test server never do.

The clock is a counter the injected ``sleep`` advances: no test waits.
"""

import json
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pinbase.domain.edgent import WifiConfig, WifiNetwork
from pinbase.services.edgent_clients import AccessPointClient, EdgentError, PlatformClient
from pinbase.services.edgent_provisioning import ProvisionRequest, provision, wait_online
from pinbase.testing import free_port

TOKEN = "xw7ITVneg1DifRRQuPGcA7fJvV8-FAVl"
BASE = "/api/v1/organization"
BOARD = {"board": "Garage", "tmpl_id": "TMPL1", "fw_ver": "1.0.0", "last_error": 0}
SCAN = [
    {"ssid": "Cafe", "rssi": -70, "sec": "OPEN", "ch": 1},
    {"ssid": "HomeNet", "rssi": -50, "sec": "WPA2", "ch": 6},
]


@dataclass
class Script:
    """A Report answering from a script, and what it was told."""

    network: str = "HomeNet"
    password: str = "hunter22"
    lines: list[str] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    def step(self, number: int, text: str) -> None:
        self.lines.append(f"[{number}] {text}")

    def detail(self, text: str) -> None:
        self.lines.append(text)

    def networks(self, found: Sequence[WifiNetwork]) -> None:
        self.lines.append(",".join(n.ssid for n in found))

    def choose_network(self, found: Sequence[WifiNetwork]) -> str:
        self.asked.append("network")
        return self.network

    def ask_password(self, ssid: str) -> str:
        self.asked.append(f"password {ssid}")
        return self.password


class Clock:
    """Milliseconds that pass only when the steps sleep."""

    def __init__(self) -> None:
        self.now = 0
        self.sleeps: list[float] = []

    def __call__(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += int(seconds * 1000)


@pytest.fixture
def platform(httpserver: HTTPServer) -> Iterator[PlatformClient]:
    """A Platform API client of the local server, which issues access tokens."""
    httpserver.expect_request("/oauth2/token", method="POST").respond_with_json(
        {"access_token": "at", "token_type": "Bearer", "expires_in": 300}
    )
    client = PlatformClient(httpserver.url_for(""), client_id="id", client_secret="secret")
    yield client
    client.close()


@pytest.fixture
def access_point(httpserver: HTTPServer) -> Iterator[AccessPointClient]:
    """An access-point client of the local server."""
    client = AccessPointClient([httpserver.url_for("")])
    yield client
    client.close()


def answers(httpserver: HTTPServer, path: str, *replies: tuple[Any, int]) -> None:
    """``path`` answers ``replies`` in turn (JSON unless a string), then the last again."""
    left = list(replies)

    def reply(_: Request) -> Response:
        body, status = left.pop(0) if len(left) > 1 else left[0]
        text = body if isinstance(body, str) else json.dumps(body)
        return Response(text, status=status, content_type="application/json")

    httpserver.expect_request(path).respond_with_handler(reply)


def request(httpserver: HTTPServer, **changes: Any) -> ProvisionRequest:
    """A request for device "Garage" of TMPL1 through the local server."""
    values: dict[str, Any] = {
        "server_url": httpserver.url_for(""),
        "client_id": "id",
        "client_secret": "secret",
        "template": "TMPL1",
        "name": "Garage",
        "host": "pinbase.lan",
        "port": 8441,
        "ssid": "HomeNet",
        "password": "hunter22",
        "ap_urls": (httpserver.url_for("").rstrip("/"),),
        "ap_wait_s": 10,
        "online_wait_s": 10,
    }
    return ProvisionRequest(**{**values, **changes})


def serve_device(httpserver: HTTPServer, *, scan: bool = False) -> None:
    """Admin 7 exists, device 42 is created, the board answers and accepts /config."""
    httpserver.expect_request(f"{BASE}/users").respond_with_json(
        {"content": [{"id": 7, "email": "a@x", "roleId": 1}], "totalElements": 1}
    )
    httpserver.expect_request(f"{BASE}/device/create", method="POST").respond_with_json(
        {"id": 42, "token": TOKEN}, status=201
    )
    httpserver.expect_request("/board_info.json").respond_with_json(BOARD)
    if scan:
        httpserver.expect_request("/wifi_scan.json").respond_with_json(SCAN)
    httpserver.expect_request("/config").respond_with_json(
        {"status": "ok", "msg": "Trying to connect..."}
    )


def run(
    httpserver: HTTPServer,
    platform: PlatformClient,
    access_point: AccessPointClient,
    report: Script,
    clock: Clock,
    **changes: Any,
) -> int:
    """The steps; the device id."""
    done = provision(
        request(httpserver, **changes),
        platform=platform,
        access_point=access_point,
        report=report,
        clock=clock,
        sleep=clock.sleep,
    )
    return done.device_id


def test_the_device_comes_online_after_a_few_polls(
    httpserver: HTTPServer, platform: PlatformClient, access_point: AccessPointClient
) -> None:
    """Offline answers are polled again every 2 s until online; the Admin owns the device."""
    serve_device(httpserver)
    online = f"{BASE}/device/online"
    answers(
        httpserver,
        online,
        ({"connected": False}, 200),
        ({"connected": False}, 200),
        ({"connected": True}, 200),
    )
    report, clock = Script(), Clock()
    assert run(httpserver, platform, access_point, report, clock) == 42
    assert clock.sleeps == [2.0, 2.0]
    assert report.lines[-1] == "[6] Device 'Garage' (id 42) is online"
    created = next(r for r, _ in httpserver.log if r.path.endswith("/device/create"))
    assert created.get_json() == {"templateId": "TMPL1", "name": "Garage", "ownerId": 7}
    assert report.asked == []


def test_an_expired_access_token_is_fetched_again_once(
    httpserver: HTTPServer, platform: PlatformClient
) -> None:
    """A 401 answer gets a new token and the same request again."""
    answers(httpserver, f"{BASE}/device/online", ("", 401), ({"connected": True}, 200))
    assert platform.is_online(42)
    tokens = [r for r, _ in httpserver.log if r.path == "/oauth2/token"]
    assert len(tokens) == 2


def test_the_owner_is_looked_up_by_email_or_taken_as_an_id(
    httpserver: HTTPServer, platform: PlatformClient
) -> None:
    """An e-mail matches exactly (case aside) among search results; a number is the id."""
    httpserver.expect_request(f"{BASE}/search/users").respond_with_json(
        {
            "content": [
                {"id": 3, "email": "bob@x.test.org", "roleId": 3},
                {"id": 4, "email": "Bob@X.test", "roleId": 3},
            ],
            "totalElements": 2,
        }
    )
    assert platform.owner_id("bob@x.test") == 4
    assert platform.owner_id("12") == 12
    with pytest.raises(EdgentError, match=r"no user carol@x\.test in the OAuth client's"):
        platform.owner_id("carol@x.test")


def test_the_first_admin_is_found_on_a_later_page(
    httpserver: HTTPServer, platform: PlatformClient
) -> None:
    """Without --owner, pages of users are read until an Admin appears; none is an error."""
    staff = [{"id": n, "email": f"s{n}@x", "roleId": 2} for n in range(100)]
    admin = {"content": [{"id": 500, "email": "a@x", "roleId": 1}], "totalElements": 101}
    none = {"content": [{"id": 1, "roleId": 3}, "junk"], "totalElements": 1}
    answers(
        httpserver,
        f"{BASE}/users",
        ({"content": staff, "totalElements": 101}, 200),
        (admin, 200),
        (none, 200),
    )
    assert platform.owner_id(None) == 500
    pages = [r.args["page"] for r, _ in httpserver.log if r.path == f"{BASE}/users"]
    assert pages == ["0", "1"]
    with pytest.raises(EdgentError, match="has no Admin to own the device: give --owner"):
        platform.owner_id(None)


@pytest.mark.parametrize(
    ("answer", "status", "message"),
    [
        ({"error": {"message": "Template is not found."}}, 404, "Template is not found."),
        ({"id": 1}, 201, "has no id or token"),
        ("not json", 500, "HTTP 500"),
    ],
)
def test_refused_device_creation(
    httpserver: HTTPServer, platform: PlatformClient, answer: Any, status: int, message: str
) -> None:
    """The server's message, or what was wrong with its answer."""
    if isinstance(answer, str):
        httpserver.expect_request(f"{BASE}/device/create").respond_with_data(answer, status)
    else:
        httpserver.expect_request(f"{BASE}/device/create").respond_with_json(answer, status)
    with pytest.raises(EdgentError, match=message):
        platform.create_device(template="TMPL1", name="Garage", owner_id=1)


def test_refused_credentials(httpserver: HTTPServer) -> None:
    """invalid_client names the options; another OAuth error gives its description."""
    client = PlatformClient(httpserver.url_for(""), client_id="id", client_secret="no")
    answers(
        httpserver,
        "/oauth2/token",
        ({"error": "invalid_client", "error_description": "Client ID is not found"}, 400),
        ({"error": "insecure_transport", "error_description": "OAuth 2 MUST use HTTPS"}, 400),
        ("<html>", 502),
    )
    with pytest.raises(EdgentError, match="check --client-id and --client-secret"):
        client.authenticate()
    with pytest.raises(EdgentError, match="no access token: OAuth 2 MUST use HTTPS"):
        client.authenticate()
    with pytest.raises(EdgentError, match="no access token: HTTP 502"):
        client.authenticate()
    client.close()


def test_an_existing_device_answer_without_token_or_template(
    httpserver: HTTPServer, platform: PlatformClient
) -> None:
    """A device answer lacking a field, or a template without codes, is refused."""
    device = {"name": "x", "token": TOKEN, "templateId": 9}
    answers(httpserver, f"{BASE}/device", ({"name": "x"}, 200), (device, 200))
    httpserver.expect_request(f"{BASE}/template").respond_with_json({"templateIds": None})
    with pytest.raises(EdgentError, match="has no name, token or template"):
        platform.existing_device(5, template="TMPL1")
    with pytest.raises(EdgentError, match="device 5 is of template 9, not TMPL1"):
        platform.existing_device(5, template="TMPL1")


def test_a_user_list_entry_without_id(httpserver: HTTPServer, platform: PlatformClient) -> None:
    """An Admin without an id in the answer is refused, not a crash."""
    httpserver.expect_request(f"{BASE}/users").respond_with_json(
        {"content": [{"id": True, "roleId": 1}], "totalElements": 1}
    )
    with pytest.raises(EdgentError, match="a user without an id"):
        platform.owner_id(None)


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/board_info.json", "<html>", 404, "answered HTTP 404: is this a Blynk.Edgent device"),
        ("/board_info.json", "<html>", 200, "board info is not JSON"),
        ("/wifi_scan.json", "{}", 200, "Wi-Fi scan is not a JSON array"),
        ("/config", "Not found", 404, "the device answered HTTP 404 to /config"),
        ("/config", '{"status":"error","msg":"Configuration invalid"}', 500, "Configuration inv"),
    ],
)
def test_a_device_answering_otherwise_than_edgent(
    httpserver: HTTPServer,
    access_point: AccessPointClient,
    path: str,
    body: str,
    status: int,
    message: str,
) -> None:
    """Every unexpected answer of the device is one EdgentError naming it."""
    httpserver.expect_request(path).respond_with_data(body, status)
    calls: dict[str, Callable[[], object]] = {
        "/board_info.json": access_point.probe,
        "/wifi_scan.json": access_point.wifi_scan,
        "/config": lambda: access_point.configure(
            WifiConfig(ssid="a", password="", token=TOKEN, host="h", port=1)
        ),
    }
    with pytest.raises(EdgentError, match=message):
        calls[path]()


def test_a_silent_device_is_a_timeout_without_its_secrets() -> None:
    """A device that accepts the connection and never answers times out; the message leaves
    the query (token, password) out."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        client = AccessPointClient([url], answer_timeout_s=0.2)
        config = WifiConfig(ssid="a", password="secret", token=TOKEN, host="h", port=1)
        with pytest.raises(EdgentError) as raised:
            client.configure(config)
        client.close()
    assert str(raised.value) == f"the device at {url} did not answer /config: timed out"


def test_the_scan_is_offered_and_an_open_network_needs_no_password(
    httpserver: HTTPServer, platform: PlatformClient, access_point: AccessPointClient
) -> None:
    """No SSID: the networks are shown strongest first; an open one is sent with no password,
    a protected one's password is asked when not given."""
    serve_device(httpserver, scan=True)
    httpserver.expect_request(f"{BASE}/device/online").respond_with_json({"connected": True})
    report, clock = Script(network="Cafe"), Clock()
    run(httpserver, platform, access_point, report, clock, ssid=None, password=None)
    assert "HomeNet,Cafe" in report.lines
    assert report.asked == ["network"]
    config = next(r for r, _ in httpserver.log if r.path == "/config")
    assert config.args["ssid"] == "Cafe"
    assert config.args["pass"] == ""

    report = Script(network="HomeNet", password="typed")
    run(httpserver, platform, access_point, report, clock, ssid=None, password=None)
    assert report.asked == ["network", "password HomeNet"]
    report = Script()
    run(httpserver, platform, access_point, report, clock, password=None)
    assert report.asked == ["password HomeNet"]
    report = Script(network="Cafe")
    run(httpserver, platform, access_point, report, clock, ssid=None, password="given")
    assert report.asked == ["network"]


def test_an_empty_scan_asks_for_the_ssid_option(
    httpserver: HTTPServer, platform: PlatformClient, access_point: AccessPointClient
) -> None:
    """The device sees no network: the run stops and names --wifi-ssid."""
    serve_device(httpserver)
    httpserver.expect_request("/wifi_scan.json").respond_with_json([])
    with pytest.raises(EdgentError, match="sees no Wi-Fi network: give --wifi-ssid"):
        run(httpserver, platform, access_point, Script(), Clock(), ssid=None)


def test_an_unreachable_server_while_polling_is_waited_for(
    httpserver: HTTPServer, access_point: AccessPointClient
) -> None:
    """The laptop is still on the device's network: connection failures are retried until
    the timeout, then reported with the device's last error when it is reachable."""
    serve_device(httpserver)
    dead = PlatformClient(f"http://127.0.0.1:{free_port()}", client_id="id", client_secret="secret")
    live = PlatformClient(httpserver.url_for(""), client_id="id", client_secret="secret")
    httpserver.expect_request("/oauth2/token").respond_with_json({"access_token": "at"})
    report, clock = Script(), Clock()
    steps = request(httpserver, online_wait_s=6)
    with pytest.raises(EdgentError, match="cannot reach the Pinbase server"):
        wait_online(dead, 42, 6, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == [2.0, 2.0, 2.0]
    httpserver.expect_request(f"{BASE}/device/online").respond_with_json({"connected": False})
    with pytest.raises(EdgentError, match="did not come online within 6 s"):
        provision(
            steps,
            platform=live,
            access_point=access_point,
            report=report,
            clock=clock,
            sleep=clock.sleep,
        )
    assert "last error 0 (none)" in report.lines[-1]
    dead.close()
    live.close()


def test_an_existing_device_connected_at_the_start_is_pointed_out(
    httpserver: HTTPServer, platform: PlatformClient, access_point: AccessPointClient
) -> None:
    """--device of a device the server counts online: a note says its board must be in
    access-point mode; its token is sent unchanged."""
    httpserver.expect_request(f"{BASE}/device").respond_with_json(
        {"id": 5, "name": "Shed", "token": TOKEN, "templateId": 9}
    )
    httpserver.expect_request(f"{BASE}/template").respond_with_json({"templateIds": ["TMPL1"]})
    serve_device(httpserver)
    httpserver.expect_request(f"{BASE}/device/online").respond_with_json({"connected": True})
    report, clock = Script(), Clock()
    assert run(httpserver, platform, access_point, report, clock, name=None, device_id=5) == 5
    assert any("device 5 is connected now" in line for line in report.lines)
    config = next(r for r, _ in httpserver.log if r.path == "/config")
    assert config.args["blynk"] == TOKEN
    assert not any(r.path.endswith("/device/create") for r, _ in httpserver.log)
