"""The console's event form edits notification settings (automations.md §1.2), in process:
recipients per channel by check box (device owner, all members, address metadata fields),
the limits, alerts and the timeline switches round-trip; bad limits stay on the form with the
message; the Platform API reads what the form saved."""

import html
import re
from collections.abc import Iterator

import httpx
import pytest
from console_site import ADMIN, acme_and_other, sign_in

from inprocess import InProcessServer


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """Acme (Admin, Staff, User) and Other Corp."""
    with acme_and_other(tmp_path_factory.mktemp("event-notifications")) as server:
        yield server


@pytest.fixture
def http(site: InProcessServer) -> Iterator[httpx.Client]:
    """A fresh client for the site."""
    with site.client() as client:
        yield client


def checked(page: str, name: str) -> set[str]:
    """The values of the checked boxes named ``name``."""
    boxes = re.findall(
        rf'<input id="[^"]*" name="{name}" type="checkbox" value="([^"]*)"( checked)?', page
    )
    return {html.unescape(value) for value, on in boxes if on}


def test_notification_settings_round_trip_through_the_form(http: httpx.Client) -> None:
    """Saved recipients, limits and switches show checked and filled when the event is edited."""
    csrf = sign_in(http, ADMIN)
    created = http.post("/dashboard/templates", data={"csrf_token": csrf, "name": "Fridge"})
    editor = created.headers["location"].split("?")[0]
    meta = {"name": "Service mail", "type": "Email", "csrf_token": csrf}
    assert http.post(f"{editor}/metadata", data=meta).status_code == 303
    form = http.get(editor, params={"tab": "events", "edit": "new"}).text
    assert 'value="metafield:1"' in form
    event = {
        "csrf_token": csrf,
        "code": "warm",
        "name": "Warm",
        "type": "CRITICAL",
        "notify": "on",
        "email_to": ["owner", "metafield:1"],
        "push_to": "members",
        "sms_to": "owner",
        "deliver_as_alert": "on",
        "allow_user_management": "on",
        "limit_period": "3600",
        "every_n": "5",
        "send_to_notifications_tab": "on",
    }
    assert http.post(f"{editor}/events", data=event).status_code == 303
    page = http.get(editor, params={"tab": "events", "edit": "1"}).text
    assert checked(page, "email_to") == {"owner", "metafield:1"}
    assert checked(page, "push_to") == {"members"}
    assert checked(page, "sms_to") == {"owner"}
    # An SMS goes to a phone: an Email metadata field is not offered for it.
    assert 'name="sms_to" type="checkbox" value="metafield:1"' not in page
    assert checked(page, "notify") == {"on"}
    assert checked(page, "deliver_as_alert") == {"on"}
    assert checked(page, "allow_user_management") == {"on"}
    assert checked(page, "show_on_timeline") == set()
    assert 'name="limit_period" type="number" value="3600"' in page
    assert 'name="every_n" type="number" value="5"' in page


def test_bad_limits_and_recipients_stay_on_the_form(http: httpx.Client) -> None:
    """A zero counter and an unknown recipient answer 400 with the message; nothing is saved."""
    csrf = sign_in(http, ADMIN)
    created = http.post("/dashboard/templates", data={"csrf_token": csrf, "name": "Oven"})
    editor = created.headers["location"].split("?")[0]
    base = {"csrf_token": csrf, "code": "hot", "name": "Hot", "type": "WARNING"}
    refused = http.post(f"{editor}/events", data={**base, "every_n": "0"})
    assert refused.status_code == 400
    assert "everyN must be" in html.unescape(refused.text)
    refused = http.post(f"{editor}/events", data={**base, "email_to": "boss"})
    assert refused.status_code == 400
    assert "unknown recipient" in html.unescape(refused.text)
    refused = http.post(f"{editor}/events", data={**base, "email_to": "metafield:9"})
    assert refused.status_code == 400
    assert "not a Device Owner, Contact or Email field" in html.unescape(refused.text)
    assert "No events yet." in http.get(editor, params={"tab": "events"}).text
