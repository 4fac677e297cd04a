"""Issue #9's "Done when" flow end to end, as one person does it after ``make run``: sign in as
the console user ``pinbase demo`` prints, create a template with datastreams and a device from
it, connect a real ``blynklib`` device with the snippet's token, watch its values live and on a
chart of stored points, and flip its Switch; every step in the browser, none through the API.
Screenshots go to /tmp/pinbase-screenshots/console-demo-flow-*.png.
"""

import re
from pathlib import Path

from console_flow import (
    add_datastream,
    await_dashboard,
    create_device,
    create_template,
    log_in,
    shoot,
    snippet_token,
)
from playwright.sync_api import Browser, Page, expect

from interop.interop_driver import BLYNKLIB, DeviceClient
from pinbase.testing import ServerProcess, free_port, run_cli

DESKTOP = {"width": 1280, "height": 900}
TEMPERATURES = ("21.5", "22.5", "23.5")
"""What the device writes to V2, one at a time: three stored points for the chart."""


def printed(output: str, field: str) -> str:
    """The value ``make run`` printed after ``field:`` (``Console e-mail``, …)."""
    found = re.search(rf"^{re.escape(field)}: +(\S+)$", output, re.MULTILINE)
    assert found is not None, output
    return found.group(1)


def device_address(snippet: str) -> tuple[str, int]:
    """The host and port the snippet's ``Blynk.begin`` connects to."""
    begin = re.search(r'Blynk\.begin\(BLYNK_AUTH_TOKEN, ssid, pass, "([^"]+)", (\d+)\);', snippet)
    assert begin is not None, snippet
    return begin.group(1), int(begin.group(2))


def show_live_table(page: Page) -> None:
    """Switch the Temperature chart to the Live range and open its data table."""
    chart = page.get_by_role("figure", name="Temperature")
    chart.get_by_role("radio", name="Live").click()
    expect(chart.get_by_role("radio", name="Live")).to_have_attribute("aria-checked", "true")
    chart.get_by_role("button", name="Show data table").click()


def expect_temperature_rows(page: Page) -> None:
    """The Live data table holds one row per written temperature, oldest first."""
    table = page.get_by_role("table", name="Temperature, Live")
    rows = table.get_by_role("row").filter(has=page.get_by_role("cell"))
    expect(rows).to_have_count(len(TEMPERATURES))
    for row, value in zip(rows.all(), TEMPERATURES, strict=True):
        expect(row.get_by_role("cell").first).to_have_text(f"{value} °C")


def test_the_demo_user_builds_connects_watches_and_controls_a_device(
    browser: Browser, tmp_path: Path
) -> None:
    """With what ``pinbase demo`` prints: template, device, blynklib with the snippet's token,
    values live and on the chart, the Relay switch reaching the device's V1 handler."""
    data = tmp_path / "data"
    http_port, hardware_port = free_port(), free_port()
    ports = ("--http-port", str(http_port), "--hardware-port", str(hardware_port))
    output = run_cli("demo", "--data", str(data), *ports).stdout
    email, password = printed(output, "Console e-mail"), printed(output, "Console password")
    with ServerProcess(data, f"--hardware-port={hardware_port}", port=http_port) as server:
        context = browser.new_context(base_url=server.base_url, viewport=DESKTOP)
        page = context.new_page()
        page.goto(printed(output, "Web console"))
        expect(page.get_by_role("button", name="Log In")).to_be_visible()
        log_in(page, email, password)

        create_template(page, "Greenhouse", "A relay and a thermometer")
        add_datastream(page, "Relay", 1, "INT", Min="0", Max="1")
        add_datastream(page, "Temperature", 2, "DOUBLE", Units="°C", **{"Decimals (Double)": "#.#"})
        shoot(page, "console-demo-flow-template-1280")
        snippet = create_device(page, "Greenhouse", "Greenhouse 1")
        host, port = device_address(snippet)
        assert port == hardware_port
        shoot(page, "console-demo-flow-device-token-1280")
        page.get_by_role("link", name="Open Greenhouse 1").click()
        await_dashboard(page)
        tabs = page.get_by_role("navigation", name="Device sections")
        expect(tabs.get_by_role("link", name="Dashboard")).to_have_attribute("aria-current", "page")
        show_live_table(page)

        token = snippet_token(snippet)
        with DeviceClient(
            BLYNKLIB, token, server=host, port=port, log_dir=tmp_path
        ).started() as device:
            expect(page.locator("[data-device-status]")).to_have_text("Online")
            gauge = page.get_by_role("meter", name="Temperature")
            for value in TEMPERATURES:
                device.command("write", pin=2, values=[value])
                expect(gauge).to_have_attribute("aria-valuetext", f"{value} °C")
            expect_temperature_rows(page)
            shoot(page, "console-demo-flow-live-1280")

            page.reload()  # the chart now reads the points back from storage
            await_dashboard(page)
            show_live_table(page)
            expect_temperature_rows(page)
            shoot(page, "console-demo-flow-stored-chart-1280")

            relay = page.get_by_role("switch", name="Relay")
            relay.click()
            device.expect("write", pin=1, values=["1"])
            expect(relay).to_have_attribute("aria-checked", "true")
            relay.click()
            device.expect("write", pin=1, values=["0"])
            expect(relay).to_have_attribute("aria-checked", "false")
            shoot(page, "console-demo-flow-switch-1280")
        context.close()
