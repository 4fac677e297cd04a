"""The ``pinbase`` CLI as a subprocess: provision and demo, the way users and tools call them."""

import json
import re
import sqlite3
from pathlib import Path

from pinbase.testing import run_cli

SPEC = {
    "organization": {"name": "Acme"},
    "oauthClients": [{"name": "ci"}],
    "templates": [
        {
            "name": "Weather",
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
            ],
        }
    ],
    "devices": [{"name": "Station 1", "template": "Weather"}],
}
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{32}")


def provision_file(tmp_path: Path, spec: object) -> Path:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def count(data: Path, table: str) -> int:
    with sqlite3.connect(data / "pinbase.db") as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


def test_provision_prints_what_it_created(tmp_path: Path) -> None:
    """The issue's example file yields the documented JSON answer, with a fresh token."""
    data = tmp_path / "data"
    done = run_cli("provision", str(provision_file(tmp_path, SPEC)), "--data", str(data))
    created = json.loads(done.stdout)
    assert set(created) == {"organization", "oauthClients", "users", "templates", "devices"}
    assert isinstance(created["organization"]["id"], int)
    (client,) = created["oauthClients"]
    assert client["name"] == "ci"
    assert client["clientId"]
    assert len(client["clientSecret"]) >= 40
    (template,) = created["templates"]
    assert template["name"] == "Weather"
    assert template["templateId"].startswith("TMPL")
    (device,) = created["devices"]
    assert device["name"] == "Station 1"
    assert device["templateId"] == template["id"]
    assert TOKEN_SHAPE.fullmatch(device["token"])


def test_client_secret_is_stored_hashed(tmp_path: Path) -> None:
    """Only a hash of the OAuth client secret reaches the database."""
    data = tmp_path / "data"
    done = run_cli("provision", str(provision_file(tmp_path, SPEC)), "--data", str(data))
    secret = json.loads(done.stdout)["oauthClients"][0]["clientSecret"]
    with sqlite3.connect(data / "pinbase.db") as db:
        (stored,) = db.execute("SELECT secret_hash FROM oauth_clients").fetchone()
    assert secret not in stored


def test_invalid_provisioning_file_creates_nothing(tmp_path: Path) -> None:
    """A device naming an unknown template fails with exit code 2 and writes nothing."""
    data = tmp_path / "data"
    bad = {**SPEC, "devices": [{"name": "Lost", "template": "Nope"}]}
    done = run_cli(
        "provision", str(provision_file(tmp_path, bad)), "--data", str(data), check=False
    )
    assert done.returncode == 2
    assert "unknown template" in done.stderr
    assert count(data, "organizations") == 0


def test_malformed_provisioning_file_is_reported(tmp_path: Path) -> None:
    """A file that is not the documented shape is refused with the fields at fault."""
    path = tmp_path / "spec.json"
    path.write_text('{"organization": {}}')
    done = run_cli("provision", str(path), "--data", str(tmp_path / "d"), check=False)
    assert done.returncode == 2
    assert "organization.name" in done.stderr


def test_demo_provisions_once_and_prints_usage(tmp_path: Path) -> None:
    """demo creates the demo organization on first run only, and prints token and curl lines."""
    data = tmp_path / "data"
    first = run_cli("demo", "--data", str(data)).stdout
    second = run_cli("demo", "--data", str(data)).stdout
    assert first == second
    assert "Demo device token:" in first
    assert first.count("curl '") == 3
    assert "grant_type=client_credentials" in first
    assert count(data, "devices") == 1
    assert (data / "demo.json").stat().st_mode & 0o077 == 0


def test_demo_prints_the_host_and_ports_it_was_given(tmp_path: Path) -> None:
    """make run's HOST, PORT, HW_PORT and MQTT_PORT reach the printed examples and ports."""
    done = run_cli(
        "demo", "--data", str(tmp_path), "--host", "0.0.0.0",  # noqa: S104 (printed, not bound)
        "--http-port", "9080",
        "--hardware-port", "9442", "--mqtt-port", "11883",
    )  # fmt: skip
    assert "curl 'http://127.0.0.1:9080/external/api/get?token=" in done.stdout
    assert "Blynk protocol (port 9442) or MQTT\n(port 11883," in done.stdout
    assert "devices on the LAN use its LAN address" in done.stdout
