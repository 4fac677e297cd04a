"""The demo organization ``make run`` creates on first start, so a new user has a token to try
and a console user (its Admin) to sign in with."""

import secrets
from typing import Any

DEMO_SPEC: dict[str, Any] = {
    "organization": {"name": "Demo Organization"},
    "oauthClients": [{"name": "demo"}],
    "templates": [
        {
            "name": "Weather Station",
            "datastreams": [
                {
                    "id": 1,
                    "label": "Counter",
                    "pin": 1,
                    "pinType": "VIRTUAL",
                    "type": "INT",
                    "min": 0,
                    "max": 100,
                    "defaultValue": 0,
                },
                {
                    "id": 2,
                    "label": "Temperature",
                    "pin": 2,
                    "pinType": "VIRTUAL",
                    "type": "DOUBLE",
                    "min": -40,
                    "max": 85,
                    "decimals": "#.#",
                    "units": "Celsius",
                },
                {"id": 3, "label": "Message", "pin": 3, "pinType": "VIRTUAL", "type": "STRING"},
                {"id": 4, "label": "Position", "pin": 4, "pinType": "VIRTUAL", "type": "LOCATION"},
            ],
            "events": [{"eventCode": "overheat", "name": "Overheat", "type": "WARNING"}],
            "metafields": [{"name": "Serial Number", "defaultValue": "SN-0001"}],
        }
    ],
    "devices": [{"name": "Demo Device", "template": "Weather Station"}],
}

CONSOLE_EMAIL = "admin@pinbase.local"
"""The demo's console user, Admin of the demo organization."""
CONSOLE_PASSWORD_BYTES = 12
"""96 random bits: 16 URL-safe characters, typed once and kept by the browser."""


def demo_spec(console_password: str) -> dict[str, Any]:
    """``DEMO_SPEC`` with the console user, whose password is ``console_password``."""
    admin = {
        "email": CONSOLE_EMAIL,
        "name": "Demo Admin",
        "roleId": 1,
        "password": console_password,
    }
    return {**DEMO_SPEC, "users": [admin]}


def new_console_password() -> str:
    """A fresh random password for the demo's console user."""
    return secrets.token_urlsafe(CONSOLE_PASSWORD_BYTES)


WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 (names them, binds nothing)
"""Hosts that mean "every address": the examples then use loopback, devices this machine's LAN
address."""


def usage_lines(
    created: dict[str, Any],
    *,
    host: str,
    http_port: int,
    hardware_port: int,
    mqtt_port: int,
) -> list[str]:
    """What ``make run`` prints: credentials, the console, requests to try, and where devices
    connect. ``created`` is what ``pinbase demo`` keeps in ``demo.json``; its ``console`` entry
    (e-mail, password) is missing in a file written before the console existed."""
    token = created["devices"][0]["token"]
    client = created["oauthClients"][0]
    shown = "127.0.0.1" if host in WILDCARD_HOSTS else host
    base_url = f"http://{shown}:{http_port}"
    if host in WILDCARD_HOSTS:
        where = "The server listens on every address: devices on the LAN use its LAN address."
    else:
        where = f"The server listens on {host} only; `make run HOST=0.0.0.0` lets LAN devices in."
    console = created.get("console")
    console_lines = []
    if console is not None:
        console_lines = [
            f"Web console:        {base_url}/dashboard",
            f"Console e-mail:     {console['email']}",
            f"Console password:   {console['password']}",
            "",
        ]
    return [
        *console_lines,
        f"Demo device token:  {token}",
        f"OAuth client id:    {client['clientId']}",
        f"OAuth client secret: {client['clientSecret']}",
        "",
        "Try:",
        f"  curl '{base_url}/external/api/batch/update?token={token}&v1=33&v2=21.5'",
        f"  curl '{base_url}/external/api/get?token={token}&v1&v2'",
        f"  curl '{base_url}/external/api/update?token={token}&v3=hello'",
        f"  curl -u '{client['clientId']}:{client['clientSecret']}' -X POST "
        f"'{base_url}/oauth2/token?grant_type=client_credentials'",
        "",
        f"Devices connect with this token over the Blynk protocol (port {hardware_port}) or MQTT",
        f"(port {mqtt_port}, user name 'device', password = the token); see docs/protocol.md and",
        "docs/mqtt.md.",
        where,
    ]
