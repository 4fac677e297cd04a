"""The console's Automations and Webhooks pages in headless Chromium against a real
``pinbase serve`` (issue #10 items 2 and 3): a Device State automation made through the form,
listed and switched off; a scene executed and its run read in the log; a webhook made through
the form and tested against a real local receiver; screenshots at 1280 and 375 px."""

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect
from test_console_pwa import audit

from pinbase.http.console.automation_form import ACTION_LABELS
from pinbase.testing import ServerProcess, provision
from webhook_receiver import Receiver, threaded_receiver

SCREENSHOTS = Path(tempfile.gettempdir()) / "pinbase-screenshots"
PASSWORD = "correct horse battery"
ADMIN = "admin@acme.test"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 375, "height": 740}

ACME: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "users": [{"email": ADMIN, "name": "Ada Admin", "roleId": 1, "password": PASSWORD}],
    "templates": [
        {
            "name": "Greenhouse",
            "datastreams": [
                {"id": 1, "label": "Temperature", "pin": 1, "type": "DOUBLE"},
                {"id": 2, "label": "Relay", "pin": 2, "type": "INT", "min": 0, "max": 1},
            ],
        }
    ],
    "devices": [{"name": "Greenhouse North", "template": "Greenhouse"}],
}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """A real HTTP receiver on 127.0.0.1 for the webhook's test."""
    with threaded_receiver() as started:
        yield started


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Acme provisioned, then ``pinbase serve`` allowed to call 127.0.0.1 (the receiver)."""
    data = tmp_path_factory.mktemp("console-rules")
    provision(ACME, data_dir=data)
    env = {"PINBASE_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32"}
    with ServerProcess(data, env=env) as started:
        yield started


@pytest.fixture
def page(browser: Browser, server: ServerProcess) -> Iterator[Page]:
    """A desktop browser page signed in as Acme's Admin through the sign-in form."""
    context: BrowserContext = browser.new_context(base_url=server.base_url, viewport=DESKTOP)
    signed = context.new_page()
    signed.goto("/dashboard/login")
    signed.get_by_label("Email").fill(ADMIN)
    signed.get_by_label("Password").fill(PASSWORD)
    signed.get_by_role("button", name="Log In").click()
    expect(signed.get_by_role("heading", name="Devices")).to_be_visible()
    yield signed
    context.close()


def open_section(page: Page, label: str) -> None:
    """Follow a link of the main menu."""
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name=label).click()
    expect(page.get_by_role("heading", name=label, exact=True)).to_be_visible()


def shoot(page: Page, name: str) -> None:
    """Keep what the page looks like now at 1280 and 375 px, outside the repository."""
    SCREENSHOTS.mkdir(exist_ok=True)
    for width, size in (("1280", DESKTOP), ("375", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=SCREENSHOTS / f"console-{name}-{width}.png", full_page=True)
    page.set_viewport_size(DESKTOP)


def add_action(page: Page, kind: str) -> None:
    """Pick an action kind under "Do this" and press Add action."""
    page.get_by_label("New action").select_option(label=kind)
    page.get_by_role("button", name="Add action").click()


def test_a_device_state_automation_is_made_listed_and_switched_off(page: Page) -> None:
    """When Temperature > 30 set Relay to 1: made through the form, shown as a card with its
    condition and one action, switched off with its switch; on the device's Info tab the
    device is switched out of it."""
    open_section(page, "Automations")
    page.get_by_role("link", name="New automation").click()
    page.get_by_label("Name").fill("Hot greenhouse")
    page.get_by_label("Condition").select_option(label="Device State")
    page.get_by_label("Device and datastream").select_option(
        label="Greenhouse North · Temperature (V1)"
    )
    page.get_by_label("Operator").select_option(label="Greater than")
    page.get_by_label("Operand", exact=True).fill("30")
    page.get_by_label("Limit period").select_option(label="1 hour")
    add_action(page, "Control Device")
    expect(page.get_by_role("group", name="Action 1: Control Device")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Hot greenhouse")  # kept across the op
    page.get_by_label("Set datastream (action 1)").select_option(
        label="Greenhouse North · Relay (V2)"
    )
    page.get_by_label("Value (action 1)").fill("1")
    page.get_by_role("button", name="Create automation").click()
    expect(page.get_by_text("The automation was created.")).to_be_visible()
    expect(page.get_by_label("Operand", exact=True)).to_have_value("30")
    shoot(page, "automation-editor")

    open_section(page, "Automations")
    card = page.get_by_role("listitem").filter(has_text="Hot greenhouse")
    expect(card).to_contain_text("When Greenhouse North · Temperature (V1) greater than 30")
    expect(card).to_contain_text("1 action")
    switch = page.get_by_role("switch", name="Enabled: Hot greenhouse")
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    expect(page.get_by_text("The automation is disabled")).to_be_visible()
    expect(page.get_by_role("switch", name="Enabled: Hot greenhouse")).to_have_attribute(
        "aria-checked", "false"
    )
    shoot(page, "automations")

    page.goto("/dashboard/devices")
    page.get_by_role("link", name="Greenhouse North").first.click()
    page.get_by_role("link", name="Info").click()
    takes_part = page.get_by_role("switch", name="Takes part: Hot greenhouse")
    expect(takes_part).to_have_attribute("aria-checked", "true")
    takes_part.click()
    expect(page.get_by_role("switch", name="Takes part: Hot greenhouse")).to_have_attribute(
        "aria-checked", "false"
    )


def test_a_scene_is_executed_and_its_run_is_in_the_log(page: Page) -> None:
    """A scene that sets Relay to 1 and waits: Execute automation on its card runs it, and its
    page's log shows the Device Action row with status OK."""
    open_section(page, "Automations")
    page.get_by_role("link", name="New automation").click()
    page.get_by_label("Name").fill("Lights on")
    page.get_by_label("Condition").select_option(label="Scene")
    expect(page.get_by_label("Device and datastream")).to_be_hidden()
    add_action(page, "Control Device")
    page.get_by_label("Set datastream (action 1)").select_option(
        label="Greenhouse North · Relay (V2)"
    )
    page.get_by_label("Value (action 1)").fill("1")
    add_action(page, "Log Event")
    add_action(page, "Wait")
    page.get_by_role("button", name="Move action 3 up").click()
    expect(page.get_by_role("group", name="Action 2: Wait")).to_be_visible()
    page.get_by_role("button", name="Remove action 3").click()
    expect(page.get_by_role("group", name="Action 3: Log Event")).to_have_count(0)
    page.get_by_label("Seconds (action 2)").fill("600")
    page.get_by_role("button", name="Create automation").click()
    expect(page.get_by_text("The automation was created.")).to_be_visible()

    open_section(page, "Automations")
    page.get_by_role("button", name="Execute automation Lights on").click()
    expect(page.get_by_text("The automation ran")).to_be_visible()
    log = page.get_by_role("table", name="Run log")
    row = log.get_by_role("row").filter(has_text="Device Action")
    expect(row).to_contain_text("Greenhouse North")
    expect(row).to_contain_text("Relay (V2)")
    expect(row).to_contain_text("OK")
    page.get_by_role("button", name="Stop pending runs").click()
    expect(page.get_by_text("Pending runs were stopped.")).to_be_visible()
    shoot(page, "automation-log")


def test_a_webhook_is_made_and_tested_against_the_receiver(page: Page, receiver: Receiver) -> None:
    """Device Datastream Update on Temperature posting JSON: Test webhook shows the receiver's
    200 before saving, the webhook is created, listed, and its Information tab shows it."""
    open_section(page, "Webhooks")
    page.get_by_role("link", name="New webhook").click()
    page.get_by_label("Webhook trigger event").select_option(label="Device Datastream Update")
    page.get_by_label("Device and datastream").select_option(
        label="Greenhouse North · Temperature (V1)"
    )
    expect(page.get_by_label("Template and datastream")).to_be_hidden()
    page.get_by_label("Webhook name").fill("Farm feed")
    page.get_by_label("Webhook URL").fill(f"{receiver.url}/hook?d={{device_id}}")
    page.get_by_label("Content type").select_option(label="Custom JSON")
    page.get_by_label("Body").fill('{"v": "{device_pinValue}"}')
    page.get_by_label("HTTP header key 1").fill("X-Source")
    page.get_by_label("HTTP header value 1").fill("pinbase")
    page.get_by_label("Authorization method").select_option(label="Basic Auth")
    page.get_by_label("Username").fill("farm")
    page.get_by_label("Password").fill("s3cret-pass")
    page.get_by_role("button", name="Test webhook").click()
    result = page.get_by_role("status").filter(has_text="Test result")
    expect(result).to_contain_text("200")
    expect(result).to_contain_text("ok")
    assert receiver.received[-1].header("X-Source") == "pinbase"
    page.get_by_label("Password").fill("s3cret-pass")  # write-only: never sent back to the page
    page.get_by_role("button", name="Create webhook").click()
    expect(page.get_by_text("The webhook was created.")).to_be_visible()
    assert "s3cret-pass" not in page.content()
    page.get_by_role("link", name="Information").click()
    expect(page.get_by_text("Device Datastream Update")).to_be_visible()
    shoot(page, "webhook-information")

    open_section(page, "Webhooks")
    row = page.get_by_role("row").filter(has_text="Farm feed")
    expect(row).to_contain_text("Enabled")
    expect(row).to_contain_text("Device Datastream Update")
    row.get_by_text("⋯").click()
    row.get_by_role("button", name="Disable Farm feed").click()
    expect(page.get_by_text("The webhook is disabled")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="Farm feed")).to_contain_text("Disabled")
    shoot(page, "webhooks")


def test_the_editors_fit_a_phone(page: Page) -> None:
    """At 375 px the automation editor with one action of each kind, the automation list and
    log, and the webhook editor, list and tabs pass the console's phone audit (no sideways
    scrolling, 44 px targets, readable text)."""
    page.set_viewport_size(PHONE)
    page.goto("/dashboard/automations/new")
    for kind in ACTION_LABELS.values():
        add_action(page, kind)
    problems = audit(page, "automation-editor")
    for path in ("/dashboard/automations", "/dashboard/automations/1", "/dashboard/webhooks/new"):
        page.goto(path)
        problems += audit(page, path.replace("/", "-").strip("-"))
    for tab in ("", "?tab=info", "?tab=logs"):
        page.goto(f"/dashboard/webhooks/1{tab}")
        problems += audit(page, f"webhook{tab.replace('?tab=', '-')}")
    page.goto("/dashboard/webhooks")
    problems += audit(page, "webhooks")
    assert problems == [], "\n".join(problems)
