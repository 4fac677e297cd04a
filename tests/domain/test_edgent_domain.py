"""Blynk.Edgent's access-point API values (device-lifecycle.md §2.3, §2.4, §2.9 step 4)."""

import json
from urllib.parse import parse_qs

import pytest

from pinbase.domain.edgent import (
    BoardInfo,
    WifiConfig,
    WifiNetwork,
    check_host,
    check_port,
    check_token,
    check_wifi,
    config_query,
    describe_last_error,
    parse_board_info,
    parse_config_answer,
    parse_wifi_scan,
)

TOKEN = "xw7ITVneg1DifRRQuPGcA7fJvV8-FAVl"
ESP32_BOARD = {
    "board": "Garage Door",
    "tmpl_id": "TMPL84aMXD6vd",
    "fw_type": "TMPL84aMXD6vd",
    "fw_ver": "0.1.0",
    "ssid": "Blynk Garage Door-4W8N",
    "bssid": "24:6f:28:00:00:01",
    "mac": "24:6f:28:00:00:00",
    "last_error": 702,
    "wifi_scan": True,
    "static_ip": True,
}


def test_board_info_of_an_esp32_is_read() -> None:
    """The fields of §2.3's example are read; the others are ignored."""
    assert parse_board_info(json.dumps(ESP32_BOARD).encode()) == BoardInfo(
        board="Garage Door",
        tmpl_id="TMPL84aMXD6vd",
        fw_type="TMPL84aMXD6vd",
        fw_ver="0.1.0",
        ssid="Blynk Garage Door-4W8N",
        last_error=702,
    )


def test_board_info_fields_an_older_firmware_omits_default_to_empty() -> None:
    """Only tmpl_id is required; last_error defaults to 0 and texts to ''."""
    board = parse_board_info(b'{"tmpl_id":"TMPL1","fw_ver":5}')
    assert (board.board, board.fw_ver, board.last_error) == ("", "", 0)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>", "board info is not JSON"),
        (b"\xff", "board info is not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"board":"x"}', "no template id"),
        (b'{"tmpl_id":""}', "no template id"),
        (b'{"tmpl_id":"T","last_error":"700"}', "last_error is not a number"),
        (b'{"tmpl_id":"T","last_error":true}', "last_error is not a number"),
    ],
)
def test_malformed_board_info_is_refused(body: bytes, message: str) -> None:
    """Anything but an object with a template id and a numeric last_error is a ValueError."""
    with pytest.raises(ValueError, match=message):
        parse_board_info(body)


def test_wifi_scan_is_sorted_strongest_first_without_hidden_networks() -> None:
    """Items without an SSID are skipped; missing numbers are 0 and a missing sec 'unknown'."""
    body = json.dumps(
        [
            {"ssid": "Weak", "bssid": "b", "rssi": -90, "sec": "WPA2", "ch": 1},
            {"ssid": "", "rssi": -10},
            "junk",
            {"ssid": "Open", "rssi": -40, "sec": "OPEN", "ch": 6, "hidden": 0},
            {"ssid": "Odd", "rssi": True},
        ]
    ).encode()
    assert parse_wifi_scan(body) == [
        WifiNetwork(ssid="Odd", rssi=0, sec="unknown", ch=0),
        WifiNetwork(ssid="Open", rssi=-40, sec="OPEN", ch=6),
        WifiNetwork(ssid="Weak", rssi=-90, sec="WPA2", ch=1),
    ]
    assert parse_wifi_scan(body)[1].is_open
    assert not parse_wifi_scan(body)[2].is_open


def test_a_wifi_scan_that_is_not_a_list_is_refused() -> None:
    """An object is not a scan."""
    with pytest.raises(ValueError, match="not a JSON array"):
        parse_wifi_scan(b"{}")


def test_config_query_carries_port_twice_and_no_save() -> None:
    """URL-encoded ssid, pass, blynk, host, port_ssl and port (pre-2019 firmware); no save."""
    config = WifiConfig(
        ssid="Home Net&Co", password="p@ss=word", token=TOKEN, host="pinbase.lan", port=443
    )
    query = config_query(config)
    assert "save" not in query
    assert " " not in query
    assert parse_qs(query) == {
        "ssid": ["Home Net&Co"],
        "pass": ["p@ss=word"],
        "blynk": [TOKEN],
        "host": ["pinbase.lan"],
        "port_ssl": ["443"],
        "port": ["443"],
    }


def test_an_open_network_has_an_empty_password() -> None:
    """An empty password is sent as an empty pass parameter."""
    config = WifiConfig(ssid="Cafe", password="", token=TOKEN, host="10.0.0.2", port=8441)
    assert parse_qs(config_query(config), keep_blank_values=True)["pass"] == [""]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"host": "h" * 34}, "has 34 characters; Edgent keeps only 33"),
        ({"host": ""}, "DNS name or an IP address"),
        ({"host": "pin base"}, "DNS name or an IP address"),
        ({"port": 0}, "1..65535"),
        ({"port": 65536}, "1..65535"),
        ({"token": TOKEN[:31]}, "token has 31 characters"),
        ({"ssid": ""}, "network name is empty"),
        ({"ssid": "é" * 17}, "longer than 33 bytes"),
        ({"password": "p" * 64}, "longer than 63 bytes"),
    ],
)
def test_config_values_the_device_cannot_keep_are_refused(
    change: dict[str, object], message: str
) -> None:
    """Host ≤ 33 chars, a port, a 32-char token, SSID ≤ 33 and password ≤ 63 bytes (§2.4)."""
    values: dict[str, object] = {
        "ssid": "Home",
        "password": "secret",
        "token": TOKEN,
        "host": "pinbase.lan",
        "port": 443,
    }
    with pytest.raises(ValueError, match=message):
        WifiConfig(**{**values, **change})  # type: ignore[arg-type]


def test_limits_themselves_are_accepted() -> None:
    """Exactly 33 host characters, 33 SSID bytes and 63 password bytes pass."""
    check_host("h" * 33)
    check_port(65535)
    check_token("t" * 32)
    check_wifi("s" * 33, "p" * 63)


def test_last_errors_are_decoded() -> None:
    """700..704 and 0 have a meaning; another code says it is unknown."""
    assert describe_last_error(0) == "0 (none)"
    assert describe_last_error(700) == "700 (invalid configuration)"
    assert describe_last_error(701) == "701 (could not join the Wi-Fi network)"
    assert describe_last_error(702) == "702 (could not reach the server)"
    assert describe_last_error(703) == "703 (the server refused the token)"
    assert describe_last_error(704) == "704 (internal error)"
    assert describe_last_error(999) == "999 (unknown code)"


def test_config_answers() -> None:
    """ok answers give their message; an error answer is refused with the device's message."""
    assert parse_config_answer(b'{"status":"ok","msg":"Trying to connect..."}') == (
        "Trying to connect..."
    )
    assert parse_config_answer(b'{"status":"ok"}') == ""
    with pytest.raises(ValueError, match="refused the configuration: Configuration invalid"):
        parse_config_answer(b'{"status":"error","msg":"Configuration invalid"}')
    with pytest.raises(ValueError, match="refused the configuration: error"):
        parse_config_answer(b'{"status":"error"}')
    with pytest.raises(ValueError, match="has no status"):
        parse_config_answer(b'{"msg":"x"}')
    with pytest.raises(ValueError, match="configuration answer is not JSON"):
        parse_config_answer(b"OK")
