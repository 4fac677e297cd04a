"""End-user notification management on the device page (automations.md §1.5), in process with a
real SMTP server: the Info tab lists the events whose notifications users may manage; a user's
picks receive the event's e-mail beside the template's default recipient; a mute suppresses the
messages (logged ``MUTED``) while the occurrence is still stored, and ends by itself."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from console_site import ADMIN, OTHER, PASSWORD, STAFF, USER, other_spec, sign_in

from inprocess import InProcessServer, in_process_server, user_id_of
from pinbase.domain.ids import DeviceId, OrgId
from pinbase.domain.templates import TemplateEvent
from pinbase.services.clock import system_clock
from pinbase.storage.notifications import NotificationRecord
from smtp_mailbox import Mailbox, smtp_server

ARRIVAL_S = 10
"""How long a test waits for a message to arrive (a bound, not a measurement)."""

SPEC: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "users": [
        {"email": ADMIN, "name": "Ada Admin", "roleId": 1, "password": PASSWORD},
        {"email": STAFF, "name": "Sam Staff", "roleId": 2, "password": PASSWORD},
        {"email": USER, "name": "Uma User", "roleId": 3, "password": PASSWORD},
    ],
    "templates": [
        {
            "name": "Freezer",
            "datastreams": [],
            "events": [
                {
                    "eventCode": "warm",
                    "name": "Too warm",
                    "type": "CRITICAL",
                    "notifications": {
                        "enabled": True,
                        "email": [{"kind": "DEVICE_OWNER"}],
                        "allowUserManagement": True,
                    },
                },
                {
                    "eventCode": "door",
                    "name": "Door opened",
                    "type": "INFORMATION",
                    "notifications": {"enabled": True, "email": [{"kind": "DEVICE_OWNER"}]},
                },
            ],
        }
    ],
    "devices": [
        {"name": "Uma's Freezer", "template": "Freezer", "owner": USER},
        {"name": "Cellar Freezer", "template": "Freezer"},
    ],
}


class HandClock:
    """A clock the test moves by hand (past the 1 s and 5 s limits, past a mute)."""

    def __init__(self) -> None:
        self.now = system_clock()

    def __call__(self) -> int:
        return self.now


@dataclass
class Site:
    """The application, its SMTP server, its clock and the provisioned ids."""

    server: InProcessServer
    mailbox: Mailbox
    clock: HandClock
    device: int
    token: str
    other_device: int
    org_id: int

    def page(self, http: httpx.Client) -> str:
        """The device's Info tab."""
        answer = http.get(f"/dashboard/devices/{self.device}", params={"tab": "info"})
        assert answer.status_code == 200, answer.text
        return answer.text

    def log_warm(self) -> None:
        """The device logs ``warm`` through DEV-07, 10 s after the previous step (past the 1 s
        and 5 s limits)."""
        self.clock.now += 10_000
        with self.server.client() as http:
            answer = http.get(
                "/external/api/logEvent", params={"token": self.token, "code": "warm"}
            )
        assert answer.status_code == 200, answer.text

    def log_rows(self) -> list[NotificationRecord]:
        """The device's notification log, newest first."""
        return self.server.run(
            lambda: self.server.services.notifications.log_page(
                OrgId(self.org_id), device_id=self.device
            )
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Acme with Uma's freezer (managed event ``warm``), Other Corp, and a real SMTP server."""
    clock = HandClock()
    with (
        smtp_server() as mailbox,
        in_process_server(
            tmp_path_factory.mktemp("device-notifications"),
            clock=clock,
            smtp_host="127.0.0.1",
            smtp_port=mailbox.port,
            smtp_security="none",
            smtp_from_address="pinbase@example.com",
            outbound_allowed_networks=("127.0.0.1/32",),
        ) as server,
    ):
        created = server.provision(SPEC)
        other = server.provision(other_spec())
        device = created["devices"][0]
        bound = server.services.directory.by_id(DeviceId(int(device["id"])))
        assert bound is not None
        yield Site(
            server=server,
            mailbox=mailbox,
            clock=clock,
            device=int(device["id"]),
            token=device["token"],
            other_device=int(other["devices"][0]["id"]),
            org_id=int(bound.device.org_id),
        )


def wait_for_mail(mailbox: Mailbox, count: int) -> None:
    """Wait until ``count`` messages have arrived in all (bounded)."""
    while len(mailbox.messages) < count:
        mailbox.arrived.clear()
        if len(mailbox.messages) >= count:
            break
        assert mailbox.arrived.wait(ARRIVAL_S), f"{len(mailbox.messages)} of {count} arrived"


def form(csrf: str, **fields: Any) -> dict[str, Any]:
    """A Notifications form body."""
    return {"csrf_token": csrf, **fields}


def test_info_tab_lists_only_managed_events(site: Site) -> None:
    """The owner sees "Too warm" (management allowed) with its controls, not "Door opened"."""
    with site.server.client() as http:
        sign_in(http, USER)
        page = site.page(http)
    assert 'id="notifications"' in page
    assert "Too warm" in page
    assert "Door opened" not in page
    assert 'aria-label="Apply: Too warm"' in page
    assert "Not muted" in page


def test_users_picks_receive_the_event_beside_the_default(site: Site) -> None:
    """The owner picks Ada for e-mail: one occurrence mails the owner (template default) and Ada."""
    admin_id = user_id_of(site.server, ADMIN)
    with site.server.client() as http:
        csrf = sign_in(http, USER)
        event_id = _event_id(site)
        saved = http.post(
            f"/dashboard/devices/{site.device}/notifications/{event_id}",
            data=form(csrf, email_on="on", email_to=[f"user:{admin_id}"]),
        )
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"].endswith("?tab=info&notifications=saved#notifications")
        page = http.get(saved.headers["location"]).text
    assert "Notification settings saved." in page
    assert f'value="user:{admin_id}" selected' in page
    before = len(site.mailbox.messages)
    site.log_warm()
    wait_for_mail(site.mailbox, before + 2)
    received = {message["To"] for message in site.mailbox.messages[before:]}
    assert received == {USER, ADMIN}


def test_a_muted_event_is_stored_and_logged_muted(site: Site) -> None:
    """Muted for an hour: the occurrence is on the timeline, each message is logged ``MUTED``
    and none is queued; two hours later the event notifies again."""
    with site.server.client() as http:
        csrf = sign_in(http, USER)
        admin_id = user_id_of(site.server, ADMIN)
        saved = http.post(
            f"/dashboard/devices/{site.device}/notifications/{_event_id(site)}",
            data=form(csrf, email_on="on", email_to=[f"user:{admin_id}"], mute="3600"),
        )
        assert saved.status_code == 303, saved.text
        page = site.page(http)
    assert "Muted until" in page
    assert "Unmute" in page
    newest = max((row.id for row in site.log_rows()), default=0)
    site.log_warm()
    rows = [row for row in site.log_rows() if row.id > newest]
    assert {(row.status, row.reason) for row in rows} == {("SUPPRESSED", "MUTED")}
    assert len(rows) == 2
    before = len(site.mailbox.messages)
    site.clock.now += 2 * 3_600_000
    site.log_warm()
    wait_for_mail(site.mailbox, before + 2)
    with site.server.client() as http:
        sign_in(http, USER)
        assert "Not muted" in site.page(http)


def test_unmute_ends_a_mute_at_once(site: Site) -> None:
    """ "Unmute" clears a running mute."""
    with site.server.client() as http:
        csrf = sign_in(http, USER)
        url = f"/dashboard/devices/{site.device}/notifications/{_event_id(site)}"
        assert http.post(url, data=form(csrf, mute="86400")).status_code == 303
        assert "Muted until" in site.page(http)
        assert http.post(url, data=form(csrf, mute="0")).status_code == 303
        assert "Muted until" not in site.page(http)


def test_refusals(site: Site) -> None:
    """Another organization's device and an unmanaged event are 404, a user of another
    organization or a forged value 400, an over-long mute 400; nothing is saved."""
    other_user = user_id_of(site.server, OTHER)
    event_id = _event_id(site)
    with site.server.client() as http:
        csrf = sign_in(http, USER)
        base = f"/dashboard/devices/{site.device}/notifications"
        door = next(
            e.id for e in _template_events(site) if e.code == "door"
        )  # management not allowed
        assert http.post(f"{base}/{door}", data=form(csrf)).status_code == 404
        foreign = f"/dashboard/devices/{site.other_device}/notifications/{event_id}"
        assert http.post(foreign, data=form(csrf)).status_code == 404
        bad_user = http.post(f"{base}/{event_id}", data=form(csrf, email_to=[f"user:{other_user}"]))
        assert bad_user.status_code == 400
        assert "not a member" in bad_user.text
        assert http.post(f"{base}/{event_id}", data=form(csrf, push_to="x")).status_code == 400
        assert http.post(f"{base}/{event_id}", data=form(csrf, mute="99999999")).status_code == 400
        assert http.post(f"{base}/{event_id}", data=form(csrf, mute="-1")).status_code == 400
        assert http.post(f"{base}/{event_id}", data=form(csrf, mute="٣")).status_code == 400
        too_many = [f"user:{n}" for n in range(1, 60)]
        assert http.post(f"{base}/{event_id}", data=form(csrf, push_to=too_many)).status_code == 400
        assert http.post(f"{base}/{10**30}", data=form(csrf)).status_code == 404


def test_staff_may_manage_a_device_of_the_organization(site: Site) -> None:
    """Staff controls the organization's devices, so it may change their notifications too."""
    with site.server.client() as http:
        csrf = sign_in(http, STAFF)
        answer = http.post(
            f"/dashboard/devices/{site.device}/notifications/{_event_id(site)}",
            data=form(csrf, push_on="on", push_to="members"),
        )
        assert answer.status_code == 303, answer.text
        assert 'value="members" selected' in site.page(http)


def _template_events(site: Site) -> tuple[TemplateEvent, ...]:
    bound = site.server.services.directory.by_id(DeviceId(site.device))
    assert bound is not None
    return bound.template.events


def _event_id(site: Site) -> int:
    return next(event.id for event in _template_events(site) if event.code == "warm")
