"""The console's Blynk.Air pages and the firmware Platform API over the in-process application
(issue #12 point 2): upload shows the firmware info, a shipment is created, paused, cancelled
and deleted, another organization sees nothing, DEV-12 announces the device's firmware."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_site import ADMIN, OTHER, USER, acme_spec, other_spec, sign_in

from inprocess import InProcessServer, in_process_server
from pinbase.domain.ids import DeviceId
from pinbase.domain.shipments import DeviceShipment, DeviceStatus
from pinbase.http.console.air_pages import shipment_report
from pinbase.services.bus import DeviceInfoReported
from pinbase.services.shipments import DeviceProgress

TAG = b"blnkinf\x00mcu\x001.2.3\x00fw-type\x00TMPLgreen\x00build\x00Dec  5 2026 10:00:00\x00\x00"
FIRMWARE = b"\x00" * 1000 + TAG + b"\xff" * 1000


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[InProcessServer, dict[str, Any]]]:
    """Acme and Other Corp; what Acme's provisioning created."""
    with in_process_server(tmp_path) as server:
        created = server.provision(acme_spec())
        server.provision(other_spec())
        yield server, created


def upload(http: httpx.Client, csrf: str, content: bytes = FIRMWARE) -> httpx.Response:
    return http.post(
        "/dashboard/air/firmware",
        data={"csrf_token": csrf},
        files={"file": ("greenhouse.ino.bin", content)},
    )


def test_upload_shows_the_firmware_info_and_a_shipment_runs_its_life(
    site: tuple[InProcessServer, dict[str, Any]],
) -> None:
    """Upload → info shown; create (live) → status table; pause, cancel, delete with notices."""
    server, created = site
    template_id = created["templates"][0]["id"]
    device_id = created["devices"][0]["id"]
    with server.client() as http:
        csrf = sign_in(http, ADMIN)
        page = http.get("/dashboard/air")
        assert page.status_code == 200
        assert 'href="/dashboard/air" aria-current="page"' in page.text
        answer = upload(http, csrf)
        assert answer.status_code == 303
        page = http.get(answer.headers["location"])
        assert "The firmware file was uploaded." in page.text
        assert "<code>1.2.3</code>" in page.text
        assert "<code>Dec 05 2026 10:00:00</code>" not in page.text  # pairs are shown as stored
        assert "<code>TMPLgreen</code>" in page.text
        firmware_id = re.search(r"greenhouse\.ino\.bin <span class=\"muted\">#(\d+)", page.text)
        assert firmware_id is not None
        form = {
            "csrf_token": csrf,
            "name": "Greenhouse 1.2.3",
            "template_id": str(template_id),
            "firmware_id": firmware_id.group(1),
            "target": "devices",
            "devices": [str(device_id)],
            "condition": "lower_version",
            "preferred_time": "any",
            "attempts_limit": "3",
            "reset_hours": "24",
            "start": "on",
        }
        made = http.post("/dashboard/air/shipments", data=form)
        assert made.status_code == 303, made.text
        shipment = http.get(made.headers["location"])
        assert "The shipment was created." in shipment.text
        assert '<dd id="shipment-state">Live</dd>' in shipment.text
        assert "Greenhouse North" in shipment.text
        assert '<td data-label="Status">Pending</td>' in shipment.text
        again = http.post("/dashboard/air/shipments", data=form)
        assert again.status_code == 400
        assert "exists already" in again.text
        base = made.headers["location"].partition("?")[0]
        assert f'href="{base}/report.csv" download' in shipment.text
        report = http.get(f"{base}/report.csv")
        assert report.headers["content-type"] == "text/csv; charset=utf-8"
        assert report.headers["content-disposition"].startswith("attachment; filename=")
        assert report.text.splitlines() == [
            "Device ID,Device,Status,Reason,Attempts,Previous version,Updated (UTC)",
            f"{device_id},Greenhouse North,Pending,,0,,",
        ]
        paused = http.post(f"{base}/pause", data={"csrf_token": csrf})
        assert paused.status_code == 303, paused.text
        assert '<dd id="shipment-state">Paused</dd>' in http.get(paused.headers["location"]).text
        refused = http.post(f"{base}/start", data={"csrf_token": csrf})
        assert refused.status_code == 303
        assert http.post(f"{base}/delete", data={"csrf_token": csrf}).status_code == 400
        cancelled = http.post(f"{base}/cancel", data={"csrf_token": csrf})
        assert "Cancelled" in http.get(cancelled.headers["location"]).text
        deleted = http.post(f"{base}/delete", data={"csrf_token": csrf})
        assert "The shipment was deleted." in http.get(deleted.headers["location"]).text
        assert http.get(base).status_code == 404


def test_bad_forms_answer_400_and_other_tenants_see_nothing(
    site: tuple[InProcessServer, dict[str, Any]],
) -> None:
    """An empty upload or a junk shipment form is 400 with a message; another organization's
    admin lists no firmware and gets 404 for the shipment; a plain user has no Blynk.Air."""
    server, created = site
    template_id = created["templates"][0]["id"]
    with server.client() as http:
        csrf = sign_in(http, ADMIN)
        assert upload(http, csrf, b"").status_code == 400
        upload(http, csrf)
        junk = http.post(
            "/dashboard/air/shipments",
            data={"csrf_token": csrf, "name": "x", "template_id": "abc", "condition": "zzz"},
        )
        assert junk.status_code == 400
        bad = http.post(
            "/dashboard/air/shipments",
            data={"csrf_token": csrf, "name": "y", "template_id": str(template_id)},
        )
        assert bad.status_code == 400
        assert "Choose a firmware file" in bad.text
        made = http.post(
            "/dashboard/air/shipments",
            data={
                "csrf_token": csrf,
                "name": "Draft one",
                "template_id": str(template_id),
                "firmware_id": re.findall(r"#(\d+)", http.get("/dashboard/air").text)[0],
            },
        )
        assert made.status_code == 303
        location = made.headers["location"].partition("?")[0]
        firmware_id = re.findall(r"#(\d+)", http.get("/dashboard/air").text)[0]
        deleting = f"/dashboard/air/firmware/{firmware_id}/delete"
    with server.client() as other:
        other_csrf = sign_in(other, OTHER)
        assert "No firmware files yet." in other.get("/dashboard/air").text
        assert other.get(location).status_code == 404
        assert other.get(f"{location}/report.csv").status_code == 404
        assert other.post(deleting, data={"csrf_token": other_csrf}).status_code == 404
    with server.client() as user:
        user_csrf = sign_in(user, USER)
        assert user.get("/dashboard/air").status_code == 404
        assert user.post(deleting, data={"csrf_token": user_csrf}).status_code == 404
    with server.client() as http:
        csrf = sign_in(http, ADMIN)
        assert f"#{firmware_id}</span>" in http.get("/dashboard/air").text


def test_dev12_announces_the_reported_firmware(
    site: tuple[InProcessServer, dict[str, Any]],
) -> None:
    """DEV-12 provision publishes ``DeviceInfoReported`` (an evaluation point, §1.7)."""
    server, created = site
    device = created["devices"][0]
    code = created["templates"][0]["templateId"]
    seen: list[DeviceInfoReported] = []
    unsubscribe = server.services.bus.subscribe(DeviceInfoReported, seen.append)
    try:
        with server.client() as http:
            query = f"token={device['token']}&templateId={code}&ver=1.0.0&fwType=TMPLgreen"
            assert http.get(f"/external/api/provision?{query}").status_code == 200
    finally:
        unsubscribe()
    assert [(item.device_id, item.version, item.fw_type) for item in seen] == [
        (device["id"], "1.0.0", "TMPLgreen")
    ]


def test_edgent_sys_ota_event_is_accepted_without_a_template_definition(
    site: tuple[InProcessServer, dict[str, Any]],
) -> None:
    """Edgent logs ``sys_ota`` "OTA started" (device-lifecycle.md §1.3); the template defines no
    such event, and it is accepted (§1.7 Events)."""
    server, created = site
    token = created["devices"][0]["token"]
    with server.client() as http:
        answer = http.get(
            f"/external/api/logEvent?token={token}&code=sys_ota&description=OTA+started"
        )
        assert answer.status_code == 200, answer.text


def test_the_report_defuses_cells_a_spreadsheet_would_run() -> None:
    """A device named like a formula gets a leading apostrophe in the CSV; times are ISO UTC."""
    row = DeviceShipment(
        shipment_id=1,
        device_id=DeviceId(4),
        status=DeviceStatus.UPLOAD_FAILURE,
        reason="the download broke off",
        attempts=2,
        updated_at=1_764_930_000_000,
        from_version="1.0.0",
    )
    lines = [DeviceProgress(device_id=DeviceId(4), name="=HYPERLINK(1)", row=row, online=False)]
    assert shipment_report(lines).splitlines()[1] == (
        "4,'=HYPERLINK(1),Upload failure,the download broke off,2,1.0.0,2025-12-05T10:20:00+00:00"
    )
