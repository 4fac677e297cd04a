"""A real ``blynk-library-python`` device logs an event against ``pinbase serve`` and its
notifications are committed to the outbox with the occurrence (automations.md §1.8 step 8,
§2.2, §2.3): one e-mail and one push for the owner, with the rendered payloads. (No sender is
registered here: the rows stay queued; the channels' own tests deliver them.)"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from interop_driver import BLYNK_LIBRARY_PYTHON, DeviceClient, InteropServer, eventually

from pinbase.testing import ServerProcess, free_port, provision

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
                }
            ],
        }
    ],
    "devices": [{"name": "Boiler 1", "template": "Boiler", "owner": OWNER}],
}


@pytest.fixture(scope="module")
def boiler_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InteropServer]:
    """A server with the plain binary listener and one owned boiler whose event notifies."""
    data_dir = tmp_path_factory.mktemp("event-notifications")
    created = provision(SPEC, data_dir=data_dir)
    port = free_port()
    options = [f"--hardware-port={port}", "--hardware-tls-port=0", "--mqtt-port=0"]
    options += ["--mqtt-tls-port=0"]
    with ServerProcess(data_dir, *options) as process:
        yield InteropServer(
            process=process,
            hardware_port=port,
            tls_port=0,
            mqtt_port=0,
            mqtt_tls_port=0,
            cert=data_dir,
            devices=created["devices"],
        )


def test_a_logged_event_commits_its_email_and_push(
    boiler_server: InteropServer, tmp_path: Path
) -> None:
    """``log_event('overheat', 'too hot')``: an EMAIL and a PUSH outbox row for the owner with
    the rendered payloads, both logged QUEUED with their outbox ids."""
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
    log = "SELECT channel, source, status, outbox_id FROM notification_log ORDER BY id"
    assert boiler_server.rows(log) == [
        ("EMAIL", "EVENT", "QUEUED", email_id),
        ("PUSH", "EVENT", "QUEUED", push_id),
    ]
