"""``pinbase provision`` in a process of its own queues the ``USER_ADDED`` calls of its file's
webhooks for its users (automations.md §4.2, issue #10): a server started afterwards on the same
data folder sends them to a real local receiver."""

import json
import time
from pathlib import Path

import pytest

from pinbase.testing import ServerProcess, provision
from webhook_receiver import threaded_receiver

ENTERPRISE = "PINBASE_WEBHOOKS_ENTERPRISE_TRIGGERS"


def test_users_provisioned_by_the_cli_reach_a_user_added_webhook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both users of the file arrive at the receiver with their e-mail and the organization's
    name, although no server ran while they were provisioned."""
    monkeypatch.setenv(ENTERPRISE, "true")
    with threaded_receiver() as receiver:
        spec = {
            "organization": {"name": "Cli Org"},
            "users": [
                {"email": "ann@cli.test", "name": "Ann", "roleId": 1, "password": "ann pass"},
                {"email": "ben@cli.test", "name": "Ben", "roleId": 3, "password": "ben pass"},
            ],
            "webhooks": [
                {
                    "name": "Welcome",
                    "trigger": {"kind": "USER_ADDED"},
                    "url": f"{receiver.url}/added",
                    "body": '{"email": "{user_email}", "org": "{user_orgName}"}',
                }
            ],
        }
        provision(spec, data_dir=tmp_path)
        env = {"PINBASE_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32", ENTERPRISE: "true"}
        with ServerProcess(tmp_path, env=env):
            deadline = time.monotonic() + 20
            while len(receiver.received) < 2:
                assert time.monotonic() < deadline, "no USER_ADDED call arrived"
                time.sleep(0.05)
            got = sorted(json.loads(r.body)["email"] for r in receiver.received)
    assert got == ["ann@cli.test", "ben@cli.test"]
    assert {json.loads(r.body)["org"] for r in receiver.received} == {"Cli Org"}
