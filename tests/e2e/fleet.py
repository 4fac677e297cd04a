"""A fleet for the device-management tests: an organization of its own with users and devices.

The pool's organization holds hundreds of devices other tests use; lists, searches and deletes
are tested in this separate organization, provisioned by another process into the session
server's data folder as an operator would. It has a sub-organization ("branch") with a user of
its own, made through the Platform API, and an invited (not activated) user.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from platform_http import FIXTURES, org_headers, password_hash

from pinbase.testing import provision

BASE = "/api/v1/organization"
DEVICE = f"{BASE}/device"
CREATE = f"{DEVICE}/create"
PASSWORD = "correct horse"

DEVICE_TABLES = (
    "current_values",
    "history",
    "history_minutes",
    "properties",
    "metafield_values",
    "device_events",
    "device_files",
    "device_tags",
    "device_actions",
)
"""Every table holding rows of a device besides ``devices``."""


@dataclass(frozen=True)
class Fleet:
    """What the fleet fixture made; user values are the ``users`` entries provision printed."""

    tag: str
    org_id: int
    branch_id: int
    template_id: int
    template_code: str
    headers: dict[str, str]
    devices: dict[str, dict[str, Any]]
    users: dict[str, dict[str, Any]]
    invited: dict[str, Any]

    def email(self, user: str) -> str:
        """The address of ``alice``, ``bob``, ``carol`` or ``dave`` in this fleet."""
        return f"{user}@{self.tag}.test"


def build_fleet(http: httpx.Client, data_dir: Path, tag: str) -> Fleet:
    """Provision the fleet organization, then add its branch, a branch user and an invitee.

    ``tag`` (letters) tells fleets of different test modules apart: organization, template code
    and e-mail domain carry it.
    """
    code = f"TMPL{tag}"
    spec = json.loads((FIXTURES / "spec.json").read_text())
    spec["organization"] = {"name": f"Fleet {tag}"}
    spec["oauthClients"] = [{"name": "fleet"}]
    spec["templates"][0].update(name="Fleet Template", templateId=code)
    spec["users"] = [
        {"email": f"alice@{tag}.test", "name": "Alice", "roleId": 1, "password": PASSWORD},
        {"email": f"bob@{tag}.test", "name": "Bob", "roleId": 3, "password": PASSWORD},
    ]
    spec["devices"] = [
        {"name": "Alpha One", "template": "Fleet Template", "owner": f"alice@{tag}.test"},
        {"name": "beta two", "template": "Fleet Template", "owner": f"bob@{tag}.test"},
        {"name": "Gamma Three", "template": "Fleet Template"},
    ]
    created = provision(spec, data_dir=data_dir)
    headers = org_headers(http, created)
    org_id: int = created["organization"]["id"]
    branch = http.post(
        f"{BASE}/create", json={"name": f"Branch {tag}", "type": "BRANCH"}, headers=headers
    )
    assert branch.status_code == 201, branch.text
    branch_id: int = branch.json()["id"]
    carol = {
        "email": f"carol@{tag}.test",
        "name": "Carol",
        "passwordHash": password_hash(f"carol@{tag}.test", PASSWORD),
        "orgId": branch_id,
        "roleId": 3,
    }
    made = http.post(f"{BASE}/users/create-in-org", json=carol, headers=headers)
    assert made.status_code == 201, made.text
    invited = http.post(
        f"{BASE}/users/invite",
        json={"email": f"dave@{tag}.test", "name": "Dave", "roleId": 3},
        headers=headers,
    )
    assert invited.status_code == 201, invited.text
    users = {user["email"].partition("@")[0]: user for user in created["users"]}
    users["carol"] = made.json()
    return Fleet(
        tag=tag,
        org_id=org_id,
        branch_id=branch_id,
        template_id=created["templates"][0]["id"],
        template_code=code,
        headers=headers,
        devices={device["name"]: device for device in created["devices"]},
        users=users,
        invited=invited.json(),
    )


def create_device(
    http: httpx.Client, fleet: Fleet, name: str, *, owner: str = "alice", **extra: Any
) -> dict[str, Any]:
    """PLT-DEV-09 with the fleet's template; the created DeviceBase."""
    body = {"templateId": fleet.template_code, "name": name, "ownerId": fleet.users[owner]["id"]}
    answer = http.post(CREATE, json={**body, **extra}, headers=fleet.headers)
    assert answer.status_code == 201, answer.text
    device: dict[str, Any] = answer.json()
    return device
