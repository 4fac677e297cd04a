"""``pinbase edgent provision`` as a subprocess, against ``pinbase serve`` (with its TLS device
port) and the access-point test server of ``edgent_ap.py`` (device-lifecycle.md §2.9)."""

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from edgent_ap import AccessPoint

from pinbase.testing import ServerProcess, free_port, provision
from tls_certs import self_signed

TEMPLATE = "TMPLedgent01"
SPEC = {
    "organization": {"name": "Edgent Org"},
    "oauthClients": [{"name": "edgent"}],
    "users": [
        {"email": "user@edgent.test", "name": "Uma", "roleId": 3, "password": "pw"},
        {"email": "admin@edgent.test", "name": "Ada", "roleId": 1, "password": "pw"},
    ],
    "templates": [
        {"name": "Garage Door", "templateId": TEMPLATE, "metafields": [{"name": "Hotspot Name"}]},
        {"name": "Thermostat", "templateId": "TMPLedgent02"},
    ],
    "devices": [{"name": "Hall Thermostat", "template": "Thermostat"}],
}


@dataclass(frozen=True)
class Pinbase:
    """The server of this module and what the provisioning file created."""

    process: ServerProcess
    tls_port: int
    cert: Path
    client_id: str
    client_secret: str
    users: dict[str, int]
    devices: dict[str, int]

    def options(self) -> list[str]:
        """Server, OAuth client, and the device's host and TLS port."""
        return [
            f"--server={self.process.base_url}",
            f"--client-id={self.client_id}",
            f"--client-secret={self.client_secret}",
            "--host=127.0.0.1",
            f"--port={self.tls_port}",
        ]

    @contextmanager
    def platform(self) -> Iterator[httpx.Client]:
        """A Platform API client with a fresh access token."""
        with httpx.Client(base_url=self.process.base_url, timeout=10) as http:
            answer = http.post(
                "/oauth2/token",
                params={"grant_type": "client_credentials"},
                auth=(self.client_id, self.client_secret),
            )
            http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
            yield http


@pytest.fixture(scope="module")
def pinbase(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pinbase]:
    """``pinbase serve`` with a TLS device port, provisioned with the Edgent template."""
    data = tmp_path_factory.mktemp("edgent")
    created = provision(SPEC, data_dir=data)
    cert, key = self_signed(data)
    tls_port = free_port()
    options = [f"--hardware-tls-port={tls_port}", f"--tls-cert={cert}", f"--tls-key={key}"]
    with ServerProcess(data, *options) as process:
        client = created["oauthClients"][0]
        yield Pinbase(
            process=process,
            tls_port=tls_port,
            cert=cert,
            client_id=client["clientId"],
            client_secret=client["clientSecret"],
            users={user["email"]: user["id"] for user in created["users"]},
            devices={device["name"]: device["id"] for device in created["devices"]},
        )


@pytest.fixture
def access_point(pinbase: Pinbase, tmp_path: Path) -> Iterator[AccessPoint]:
    """A device running firmware of the template, in access-point mode."""
    with AccessPoint(tmpl_id=TEMPLATE, ca_file=pinbase.cert, log_dir=tmp_path) as device:
        yield device


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``pinbase edgent provision ARGS``."""
    return subprocess.run(
        [sys.executable, "-m", "pinbase", "edgent", "provision", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def devices_named(pinbase: Pinbase, name: str) -> list[dict[str, Any]]:
    """The devices of the organization called ``name``."""
    with pinbase.platform() as http:
        found = http.get("/api/v1/organization/search/devices", params={"query": name})
    return [d for d in found.json()["content"] if d["name"] == name]


def is_online(pinbase: Pinbase, device_id: int) -> bool:
    """PLT-DEV-08."""
    with pinbase.platform() as http:
        answer = http.get("/api/v1/organization/device/online", params={"deviceId": device_id})
    return bool(answer.json()["connected"])


def test_provisioning_brings_the_device_online(pinbase: Pinbase, access_point: AccessPoint) -> None:
    """The device is created, gets Wi-Fi, token and server in one /config, and comes online."""
    access_point.last_error = 702  # a previous attempt could not reach its server
    done = run(
        "--template", TEMPLATE, "--name", "Garage", "--wifi-ssid", "HomeNet",
        "--wifi-pass", "hunter22", f"--ap-url={access_point.url}", *pinbase.options(),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "last error 702 (could not reach the server)" in done.stdout
    assert "firmware 0.1.0" in done.stdout
    assert "[6/6] Device 'Garage'" in done.stdout
    assert "is online" in done.stdout
    (device,) = devices_named(pinbase, "Garage")
    assert device["ownerUserId"] == pinbase.users["admin@edgent.test"]
    (config,) = access_point.configs
    assert config.query == {
        "ssid": ["HomeNet"],
        "pass": ["hunter22"],
        "blynk": [device["token"]],
        "host": ["127.0.0.1"],
        "port_ssl": [str(pinbase.tls_port)],
        "port": [str(pinbase.tls_port)],
    }
    assert is_online(pinbase, device["id"])
    assert access_point.state == "RUNNING"
    assert access_point.last_error == 0
    assert access_point.hotspot_reported
    assert done.stderr == ""


def test_without_ssid_the_device_scan_is_offered(
    pinbase: Pinbase, access_point: AccessPoint
) -> None:
    """No --wifi-ssid: the device's networks are listed strongest first; the one picked and
    the password typed (questions on stderr) are sent."""
    done = run(
        "--template", TEMPLATE, "--name", "Porch", "--owner", "user@edgent.test",
        f"--ap-url={access_point.url}", *pinbase.options(),
        stdin="1\nhunter22\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    listed = done.stdout
    assert listed.index("HomeNet") < listed.index("Cafe") < listed.index("Neighbours")
    assert "Network for the device" in done.stderr
    assert "Password of HomeNet" in done.stderr
    assert "Password" not in done.stdout
    assert ("GET", "/wifi_scan.json") in access_point.requests
    (config,) = access_point.configs
    assert (config.ssid, config.password) == ("HomeNet", "hunter22")
    (device,) = devices_named(pinbase, "Porch")
    assert device["ownerUserId"] == pinbase.users["user@edgent.test"]


def test_a_board_of_another_template_is_refused(pinbase: Pinbase, tmp_path: Path) -> None:
    """Firmware of another template: exit 1 at step 3, nothing is sent to the device."""
    with AccessPoint(tmpl_id="TMPLother", log_dir=tmp_path) as other:
        done = run(
            "--template", TEMPLATE, "--name", "Shed", "--wifi-ssid", "HomeNet",
            "--wifi-pass", "x", f"--ap-url={other.url}", *pinbase.options(),
        )  # fmt: skip
    assert done.returncode == 1
    assert "[3/6] Checking the board" in done.stdout
    assert "the board runs firmware of template TMPLother, not TMPLedgent01" in done.stderr
    assert not any(path == "/config" for _, path in other.requests)
    assert "Traceback" not in done.stderr


def test_a_configuration_the_device_refuses_is_reported(pinbase: Pinbase, tmp_path: Path) -> None:
    """The device's 500 ``Configuration invalid`` answer ends the run with its message."""
    with AccessPoint(tmpl_id=TEMPLATE, token_chars=40, log_dir=tmp_path) as strict:
        done = run(
            "--template", TEMPLATE, "--name", "Attic", "--wifi-ssid", "HomeNet",
            "--wifi-pass", "hunter22", f"--ap-url={strict.url}", *pinbase.options(),
        )  # fmt: skip
    assert done.returncode == 1
    assert "the device refused the configuration: Configuration invalid" in done.stderr
    assert strict.configs == []


def test_an_unreachable_access_point_times_out(pinbase: Pinbase) -> None:
    """Nothing answers at the access point's address: exit 1 after --ap-timeout, one line."""
    done = run(
        "--template", TEMPLATE, "--name", "Cellar", "--wifi-ssid", "HomeNet",
        f"--ap-url=http://127.0.0.1:{free_port()}", "--ap-timeout=1", *pinbase.options(),
    )  # fmt: skip
    assert done.returncode == 1
    assert "[2/6] Join the device's Wi-Fi access point" in done.stdout
    assert "no Edgent access point answered at http://127.0.0.1:" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_device_that_never_comes_online_shows_its_last_error_and_can_be_retried(
    pinbase: Pinbase, access_point: AccessPoint
) -> None:
    """The device cannot join the Wi-Fi: the run times out and reads last_error 701 from the
    access point the device reopened; a second run with --device reuses the device."""
    done = run(
        "--template", TEMPLATE, "--name", "Loft", "--wifi-ssid", "HomeNet",
        "--wifi-pass", "wrong password", f"--ap-url={access_point.url}",
        "--online-timeout=4", *pinbase.options(),
    )  # fmt: skip
    assert done.returncode == 1
    assert "last error 701 (could not join the Wi-Fi network)" in done.stdout
    assert "did not come online within 4 s" in done.stderr
    (device,) = devices_named(pinbase, "Loft")
    assert not is_online(pinbase, device["id"])
    assert f"--device {device['id']}" in done.stderr

    again = run(
        "--template", TEMPLATE, "--device", str(device["id"]), "--wifi-ssid", "HomeNet",
        "--wifi-pass", "hunter22", f"--ap-url={access_point.url}", *pinbase.options(),
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert "last error 701 (could not join the Wi-Fi network)" in again.stdout
    assert [d["id"] for d in devices_named(pinbase, "Loft")] == [device["id"]]
    assert access_point.configs[-1].token == device["token"]
    assert is_online(pinbase, device["id"])


def test_an_existing_device_of_another_template_is_refused(
    pinbase: Pinbase, access_point: AccessPoint
) -> None:
    """--device naming a device of another template: exit 1 before the access point."""
    device_id = pinbase.devices["Hall Thermostat"]
    done = run(
        "--template", TEMPLATE, "--device", str(device_id), "--wifi-ssid", "HomeNet",
        f"--ap-url={access_point.url}", *pinbase.options(),
    )  # fmt: skip
    assert done.returncode == 1
    assert f"device {device_id} is of template TMPLedgent02, not {TEMPLATE}" in done.stderr
    assert access_point.requests == []


def test_name_or_device_but_not_both(pinbase: Pinbase, access_point: AccessPoint) -> None:
    """Neither --name nor --device, or both: exit 2, nothing is called."""
    for choice in ([], ["--name", "X", "--device", "1"]):
        done = run(
            "--template", TEMPLATE, *choice, "--wifi-ssid", "HomeNet",
            f"--ap-url={access_point.url}", *pinbase.options(),
        )  # fmt: skip
        assert done.returncode == 2
        assert "give --name for a new device or --device for an existing one" in done.stderr
    assert access_point.requests == []


def test_a_host_longer_than_33_characters_is_refused_before_anything(
    pinbase: Pinbase, access_point: AccessPoint
) -> None:
    """A 34-character host exits 2 without creating a device or calling the device."""
    host = "pinbase.a-rather-long-domain.example"
    done = run(
        "--template", TEMPLATE, "--name", "Barn", "--wifi-ssid", "HomeNet",
        f"--ap-url={access_point.url}", *pinbase.options(), f"--host={host}",
    )  # fmt: skip
    assert done.returncode == 2
    assert "Edgent keeps only 33" in done.stderr
    assert devices_named(pinbase, "Barn") == []
    assert access_point.requests == []


def test_wrong_client_credentials_are_one_line(pinbase: Pinbase, access_point: AccessPoint) -> None:
    """A wrong OAuth secret: exit 1 with the reason and no device."""
    done = run(
        "--template", TEMPLATE, "--name", "Yard", "--wifi-ssid", "HomeNet",
        f"--ap-url={access_point.url}", *pinbase.options(), "--client-secret=nope",
    )  # fmt: skip
    assert done.returncode == 1
    assert "refused the OAuth client id or secret" in done.stderr
    assert devices_named(pinbase, "Yard") == []


def test_an_unreachable_server_is_one_line(access_point: AccessPoint) -> None:
    """No server at --server: exit 1, no traceback, the device is not called."""
    done = run(
        "--template", TEMPLATE, "--name", "Yard", "--wifi-ssid", "HomeNet",
        f"--ap-url={access_point.url}", f"--server=http://127.0.0.1:{free_port()}",
        "--client-id=a", "--client-secret=b",
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("pinbase: cannot reach the Pinbase server at http://127.0.0.1:")
    assert "Traceback" not in done.stderr
    assert access_point.requests == []
