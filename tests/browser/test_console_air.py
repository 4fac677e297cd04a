"""The console's Blynk.Air page in headless Chromium against a real ``pinbase serve`` (issue #12
point 2): the admin opens Blynk.Air from the menu, uploads a firmware file and sees its firmware
info, creates a live shipment to one device, and finds the device *Pending*; once the device (a
paho-mqtt client) reports its old version, the status table says *Request sent*. Screenshots at
1280 and 375 px go to /tmp/pinbase-screenshots/console-air-<width>.png."""

import json
import queue
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import Browser, BrowserContext, Dialog, FilePayload, Page, expect

from pinbase.testing import ServerProcess, free_port, provision

SCREENSHOTS = Path(tempfile.gettempdir()) / "pinbase-screenshots"
PASSWORD = "correct horse battery"
ADMIN = "ada@acme.test"
TAG = b"blnkinf\x00mcu\x002.0.0\x00fw-type\x00TMPLfreezer\x00build\x00Dec  5 2026 10:00:00\x00\x00"

ACME: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "users": [{"email": ADMIN, "name": "Ada Admin", "roleId": 1, "password": PASSWORD}],
    "templates": [{"name": "Freezer"}],
    "devices": [
        {"name": "Kitchen Freezer", "template": "Freezer"},
        {"name": "Cellar Freezer", "template": "Freezer"},
    ],
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str, int]]:
    """Acme provisioned, ``pinbase serve`` with MQTT; the first device's token, the MQTT port."""
    data = tmp_path_factory.mktemp("air-console")
    created = provision(ACME, data_dir=data)
    port = free_port()
    with ServerProcess(data, f"--mqtt-port={port}") as server:
        yield server, created["devices"][0]["token"], port


@pytest.fixture
def browsing(browser: Browser, site: tuple[ServerProcess, str, int]) -> Iterator[BrowserContext]:
    """A fresh desktop browser for the site."""
    context = browser.new_context(
        base_url=site[0].base_url, viewport={"width": 1280, "height": 900}
    )
    yield context
    context.close()


def signed_in(context: BrowserContext) -> Page:
    """A new page signed in as the admin through the sign-in form."""
    page = context.new_page()
    page.goto("/dashboard/login")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log In").click()
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()
    return page


def report_old_version(port: int, token: str) -> bytes:
    """A paho-mqtt device reports 1.0.0 in ``info/mcu``; the OTA payload it receives."""
    messages: queue.Queue[bytes] = queue.Queue()
    connected: queue.Queue[int] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="", clean_session=True)
    client.username_pw_set("device", token)
    client.on_connect = lambda _c, _u, _f, code, _p: connected.put(code.value)
    client.on_message = lambda _c, _u, message: messages.put(bytes(message.payload))
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    try:
        assert connected.get(timeout=10) == 0
        client.subscribe("downlink/ota/json")
        info = {"ver": "1.0.0", "build": "Dec 01 2026 10:00:00", "type": "TMPLfreezer"}
        client.publish("info/mcu", json.dumps(info), qos=1).wait_for_publish(10)
        return messages.get(timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()


def shoot(page: Page, name: str) -> None:
    """The page at 1280 px, then at 375 px (a phone), back at 1280 px afterwards."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"console-{name}-1280.png", full_page=True)
    page.set_viewport_size({"width": 375, "height": 812})
    page.screenshot(path=SCREENSHOTS / f"console-{name}-375.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def upload(page: Page, name: str, content: bytes) -> None:
    """Upload a firmware file from the Blynk.Air page and wait for the notice."""
    payload: FilePayload = {
        "name": name,
        "mimeType": "application/octet-stream",
        "buffer": content,
    }
    page.get_by_label("File to upload").set_input_files(files=payload)
    page.get_by_role("button", name="Upload firmware").click()
    expect(page.get_by_role("status")).to_have_text("The firmware file was uploaded.")


def test_admin_uploads_firmware_and_ships_it_to_a_device(
    browsing: BrowserContext, site: tuple[ServerProcess, str, int]
) -> None:
    """Upload shows the firmware info; the new live shipment lists the device Pending, then
    Request sent once the device reported its old version."""
    _server, token, port = site
    page = signed_in(browsing)
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Blynk.Air").click()
    expect(page.get_by_role("heading", name="Blynk.Air")).to_be_visible()
    upload(page, "freezer.ino.bin", b"\x00" * 4096 + TAG + b"\xff" * 4096)
    files = page.get_by_role("table", name="Firmware files")
    expect(files.get_by_role("row").filter(has_text="freezer.ino.bin")).to_contain_text("2.0.0")
    expect(files).to_contain_text("TMPLfreezer")

    form = page.get_by_role("form", name="New shipment")
    form.get_by_label("Shipment name").fill("Freezer 2.0.0")
    form.get_by_label("Devices", exact=True).select_option(label="Chosen devices")
    form.get_by_label("Chosen devices").select_option(label="Kitchen Freezer (Freezer)")
    form.get_by_role("button", name="Create shipment").click()
    expect(page.get_by_role("heading", name="Freezer 2.0.0")).to_be_visible()
    statuses = page.get_by_role("table", name="Device statuses")
    kitchen = statuses.get_by_role("row").filter(has_text="Kitchen Freezer")
    expect(kitchen).to_contain_text("Pending")
    expect(statuses.get_by_role("row").filter(has_text="Cellar Freezer")).to_have_count(0)

    command = json.loads(report_old_version(port, token))
    assert command["ver"] == "2.0.0"
    page.reload()
    expect(kitchen).to_contain_text("Request sent")
    shoot(page, "air")
    page.get_by_role("link", name="All shipments").click()
    shipments = page.get_by_role("table", name="Shipments")
    expect(shipments.get_by_role("row").filter(has_text="Freezer 2.0.0")).to_contain_text("Live")


def test_admin_deletes_a_firmware_file_no_shipment_ships(browsing: BrowserContext) -> None:
    """A file with no shipment goes after the confirmation, with a notice; one a shipment ships
    stays, and the page says which shipment to delete first."""
    page = signed_in(browsing)
    page.goto("/dashboard/air")
    upload(page, "spare.ino.bin", b"\x00" * 4096 + TAG + b"\xee" * 1024)
    files = page.get_by_role("table", name="Firmware files")
    prompts: list[str] = []

    def accept(dialog: Dialog) -> None:
        prompts.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    spare = files.get_by_role("row").filter(has_text="spare.ino.bin")
    spare.get_by_role("button", name="Delete spare.ino.bin", exact=False).click()
    expect(page.get_by_role("status")).to_have_text("The firmware file was deleted.")
    assert prompts == ["Delete the firmware file spare.ino.bin?"]
    expect(files.get_by_role("row").filter(has_text="spare.ino.bin")).to_have_count(0)

    shipped = files.get_by_role("row").filter(has_text="freezer.ino.bin").first
    shipped.get_by_role("button", name="Delete freezer.ino.bin", exact=False).click()
    expect(page.get_by_role("alert")).to_contain_text("delete the shipments first")
    expect(files.get_by_role("row").filter(has_text="freezer.ino.bin")).not_to_have_count(0)
