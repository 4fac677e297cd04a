"""A real ``blynk-library-python`` device logs an event against ``pinbase serve`` and its
notifications are committed to the outbox with the occurrence (automations.md §1.8 step 8,
§2.2, §2.3): one e-mail and one push for the owner, with the rendered payloads. The e-mail
arrives at a real SMTP server (``aiosmtpd``) and the log row turns SENT; the owner enabled no
browser, so the push is logged ``NO_PUSH_TARGET``."""

import json
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from interop_driver import BLYNK_LIBRARY_PYTHON, DeviceClient, InteropServer, eventually
from mailed_server import mailed_server

from smtp_mailbox import Mailbox, smtp_server

OWNER = "olivia@acme.test"
SPEC: dict[str, Any] = {
    "organization": {"name": "Acme"},
    "users": [{"email": OWNER, "name": "Olivia", "roleId": 1, "password": "pw"}],
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
                },
                {
                    "eventCode": "sys_offline",
                    "name": "Offline",
                    "notifications": {"enabled": True, "email": [{"kind": "DEVICE_OWNER"}]},
                },
            ],
        }
    ],
    "devices": [
        {"name": "Boiler 1", "template": "Boiler", "owner": OWNER},
        {"name": "Boiler 2", "template": "Boiler", "owner": OWNER},
    ],
}


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on loopback and what it received."""
    with smtp_server() as received:
        yield received


@pytest.fixture(scope="module")
def boiler_server(
    tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox
) -> Iterator[InteropServer]:
    """A server with the plain binary listener, SMTP to ``mailbox`` (loopback allowed) and one
    owned boiler whose event notifies."""
    data_dir = tmp_path_factory.mktemp("event-notifications")
    # Offline notifications go out at the disconnect, so the test waits for nothing.
    env = {"PINBASE_OFFLINE_NOTIFICATION_DELAY_S": "0"}
    with mailed_server(
        data_dir, SPEC, smtp_port=mailbox.port, from_address="pinbase@acme.test", env=env
    ) as server:
        yield server


def test_a_logged_event_mails_the_owner(
    boiler_server: InteropServer, mailbox: Mailbox, tmp_path: Path
) -> None:
    """``log_event('overheat', 'too hot')``: an EMAIL outbox row for the owner with the rendered
    payload, delivered to the SMTP server (subject, recipient, ``X-Pinbase-Occurrence``,
    ``Message-ID`` from the delivery id) and logged SENT; the push is NO_PUSH_TARGET."""
    device = boiler_server.devices[0]
    outbox = "SELECT id, kind, source, payload FROM outbox WHERE source = 'EVENT'"
    log = (
        "SELECT channel, source, status, reason, outbox_id FROM notification_log"
        " WHERE source = 'EVENT' ORDER BY id"
    )
    with DeviceClient(
        BLYNK_LIBRARY_PYTHON, device["token"], port=boiler_server.hardware_port, log_dir=tmp_path
    ).started() as client:
        client.command("log_event", code="overheat", description="too hot")
        assert eventually(lambda: len(boiler_server.rows(outbox)) == 1)
        assert eventually(lambda: boiler_server.rows(log)[0][2] == "SENT", within=10)
    ((email_id, kind, source, payload),) = boiler_server.rows(outbox)
    assert (kind, source) == ("EMAIL", "EVENT")
    email = json.loads(payload)
    assert (email["to"], email["subject"]) == (OWNER, "Warning: Boiler 1: Overheat")
    assert "too hot" in email["text"]
    assert boiler_server.rows(log) == [
        ("EMAIL", "EVENT", "SENT", None, email_id),
        ("PUSH", "EVENT", "SUPPRESSED", "NO_PUSH_TARGET", None),
    ]
    (message,) = [m for m in mailbox.messages if m["Subject"] == "Warning: Boiler 1: Overheat"]
    assert (message["To"], message["Subject"]) == (OWNER, "Warning: Boiler 1: Overheat")
    assert message["X-Pinbase-Occurrence"] == email["headers"]["X-Pinbase-Occurrence"]
    assert email_id in message["Message-ID"]
    text = message.get_body(("plain",))
    assert text is not None
    assert "too hot" in text.get_content()


def test_a_device_that_goes_away_mails_its_owner_offline(
    boiler_server: InteropServer, mailbox: Mailbox, tmp_path: Path
) -> None:
    """A device that connects and leaves: the owner gets "Boiler 2 is Offline" (§2.2
    Lifecycle; the delay is 0 on this server)."""
    device = boiler_server.devices[1]
    with DeviceClient(
        BLYNK_LIBRARY_PYTHON, device["token"], port=boiler_server.hardware_port, log_dir=tmp_path
    ).started():
        pass

    def offline_mail() -> list[EmailMessage]:
        return [m for m in mailbox.messages if m["Subject"] == "Boiler 2 is Offline"]

    assert eventually(lambda: len(offline_mail()) == 1, within=10)
    (message,) = offline_mail()
    assert message["To"] == OWNER
    text = message.get_body(("plain",))
    assert text is not None
    assert "Your Boiler 2 went offline." in text.get_content()
