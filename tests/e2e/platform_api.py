"""Helpers for Platform API tests: tokens from ``/oauth2/token`` and a second organization.

The second organization is provisioned by another process (``pinbase provision``) into the
session server's data folder while the server runs, as an operator would; the server finds its
OAuth client, organization and devices on first use.
"""

import json
from pathlib import Path
from typing import Any

import httpx

from pinbase.testing import provision

FIXTURES = Path(__file__).parent.parent / "fixtures"

_SECOND_ORGS: dict[Path, dict[str, Any]] = {}


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
