"""What a person does in the console, step by step, shared by the page tests that walk the
issue #9 flow: sign in, create a template and its datastreams, make a device and read its
firmware snippet, open its dashboard once it is live, keep a screenshot.
"""

import re
import tempfile
from pathlib import Path

from playwright.sync_api import Page, expect

SCREENSHOTS = Path(tempfile.gettempdir()) / "pinbase-screenshots"


def shoot(page: Page, name: str) -> None:
    """Keep what the page looks like now, outside the repository."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def log_in(page: Page, email: str, password: str) -> None:
    """Sign in through the form and land on the device list."""
    page.goto("/dashboard/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log In").click()
    expect(page.get_by_role("heading", name="Devices")).to_be_visible()


def create_template(page: Page, name: str, description: str) -> None:
    """Templates in the main menu, then the new template form: ends in its editor."""
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Templates").click()
    expect(page.get_by_role("heading", name="Templates", exact=True)).to_be_visible()
    page.get_by_label("Template name").fill(name)
    page.get_by_label("Description").fill(description)
    page.get_by_role("button", name="Create template").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()


def add_datastream(page: Page, name: str, pin: int, kind: str, **fields: str) -> None:
    """Fill the New datastream form on the Datastreams tab and save it."""
    page.get_by_role("link", name="New datastream").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Pin number").fill(str(pin))
    page.get_by_label("Data type").select_option(kind)
    for label, value in fields.items():
        control = page.get_by_label(label, exact=True)
        if label == "Decimals (Double)":
            control.select_option(value)
        else:
            control.fill(value)
    page.get_by_role("button", name="Save datastream").click()
    table = page.get_by_role("table", name="Datastreams")
    expect(table.get_by_role("rowheader", name=name)).to_be_visible()


def create_device(page: Page, template: str, name: str) -> str:
    """Devices, New Device from ``template``: the firmware snippet shown once, as text."""
    page.get_by_role("link", name="Devices", exact=True).click()
    page.get_by_role("link", name="New Device").click()
    choice = page.get_by_label("Template").locator("option", has_text=template)
    page.get_by_label("Template").select_option(choice.get_attribute("value"))
    page.get_by_label("Device name").fill(name)
    page.get_by_role("button", name="Create device").click()
    snippet = page.get_by_label("Firmware snippet")
    expect(snippet).to_contain_text("#define BLYNK_AUTH_TOKEN")
    return snippet.inner_text()


def snippet_token(snippet: str) -> str:
    """The device token the firmware snippet defines."""
    token = re.search(r'#define BLYNK_AUTH_TOKEN "([^"]+)"', snippet)
    assert token is not None, snippet
    return token.group(1)


def await_dashboard(page: Page) -> None:
    """Wait until the device page's widgets are mounted and hold the live snapshot."""
    expect(page.locator("[data-dashboard][data-live='ready']")).to_have_count(1)
    expect(page.locator("[data-dashboard][data-mounted='true']")).to_have_count(1)


def open_dashboard(page: Page, path: str) -> None:
    """Open a device page at ``path`` and wait until its dashboard is live."""
    page.goto(path)
    await_dashboard(page)
