"""Blynk.Edgent's access-point API, as a laptop provisioning a device sees it
(device-lifecycle.md §2.3, §2.4, §2.8): what ``/board_info.json`` and ``/wifi_scan.json`` answer,
what ``last_error`` means, the ``/config`` query and the limits of the values it carries.

Pure: the HTTP calls are ``services.edgent``'s. Every refusal is a ``ValueError`` whose message
is one line a person can act on.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

TOKEN_CHARS = 32
"""Edgent's form and ``/config`` take exactly 32 characters (§2.7, ``E32/ConfigMode.h``)."""
MAX_HOST_CHARS = 33
"""The device stores at most 33 characters of host and cuts the rest (§2.4, ``ConfigStore.h``):
a longer name would make it dial another host, so it is refused before anything is created."""
MAX_SSID_BYTES = 33
"""SSID storage of ``ConfigStore.h`` (§2.4); longer values are cut by the device."""
MAX_PASSWORD_BYTES = 63
"""Wi-Fi password storage of ``ConfigStore.h`` (§2.4), also WPA2's passphrase limit."""

LAST_ERRORS: Mapping[int, str] = {
    0: "none",
    700: "invalid configuration",
    701: "could not join the Wi-Fi network",
    702: "could not reach the server",
    703: "the server refused the token",
    704: "internal error",
}
"""``last_error`` codes of ``E32/ConfigStore.h`` (§2.4)."""

CONFIG_OK = "ok"
"""``status`` of a ``/config`` answer the device accepted."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BoardInfo:
    """The fields of ``/board_info.json`` the provisioning uses (§2.3); others are ignored."""

    board: str
    tmpl_id: str
    fw_type: str
    fw_ver: str
    ssid: str
    last_error: int


@dataclass(frozen=True, slots=True, kw_only=True)
class WifiNetwork:
    """One item of ``/wifi_scan.json`` (§2.3)."""

    ssid: str
    rssi: int
    sec: str
    ch: int

    @property
    def is_open(self) -> bool:
        """The network needs no password (``sec`` ``OPEN`` on every board)."""
        return self.sec.upper() == "OPEN"


@dataclass(frozen=True, slots=True, kw_only=True)
class WifiConfig:
    """What ``/config`` sends the device: its Wi-Fi network, token and server (§2.9 step 4)."""

    ssid: str
    password: str
    token: str
    host: str
    port: int

    def __post_init__(self) -> None:
        check_host(self.host)
        check_port(self.port)
        check_token(self.token)
        check_wifi(self.ssid, self.password)


def check_host(host: str) -> None:
    """The server host the device will dial: non-empty, no spaces, at most 33 characters."""
    if not host or any(c.isspace() for c in host):
        raise ValueError("the device host must be a DNS name or an IP address")
    if len(host) > MAX_HOST_CHARS:
        raise ValueError(
            f"the device host {host!r} has {len(host)} characters; Edgent keeps only "
            f"{MAX_HOST_CHARS}: use a shorter DNS name or an IP address"
        )


def check_port(port: int) -> None:
    """A TCP port number."""
    if not 1 <= port <= 65535:
        raise ValueError(f"the device port must be 1..65535, not {port}")


def check_token(token: str) -> None:
    """A device token Edgent accepts: exactly 32 characters (§2.7)."""
    if len(token) != TOKEN_CHARS:
        raise ValueError(
            f"the token has {len(token)} characters; Edgent accepts only {TOKEN_CHARS}"
        )


def check_wifi(ssid: str, password: str) -> None:
    """A Wi-Fi network name and password the device can store whole (§2.4)."""
    if not ssid:
        raise ValueError("the Wi-Fi network name is empty")
    if len(ssid.encode()) > MAX_SSID_BYTES:
        raise ValueError(f"the Wi-Fi network name is longer than {MAX_SSID_BYTES} bytes")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ValueError(f"the Wi-Fi password is longer than {MAX_PASSWORD_BYTES} bytes")


def describe_last_error(code: int) -> str:
    """``702 (could not reach the server)``; an unknown code is shown as such."""
    return f"{code} ({LAST_ERRORS.get(code, 'unknown code')})"


def config_query(config: WifiConfig) -> str:
    """The URL-encoded query of ``GET /config`` (§2.9 step 4).

    ``port`` repeats ``port_ssl`` for firmware older than 2019, which read only ``port`` (§2.3).
    There is no ``save=1``: a failed connection then brings the device back to its access point.
    """
    return urlencode(
        {
            "ssid": config.ssid,
            "pass": config.password,
            "blynk": config.token,
            "host": config.host,
            "port_ssl": config.port,
            "port": config.port,
        }
    )


def parse_board_info(body: bytes) -> BoardInfo:
    """Read ``/board_info.json``.

    Raises:
        ValueError: not a JSON object, or ``tmpl_id`` missing; the other fields default to
            empty (an older firmware may omit them).
    """
    data = _json(body, "board info")
    if not isinstance(data, dict):
        raise ValueError("the board info is not a JSON object")
    tmpl_id = data.get("tmpl_id")
    if not isinstance(tmpl_id, str) or not tmpl_id:
        raise ValueError("the board info has no template id (tmpl_id)")
    last_error = data.get("last_error", 0)
    if not isinstance(last_error, int) or isinstance(last_error, bool):
        raise ValueError("the board info's last_error is not a number")
    return BoardInfo(
        board=_text(data, "board"),
        tmpl_id=tmpl_id,
        fw_type=_text(data, "fw_type"),
        fw_ver=_text(data, "fw_ver"),
        ssid=_text(data, "ssid"),
        last_error=last_error,
    )


def parse_wifi_scan(body: bytes) -> list[WifiNetwork]:
    """Read ``/wifi_scan.json``, strongest first; items without an SSID (hidden) are skipped.

    Raises:
        ValueError: not a JSON array.
    """
    data = _json(body, "Wi-Fi scan")
    if not isinstance(data, list):
        raise ValueError("the Wi-Fi scan is not a JSON array")
    found = [
        WifiNetwork(
            ssid=item["ssid"],
            rssi=_number(item, "rssi"),
            sec=_text(item, "sec") or "unknown",
            ch=_number(item, "ch"),
        )
        for item in data
        if isinstance(item, dict) and isinstance(item.get("ssid"), str) and item["ssid"]
    ]
    return sorted(found, key=lambda network: -network.rssi)


def parse_config_answer(body: bytes) -> str:
    """The ``msg`` of a ``/config`` answer whose ``status`` is ``ok``.

    Raises:
        ValueError: another status (with the device's message), or not the JSON of §2.3.
    """
    data = _json(body, "configuration answer")
    if not isinstance(data, dict) or not isinstance(data.get("status"), str):
        raise ValueError("the device's answer to /config has no status")
    message = data.get("msg")
    text = message if isinstance(message, str) else ""
    if data["status"] != CONFIG_OK:
        raise ValueError(f"the device refused the configuration: {text or data['status']}")
    return text


def _json(body: bytes, what: str) -> object:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(f"the device's {what} is not JSON") from None


def _text(data: Mapping[str, object], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _number(data: Mapping[str, object], key: str) -> int:
    value = data.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
