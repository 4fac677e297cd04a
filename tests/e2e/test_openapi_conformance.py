"""``/openapi.json`` describes every route the server has, and the live server keeps to it.

Two proofs. The route walk compares the document with the outer Starlette app's routes (device,
legacy, health) and FastAPI's (Platform, OAuth2), so neither can drift from the other. The
schemathesis run sends generated requests for every operation of the document to a live
``pinbase serve`` and checks each answer against it with every schemathesis check: no 5xx, a
documented status, content type, body and headers, schema-valid data accepted and invalid data
refused, ``Allow`` on a 405, required headers and authentication enforced. Pins are ``v4``, the
String datastream, which takes any text: whether a pin has a datastream is state the document
cannot state, and Blynk answers a pin without one with a 400 (docs/openapi.md).

Generation mode ``all``: valid requests, which must get their documented answers, and invalid
ones, which must get a documented error, never a 5xx. The run gets its own server and data
folder: it deletes, clears and transfers whatever ids it generates. The Platform API's bearer
belongs to organization A; the device and legacy requests carry the token of a device in
organization B, which no Platform request can reach, so the device API keeps a valid token
whatever the Platform operations delete. At most 20 examples per operation, derandomized: about
1,500 requests, of which about 1,000 Platform ones, far below the Platform rate limit of 10,000
per organization per minute, which the run keeps at its default on purpose.

No 5xx is excused. Blynk answers a bad DEV-08 ``period`` with a 500 naming a Java enum (OP-27);
Pinbase keeps that message but answers 400 (docs/decisions.md, "No 5xx on any input"), and the
document says 400, so ``not_a_server_error`` needs no exception for it.
"""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from platform_http import bearer, client_of, issue_token
from starlette.routing import BaseRoute, Match, Mount, Route

from pinbase.http.app import ModernPathsExcluded, create_app
from pinbase.http.docs import DOCS_PATH
from pinbase.runtime import running_services
from pinbase.settings import Settings
from pinbase.testing import ServerProcess, provision
from testspec import load_spec

MAX_EXAMPLES = 20
SEED = 20261123
CHECKS = "all"
RUN_TIMEOUT_S = 300

DEVICE_TAG = "Device HTTPS API"
LEGACY_TAG = "Legacy API"

SEEDED_VALUES = "v1=42&v2=7&v3=21.5&v4=hello&v5=30.5&v5=50.4&v6=1&v7=1&v9=55.5&d13=1&a0=512"
"""One value on every datastream of the device the run uses, so that reads, reports (DEV-08)
and history downloads (LEG-10, its 301) answer with data rather than only their empty cases."""


def _device_org_spec() -> dict[str, Any]:
    """Organization B: one device whose token every device and legacy request carries."""
    spec = load_spec(1)
    spec["organization"] = {"name": "Device Org"}
    spec["oauthClients"] = [{"name": "unused"}]
    spec["templates"][0]["name"] = "Device Org Template"
    spec["devices"] = [{"name": "Target", "template": "Device Org Template"}]
    return spec


@pytest.fixture(scope="module")
def conformance_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A server of its own: its base URL, a bearer token of org A and a device token of org B."""
    data_dir = tmp_path_factory.mktemp("conformance")
    platform_org = provision(load_spec(5), data_dir=data_dir)
    device_token = provision(_device_org_spec(), data_dir=data_dir)["devices"][0]["token"]
    env = {"PINBASE_ACCESS_TOKEN_TTL_S": "3600"}
    with ServerProcess(data_dir, env=env) as server:
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            pair = issue_token(http, client_of(platform_org))
            seeded = http.get(f"/external/api/batch/update?token={device_token}&{SEEDED_VALUES}")
            assert seeded.status_code == 200, seeded.text
        yield {
            "base_url": server.base_url,
            "access_token": pair["access_token"],
            "device_token": device_token,
        }


def _config(target: dict[str, str]) -> str:
    """``schemathesis.toml``: credentials for every request, bounded deterministic generation."""
    token = target["device_token"]
    authorization = bearer(target["access_token"])["Authorization"]
    return f"""\
seed = {SEED}
headers = {{ Authorization = "{authorization}" }}

[parameters]
"query.token" = "{token}"
"path.token" = "{token}"
"path.pin" = "v4"
"query.pin" = "v4"

[generation]
max-examples = {MAX_EXAMPLES}
deterministic = true
database = "none"
"""


def test_every_answer_of_the_live_server_matches_the_document(
    conformance_server: dict[str, str], tmp_path: Path
) -> None:
    """Generated requests to every operation get no 5xx and only documented answers."""
    config = tmp_path / "schemathesis.toml"
    config.write_text(_config(conformance_server))
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color"),
        *("run", f"{conformance_server['base_url']}/openapi.json"),
        *(
            "--phases",
            "examples,fuzzing",
            "--mode",
            "all",
            "--checks",
            CHECKS,
            "--exclude-checks",
            "positive_data_acceptance",
        ),
        *("--workers", "1", "--request-timeout", "10"),
    ]
    run = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr


HAND_WRITTEN_TAGS = {DEVICE_TAG, LEGACY_TAG, "Server"}
"""Tags of the operations described by hand; FastAPI describes the rest from its own routes."""


def _operations(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    """``(tag, method, path)`` of every operation in the document."""
    return {
        (described["tags"][0], method.upper(), path)
        for path, operations in document["paths"].items()
        for method, described in operations.items()
    }


def _served(routes: list[BaseRoute]) -> set[tuple[str, str]]:
    """``(method, path)`` of the outer app's API routes (device, legacy, health), not of the
    pages that document them (``/docs`` and its files, http/docs.py) nor of ``/``, which
    sends a browser to the console."""
    served = set()
    for route in routes:
        if isinstance(route, Mount) or (
            isinstance(route, Route) and route.path in (DOCS_PATH, "/")
        ):
            continue
        inner = route._route if isinstance(route, ModernPathsExcluded) else route
        assert isinstance(inner, Route), inner
        served |= {(method, inner.path) for method in (inner.methods or set()) - {"HEAD"}}
    return served


def _handles(app: FastAPI, method: str, path: str) -> bool:
    """Whether one of FastAPI's routes fully matches a request for ``method path``."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
    return any(route.matches(scope)[0] is Match.FULL for route in app.router.routes)


async def test_the_document_names_every_served_route_and_no_other(tmp_path: Path) -> None:
    """The hand-written operations are exactly the outer app's routes; FastAPI serves the rest."""
    app_settings = Settings(data_dir=tmp_path)
    async with running_services(app_settings) as services:
        app = create_app(services, app_settings)
        platform = app.router.default
        assert isinstance(platform, FastAPI)
        operations = _operations(platform.openapi())
        by_hand = {(method, path) for tag, method, path in operations if tag in HAND_WRITTEN_TAGS}
        assert _served(app.router.routes) == by_hand
        by_fastapi = {(m, p) for tag, m, p in operations if tag not in HAND_WRITTEN_TAGS}
        assert by_fastapi
        assert all(_handles(platform, method, path) for method, path in by_fastapi)


def test_every_device_and_legacy_operation_is_tagged_and_documents_its_errors(
    conformance_server: dict[str, str],
) -> None:
    """Hand-written operations carry their family's tag and the error answers they can give."""
    answer = httpx.get(f"{conformance_server['base_url']}/openapi.json")
    paths = answer.json()["paths"]
    device = {path: ops for path, ops in paths.items() if path.startswith("/external/")}
    legacy = {path: ops for path, ops in paths.items() if path.startswith("/{token}/")}
    assert len(device) == 12
    assert len(legacy) == 12
    for family, tag, media in (
        (device, DEVICE_TAG, "application/json"),
        (legacy, LEGACY_TAG, "text/plain"),
    ):
        for operations in family.values():
            for described in operations.values():
                assert described["tags"] == [tag]
                assert media in described["responses"]["400"]["content"]


NON_STANDARD_BOUNDS = {"ge", "le", "gt", "lt"}
"""Pydantic's names for bounds: JSON Schema has ``minimum``/``maximum`` and their exclusive forms,
and a tool reading the document ignores anything else (issue #8)."""


def _schemas(node: object) -> Iterator[dict[str, Any]]:
    """Every JSON object in the document, depth first."""
    if isinstance(node, dict):
        yield node
        for child in node.values():
            yield from _schemas(child)
    elif isinstance(node, list):
        for child in node:
            yield from _schemas(child)


def test_bounds_are_stated_as_json_schema_keywords(conformance_server: dict[str, str]) -> None:
    """No ``ge``/``le`` keys; ids, pages and sizes carry ``minimum``/``maximum`` as served."""
    document = httpx.get(f"{conformance_server['base_url']}/openapi.json").json()
    assert not [node for node in _schemas(document) if NON_STANDARD_BOUNDS & set(node)]
    parameters = {
        parameter["name"]: parameter["schema"]
        for parameter in document["paths"]["/api/v1/organization/devices"]["get"]["parameters"]
    }
    assert (parameters["page"]["minimum"], parameters["page"]["maximum"]) == (0, 2**31 - 1)
    assert (parameters["size"]["minimum"], parameters["size"]["maximum"]) == (1, 1000)
