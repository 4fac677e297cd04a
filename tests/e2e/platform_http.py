"""Helpers for Platform API tests: tokens from ``/oauth2/token``, a second organization, and
the error bodies, object keys and password hashes answers are compared with.

The second organization is provisioned by another process (``pinbase provision``) into the
session server's data folder while the server runs, as an operator would; the server finds its
OAuth client, organization and devices on first use.
"""

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx

from pinbase.testing import provision

FIXTURES = Path(__file__).parent.parent / "fixtures"

_SECOND_ORGS: dict[Path, dict[str, Any]] = {}

DEVICE_SUMMARY_KEYS = {
    "id",
    "templateId",
    "orgId",
    "name",
    "token",
    "activatedAt",
    "ownerUserId",
    "hardwareInfo",
}
"""The keys of a DeviceSummary (http-api.md §4.0)."""
DEVICE_BASE_KEYS = DEVICE_SUMMARY_KEYS | {
    "lifecycleStatus",
    "firstConnectTime",
    "firmwareUpdatedAt",
    "connectTime",
    "disconnectTime",
    "ip",
    "isLocked",
    "lastReceivedEventAt",
}
"""The keys of a DeviceBase: the summary plus connection facts."""


def error(message: str) -> dict[str, Any]:
    """Blynk's error body."""
    return {"error": {"message": message}}


def device_not_found(device_id: int) -> dict[str, Any]:
    """The Platform API's device 404 body."""
    return error(
        f"Device with identifier {device_id} is not found or belong to another organization."
    )


def client_of(created: dict[str, Any]) -> tuple[str, str]:
    """``(clientId, clientSecret)`` of the first OAuth client ``pinbase provision`` printed."""
    client = created["oauthClients"][0]
    return client["clientId"], client["clientSecret"]


def issue_token(http: httpx.Client, client: tuple[str, str]) -> dict[str, Any]:
    """A token pair for ``client`` by client credentials in a Basic header."""
    answer = http.post("/oauth2/token?grant_type=client_credentials", auth=client)
    assert answer.status_code == 200, answer.text
    pair: dict[str, Any] = answer.json()
    return pair


def bearer(access_token: str) -> dict[str, str]:
    """The ``Authorization`` header for an access token."""
    return {"Authorization": f"Bearer {access_token}"}


def org_headers(http: httpx.Client, created: dict[str, Any]) -> dict[str, str]:
    """The bearer header of the first OAuth client ``pinbase provision`` printed."""
    return bearer(issue_token(http, client_of(created))["access_token"])


def password_hash(email: str, password: str) -> str:
    """base64(SHA-256(password ‖ SHA-256(lower(email)))), data-model.md §1.3.

    Computed here independently of the server's code, so a test comparing it with what the
    server stored checks the server's hashing.
    """
    salt = hashlib.sha256(email.lower().encode()).digest()
    return base64.b64encode(hashlib.sha256(password.encode() + salt).digest()).decode()


def second_org(data_dir: Path) -> dict[str, Any]:
    """Organization B beside the pool's organization A, provisioned once per data folder.

    It has its own OAuth client, template (same datastreams as A's) and two devices.
    """
    created = _SECOND_ORGS.get(data_dir)
    if created is None:
        spec = json.loads((FIXTURES / "spec.json").read_text())
        spec["organization"] = {"name": "Other Org"}
        spec["oauthClients"] = [{"name": "other"}]
        spec["templates"][0]["name"] = "Other Template"
        spec["devices"] = [{"name": f"Other {n}", "template": "Other Template"} for n in range(2)]
        created = provision(spec, data_dir=data_dir)
        _SECOND_ORGS[data_dir] = created
    return created
