"""The access-point test server itself follows device-lifecycle.md §2.3 and §2.4, so the
provisioning tests run against the device the spec describes."""

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from edgent_ap import AccessPoint

TOKEN = "xw7ITVneg1DifRRQuPGcA7fJvV8-FAVl"
INVALID = {"status": "error", "msg": "Configuration invalid"}


@pytest.fixture
def device(tmp_path: Path) -> Iterator[AccessPoint]:
    """A device in access-point mode."""
    with AccessPoint(tmpl_id="TMPL1", log_dir=tmp_path) as access_point:
        yield access_point


def wait_for(condition: Callable[[], bool]) -> None:
    """Until ``condition`` holds (the device works in a thread of its own)."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_board_info_answers_and_enters_configuring(device: AccessPoint) -> None:
    """/board_info.json has the ESP32 fields of §2.3; the device goes to CONFIGURING."""
    answer = httpx.get(f"{device.url}/board_info.json")
    assert answer.status_code == 200
    assert set(answer.json()) == {
        "board", "tmpl_id", "fw_type", "fw_ver", "ssid", "bssid", "mac", "last_error",
        "wifi_scan", "static_ip",
    }  # fmt: skip
    assert answer.json()["ssid"] == "Blynk Garage Door-4W8N"
    assert device.state == "CONFIGURING"


def test_wifi_scan_is_strongest_first(device: AccessPoint) -> None:
    """/wifi_scan.json lists the networks by signal, strongest first."""
    scan = httpx.post(f"{device.url}/wifi_scan.json").json()
    assert [n["ssid"] for n in scan] == ["HomeNet", "Cafe", "Neighbours"]
    assert set(scan[0]) == {"ssid", "bssid", "rssi", "sec", "ch"}


@pytest.mark.parametrize(
    "query",
    [
        {"ssid": "HomeNet", "blynk": TOKEN[:31]},
        {"ssid": "HomeNet", "blynk": TOKEN + "x"},
        {"ssid": "", "blynk": TOKEN},
        {"blynk": TOKEN},
    ],
)
def test_config_needs_a_32_character_token_and_an_ssid(
    device: AccessPoint, query: dict[str, str]
) -> None:
    """Anything else is 500 Configuration invalid and changes nothing."""
    answer = httpx.get(f"{device.url}/config", params=query)
    assert answer.status_code == 500
    assert answer.json() == INVALID
    assert device.configs == []


def test_config_from_a_form_body_with_ssid_manual(device: AccessPoint) -> None:
    """A POSTed form works like a query; ssidManual overrides ssid; empty host and port_ssl
    keep the defaults."""
    form = {"ssid": "Cafe", "ssidManual": "Hidden", "pass": "", "blynk": TOKEN, "host": ""}
    answer = httpx.post(f"{device.url}/config", data=form)
    assert answer.json() == {"status": "ok", "msg": "Trying to connect..."}
    (config,) = device.configs
    assert (config.ssid, config.host, config.port, config.saved) == (
        "Hidden", "blynk.cloud", 443, False
    )  # fmt: skip


def test_a_failed_wifi_join_reopens_the_access_point_with_701(device: AccessPoint) -> None:
    """The access point closes after /config; an unknown network brings it back, last_error
    701, on the same address."""
    httpx.get(f"{device.url}/config", params={"ssid": "Nowhere", "blynk": TOKEN, "save": "1"})
    assert device.configs[0].saved
    wait_for(lambda: device.last_error == 701)
    wait_for(lambda: device.state == "WAIT_CONFIG")
    assert httpx.get(f"{device.url}/board_info.json").json()["last_error"] == 701


def test_reset_reboot_form_and_unknown_paths(device: AccessPoint) -> None:
    """/reset answers its JSON; / serves the form; /reboot answers nothing; others are 404."""
    device.last_error = 703
    assert httpx.get(f"{device.url}/reset").json() == {
        "status": "ok",
        "msg": "Configuration reset",
    }
    assert device.last_error == 0
    assert 'name="blynk"' in httpx.get(f"{device.url}/").text
    assert 'name="update"' in httpx.get(f"{device.url}/update").text
    assert httpx.post(f"{device.url}/update", content=b"image").text == "OK"
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{device.url}/reboot")
    assert httpx.get(f"{device.url}/nothing").status_code == 404
