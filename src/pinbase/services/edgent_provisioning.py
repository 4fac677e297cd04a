"""Wi-Fi provisioning of a Blynk.Edgent device from a laptop (device-lifecycle.md §2.9).

Theory of operation: the laptop first creates the device through the Platform API while it is
still on the normal network (step 1), then waits until the person joins the device's access
point and its ``/board_info.json`` answers (2), checks the board runs firmware of the template
(3), hands it Wi-Fi, token and server with ``/config`` (4), and, once the person is back on the
normal network, polls the device's connection status (5) until it is online (6). Unreachable
peers are waited for, since the person switches networks between steps; every other failure
ends the run with one ``EdgentError``.

The CLI (``cli/edgent.py``) shows the steps and asks questions through ``Report``.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from pinbase.domain.devices import check_device_name
from pinbase.domain.edgent import (
    BoardInfo,
    WifiConfig,
    WifiNetwork,
    check_host,
    check_port,
    check_token,
    check_wifi,
    describe_last_error,
)
from pinbase.domain.errors import InvalidDefinition
from pinbase.services.clock import Clock
from pinbase.services.edgent_clients import (
    AccessPointClient,
    EdgentError,
    PlatformClient,
    Unreachable,
)

STEPS = 6
AP_POLL_S = 1.0
"""Between ``/board_info.json`` probes while the person joins the access point."""
ONLINE_POLL_S = 2.0
"""Between connection-status reads while the device joins Wi-Fi and the server."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvisionRequest:
    """What ``pinbase edgent provision`` was asked to do."""

    server_url: str
    client_id: str
    client_secret: str
    template: str
    name: str | None = None
    """The new device's name; None with ``device_id``."""
    device_id: int | None = None
    """An existing device to provision again, instead of creating one."""
    host: str
    port: int
    owner: str | None = None
    ssid: str | None = None
    password: str | None = None
    ap_urls: tuple[str, ...]
    ap_wait_s: float
    online_wait_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Provisioned:
    """The device that came online."""

    device_id: int
    board: BoardInfo


class Report(Protocol):
    """How the steps talk to the person running them."""

    def step(self, number: int, text: str) -> None:
        """Step ``number`` of ``STEPS`` starts."""

    def detail(self, text: str) -> None:
        """A fact found during the current step."""

    def networks(self, found: Sequence[WifiNetwork]) -> None:
        """Show the device's Wi-Fi scan."""

    def choose_network(self, found: Sequence[WifiNetwork]) -> str:
        """The SSID the person picks; raises ``EdgentError`` when none is picked."""

    def ask_password(self, ssid: str) -> str:
        """The Wi-Fi password of ``ssid``; raises ``EdgentError`` when none is given."""


def check_request(request: ProvisionRequest) -> None:
    """Refuse what would fail later, before a device is created (§2.9 step 1).

    Raises:
        EdgentError: the name, host, port or Wi-Fi values break a rule of PLT-DEV-09 or §2.4.
    """
    if (request.name is None) == (request.device_id is None):
        raise EdgentError("give --name for a new device or --device for an existing one")
    try:
        if request.name is not None:
            check_device_name(request.name)
        check_host(request.host)
        check_port(request.port)
        if request.ssid is not None:
            check_wifi(request.ssid, request.password or "")
    except (ValueError, InvalidDefinition) as error:
        raise EdgentError(str(error)) from None


def provision(
    request: ProvisionRequest,
    *,
    platform: PlatformClient,
    access_point: AccessPointClient,
    report: Report,
    clock: Clock,
    sleep: Callable[[float], None],
) -> Provisioned:
    """Run the six steps of §2.9.

    Raises:
        EdgentError: a step failed; the message says which and what to do.
    """
    check_request(request)
    device_id, name, token = _device(request, platform, report)
    try:
        check_token(token)
    except ValueError as error:
        raise EdgentError(str(error)) from None
    again = f"device {device_id} is on the server: run again with --device {device_id}"

    report.step(
        2,
        "Join the device's Wi-Fi access point (named like 'Blynk <template>-XXXX'); waiting "
        f"up to {request.ap_wait_s:g} s for {' or '.join(access_point.urls)}",
    )
    board = _wait_for_access_point(access_point, request.ap_wait_s, clock=clock, sleep=sleep)
    report.detail(f"found board {board.board!r} on {access_point.url} (access point {board.ssid})")

    report.step(3, "Checking the board")
    if board.tmpl_id != request.template:
        raise EdgentError(
            f"the board runs firmware of template {board.tmpl_id}, not {request.template}: "
            f"flash firmware built for {request.template} ({again})"
        )
    report.detail(
        f"template {board.tmpl_id}, firmware {board.fw_ver or '?'} ({board.fw_type or '?'}), "
        f"last error {describe_last_error(board.last_error)}"
    )
    ssid, password = _network(request, access_point, report)

    report.step(4, f"Sending Wi-Fi {ssid!r} and server {request.host}:{request.port}")
    config = _config(ssid, password, token, request)
    try:
        answer = access_point.configure(config)
    except EdgentError as error:
        raise EdgentError(f"{error} ({again})") from None
    report.detail(f"the device answered: {answer or 'ok'}")

    report.step(
        5,
        f"Rejoin your normal network; waiting up to {request.online_wait_s:g} s for the "
        "device to come online",
    )
    if not wait_online(platform, device_id, request.online_wait_s, clock=clock, sleep=sleep):
        report.detail(_last_error_hint(access_point))
        raise EdgentError(
            f"device {device_id} did not come online within {request.online_wait_s:g} s: "
            "check the Wi-Fi password, host, port and TLS certificate it was given, rejoin "
            f"its access point and run again with --device {device_id} "
            "(docs/edgent-provisioning.md)"
        )
    report.step(6, f"Device {name!r} (id {device_id}) is online")
    return Provisioned(device_id=device_id, board=board)


def _device(
    request: ProvisionRequest, platform: PlatformClient, report: Report
) -> tuple[int, str, str]:
    """Step 1: the id, name and token of the device, created or found."""
    if request.device_id is not None:
        report.step(1, f"Reading device {request.device_id} of template {request.template}")
        platform.authenticate()
        name, token = platform.existing_device(request.device_id, template=request.template)
        report.detail(f"device {request.device_id} ({name!r}) keeps its token")
        if platform.is_online(request.device_id):
            report.detail(
                f"device {request.device_id} is connected now: put its board in access-point "
                "mode (hold its button 10 s); until the server notices it left, step 5 may "
                "find it online at once"
            )
        return request.device_id, name, token
    name = request.name or ""
    report.step(1, f"Creating device {name!r} from template {request.template}")
    platform.authenticate()
    owner_id = platform.owner_id(request.owner)
    device_id, token = platform.create_device(
        template=request.template, name=name, owner_id=owner_id
    )
    report.detail(f"device {device_id} created on {request.server_url}")
    return device_id, name, token


def _wait_for_access_point(
    access_point: AccessPointClient,
    wait_s: float,
    *,
    clock: Clock,
    sleep: Callable[[float], None],
) -> BoardInfo:
    deadline = clock() + wait_s * 1000
    while True:
        board = access_point.probe()
        if board is not None:
            return board
        if clock() >= deadline:
            raise EdgentError(
                f"no Edgent access point answered at {' or '.join(access_point.urls)} within "
                f"{wait_s:g} s: join the device's Wi-Fi network, or hold its button 10 s to "
                "reopen it, and run again"
            )
        sleep(AP_POLL_S)


def _network(
    request: ProvisionRequest, access_point: AccessPointClient, report: Report
) -> tuple[str, str]:
    """The SSID and password to send: the options', or picked from the device's scan."""
    if request.ssid is not None:
        password = request.password
        return request.ssid, password if password is not None else report.ask_password(request.ssid)
    found = access_point.wifi_scan()
    report.networks(found)
    if not found:
        raise EdgentError("the device sees no Wi-Fi network: give --wifi-ssid")
    ssid = report.choose_network(found)
    if request.password is not None:
        return ssid, request.password
    chosen = next((network for network in found if network.ssid == ssid), None)
    return ssid, "" if chosen is not None and chosen.is_open else report.ask_password(ssid)


def _config(ssid: str, password: str, token: str, request: ProvisionRequest) -> WifiConfig:
    try:
        return WifiConfig(
            ssid=ssid, password=password, token=token, host=request.host, port=request.port
        )
    except ValueError as error:
        raise EdgentError(str(error)) from None


def wait_online(
    platform: PlatformClient,
    device_id: int,
    wait_s: float,
    *,
    clock: Clock,
    sleep: Callable[[float], None],
) -> bool:
    """Whether the device came online within ``wait_s`` (PLT-DEV-08, every 2 s); the server
    being unreachable meanwhile is the laptop changing networks, not a failure.

    Raises:
        EdgentError: the server refused a request, or was still unreachable at the end.
    """
    deadline = clock() + wait_s * 1000
    while True:
        try:
            if platform.is_online(device_id):
                return True
        except Unreachable:
            if clock() >= deadline:
                raise
        if clock() >= deadline:
            return False
        sleep(ONLINE_POLL_S)


def _last_error_hint(access_point: AccessPointClient) -> str:
    """What the device's access point says now, if the laptop still reaches it."""
    try:
        board = access_point.probe()
    except EdgentError as error:
        return str(error)
    if board is None:
        return "the device's access point is out of reach (the laptop is on another network)"
    return (
        f"the device's access point is open again; last error "
        f"{describe_last_error(board.last_error)}"
    )
