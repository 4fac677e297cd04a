"""A real ``blynk-library-python`` device logs an event against ``pinbase serve`` whose owner
enabled notifications in a browser, and both notifications reach their person (automations.md
§1.8 step 8, §2.2, §2.3, §5.1 to §5.3; issue #10 "Done when"): the e-mail arrives at a real SMTP
server (``aiosmtpd``) and the push at a local push service, decrypted with the keys of the
browser the owner subscribed through the console. The outbox rows carry the rendered payloads,
the notification log ends ``SENT``, and the owner's Notifications page lists the push."""

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from interop_driver import BLYNK_LIBRARY_PYTHON, DeviceClient, InteropServer, eventually
from mailed_server import mailed_server
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from push_browser import Browser
from smtp_mailbox import Mailbox, smtp_server

OWNER = "olivia@acme.test"
PASSWORD = "correct horse battery"
SPEC: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "users": [{"email": OWNER, "name": "Olivia", "roleId": 1, "password": PASSWORD}],
    "templates": [
        {
            "name": "Boiler",
            "events": [
                {
                    "eventCode": "overheat",
                    "name": "Overheat",
                    "type": "WARNING",
                    "notifications": {
                        "enabled": True,
                        "email": [{"kind": "DEVICE_OWNER"}],
                        "push": [{"kind": "DEVICE_OWNER"}],
                    },
                }
            ],
        }
    ],
    "devices": [{"name": "Boiler 1", "template": "Boiler", "owner": OWNER}],
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ARRIVAL_S = 10
"""How long the test waits for the mail and the push (a bound, not a measurement)."""


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on loopback and what it received."""
    with smtp_server() as box:
        yield box


@pytest.fixture(scope="module")
def boiler_server(
    tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox
) -> Iterator[InteropServer]:
    """A server with the plain binary listener, e-mail through the test's SMTP server, loopback
    allowed as an outbound target, and one owned boiler whose event notifies."""
    data_dir = tmp_path_factory.mktemp("event-notifications")
    with mailed_server(
        data_dir, SPEC, smtp_port=mailbox.port, from_address="pinbase@example.com"
    ) as server:
        yield server


@contextmanager
def owner_console(server: InteropServer) -> Iterator[httpx.Client]:
    """A client signed in to the console as the owner."""
    with httpx.Client(base_url=server.process.base_url) as http:
        signed_in = http.post("/dashboard/login", data={"email": OWNER, "password": PASSWORD})
        assert signed_in.status_code == 303
        yield http


def subscribe_owner(server: InteropServer, browser: Browser, endpoint: str) -> None:
    """Sign in as the owner and subscribe ``browser``, as the Notifications page does."""
    with owner_console(server) as http:
        found = CSRF.search(http.get("/dashboard").text)
        assert found is not None
        answer = http.post(
            "/dashboard/api/push/subscriptions",
            json=browser.subscription(endpoint),
            headers={"X-CSRF-Token": found.group(1)},
        )
    assert answer.status_code == 201, answer.text


def test_a_logged_event_reaches_the_owner_by_email_and_push(
    boiler_server: InteropServer,
    mailbox: Mailbox,
    httpserver: HTTPServer,
    tmp_path: Path,
) -> None:
    """``log_event('overheat', 'too hot')``: an EMAIL and a PUSH outbox row for the owner with
    the rendered payloads; the mail arrives, the push arrives and decrypts to the same message,
    both log rows end SENT, and the owner's Notifications page lists it."""
    box = mailbox
    pushed = threading.Event()

    def push_service(request: Request) -> Response:
        pushed.set()
        return Response("", status=201)

    httpserver.expect_request("/push/olivia", method="POST").respond_with_handler(push_service)
    browser = Browser.new()
    subscribe_owner(boiler_server, browser, httpserver.url_for("/push/olivia"))
    device = boiler_server.devices[0]
    outbox = "SELECT id, kind, source, payload FROM outbox ORDER BY kind"
    with DeviceClient(
        BLYNK_LIBRARY_PYTHON, device["token"], port=boiler_server.hardware_port, log_dir=tmp_path
    ).started() as client:
        client.command("log_event", code="overheat", description="too hot")
        assert eventually(lambda: len(boiler_server.rows(outbox)) == 2)
    (email_id, email_kind, source, email_text), (push_id, push_kind, _, push_text) = (
        boiler_server.rows(outbox)
    )
    assert (email_kind, push_kind, source) == ("EMAIL", "PUSH", "EVENT")
    email, push = json.loads(email_text), json.loads(push_text)
    assert email["to"] == OWNER
    assert email["subject"] == "Warning: Boiler 1: Overheat"
    assert "too hot" in email["text"]
    assert email["headers"]["X-Pinbase-Occurrence"].isdigit()
    assert (push["title"], push["body"], push["severity"]) == (
        "Boiler 1",
        "Overheat: too hot",
        "WARNING",
    )
    assert push["userId"] == device["ownerUserId"]

    assert box.arrived.wait(ARRIVAL_S)
    [message] = box.messages
    assert message["To"] == OWNER
    assert message["Subject"] == "Warning: Boiler 1: Overheat"
    assert message["Message-ID"] == f"<{email_id}@example.com>"
    assert pushed.wait(ARRIVAL_S)
    [(request, _)] = httpserver.log
    received = browser.decrypt(request.get_data())
    assert received == {key: value for key, value in push.items() if key != "userId"}

    log = "SELECT channel, source, status, outbox_id FROM notification_log ORDER BY id"
    assert eventually(
        lambda: (
            boiler_server.rows(log)
            == [("EMAIL", "EVENT", "SENT", email_id), ("PUSH", "EVENT", "SENT", push_id)]
        )
    ), boiler_server.rows(log)
    with owner_console(boiler_server) as http:
        inbox = http.get("/dashboard/notifications").text
    assert "Boiler 1" in inbox
    assert "Overheat: too hot" in inbox
