"""The device toolbox's Ping and Reboot in headless Chromium against a real ``pinbase serve``
with its MQTT listener, and a real paho-mqtt device connected to it (console.md §1.4,
device-lifecycle.md §4): the ping shows its milliseconds, the device receives
``downlink/reboot``, the Actions Log lists both. Screenshots go to
/tmp/pinbase-screenshots/console-device-<command>.png."""

import queue
from collections.abc import Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from console_flow import shoot
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import Browser, Page, expect

from pinbase.testing import ServerProcess, free_port, provision

PASSWORD = "correct horse battery"
ADMIN = "admin@acme.test"

ACME: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "users": [{"email": ADMIN, "name": "Ada Admin", "roleId": 1, "password": PASSWORD}],
    "templates": [
        {
            "name": "Greenhouse",
            "datastreams": [{"id": 1, "label": "Temperature", "pin": 1, "type": "DOUBLE"}],
        }
    ],
    "devices": [
        {"name": "Greenhouse North", "template": "Greenhouse", "owner": ADMIN},
        {"name": "Spare Sensor", "template": "Greenhouse"},
    ],
}


class PahoDevice:
    """A paho-mqtt client in its own network thread, subscribed to ``downlink/#``."""

    def __init__(self, port: int, token: str) -> None:
        self.received: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        ready: queue.Queue[bool] = queue.Queue()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="", clean_session=True)
        self.client.username_pw_set("device", token)
        self.client.on_connect = lambda c, u, flags, code, props: c.subscribe("downlink/#", 1)
        self.client.on_subscribe = lambda c, u, mid, codes, props: ready.put(True)
        self.client.on_message = lambda c, u, message: self.received.put(message)
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        ready.get(timeout=10)

    def wait_for(self, topic: str) -> list[str]:
        """The topics received until ``topic`` arrives (within 5 s each)."""
        found = [self.received.get(timeout=5).topic]
        while found[-1] != topic:
            found.append(self.received.get(timeout=5).topic)
        return found

    def stop(self) -> None:
        """Disconnect and end the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, dict[str, Any], int]]:
    """Acme provisioned, ``pinbase serve`` with an MQTT listener on it."""
    data = tmp_path_factory.mktemp("commands")
    created = provision(ACME, data_dir=data)
    mqtt_port = free_port()
    with ServerProcess(data, f"--mqtt-port={mqtt_port}") as server:
        yield server, created, mqtt_port


@pytest.fixture
def page(browser: Browser, site: tuple[ServerProcess, dict[str, Any], int]) -> Iterator[Page]:
    """A page signed in as Acme's Admin."""
    context = browser.new_context(
        base_url=site[0].base_url, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.goto("/dashboard/login")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log In").click()
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    yield page
    context.close()


def open_device(page: Page, name: str) -> None:
    """The device's page, from the device list."""
    page.goto("/dashboard/devices")
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()


def test_ping_and_reboot_from_the_toolbox(
    page: Page, site: tuple[ServerProcess, dict[str, Any], int]
) -> None:
    """Ping shows "Answered in … ms" (paho's PUBACK); Reboot reaches the device as
    ``downlink/reboot``; the Actions Log lists both with the Admin's e-mail."""
    _, created, mqtt_port = site
    north = created["devices"][0]
    device = PahoDevice(mqtt_port, north["token"])
    try:
        open_device(page, north["name"])
        toolbox = page.get_by_role("navigation", name="Device actions")
        toolbox.get_by_role("link", name="Ping").click()
        expect(page.get_by_role("heading", name=f"Ping {north['name']}")).to_be_visible()
        page.get_by_role("button", name="Ping").click()
        expect(page.get_by_role("status")).to_contain_text("Answered in")
        expect(page.get_by_role("status")).to_contain_text("ms.")
        expect(page.get_by_role("button", name="Ping again")).to_be_visible()
        shoot(page, "console-device-ping")

        page.get_by_role("link", name="Back to the device").click()
        toolbox.get_by_role("link", name="Reboot").click()
        expect(page.get_by_role("heading", name=f"Reboot {north['name']}?")).to_be_visible()
        page.get_by_role("button", name="Reboot").click()
        expect(page.get_by_role("status")).to_contain_text("Reboot sent")
        shoot(page, "console-device-reboot")
        assert device.wait_for("downlink/reboot") == ["downlink/ping", "downlink/reboot"]
    finally:
        device.stop()
    page.goto(f"/dashboard/devices/{north['id']}?tab=developer&tool=actions")
    rows = page.get_by_role("table", name="Actions Log").get_by_role("row")
    expect(rows.nth(1)).to_contain_text("Reboot")
    expect(rows.nth(1)).to_contain_text(ADMIN)
    expect(rows.nth(2)).to_contain_text("Ping:")
    shoot(page, "console-device-commands-log")


def test_offline_device_explains_why(
    page: Page, site: tuple[ServerProcess, dict[str, Any], int]
) -> None:
    """Ping of a device that is not connected says it is offline, as an alert."""
    spare = site[1]["devices"][1]
    open_device(page, spare["name"])
    page.get_by_role("navigation", name="Device actions").get_by_role("link", name="Ping").click()
    page.get_by_role("button", name="Ping").click()
    expect(page.get_by_role("alert")).to_contain_text("The device is offline")
