"""Platform API templates over HTTP: PLT-TPL-01 list, PLT-TPL-02 info, PLT-TPL-03 metafields,
PLT-TPL-04 datastreams, PLT-TPL-05 events; their errors and organization scope.
"""

from pathlib import Path
from typing import Any

import httpx
import pytest
from platform_http import error, second_org

from testspec import Pool

TEMPLATES = "/api/v1/organization/templates"
TEMPLATE = "/api/v1/organization/template"
METAFIELDS = "/api/v1/organization/template/metafields"
DATASTREAMS = "/api/v1/organization/template/datastreams"
EVENTS = "/api/v1/organization/template/events"
BY_TEMPLATE_ID = [TEMPLATE, METAFIELDS, DATASTREAMS, EVENTS]

TEMPLATE_NOT_FOUND = error("Template is not found or you don't have access to it.")
INCORRECT = error("Request with incorrect parameters")


def org_not_found(org_id: int | str) -> dict[str, Any]:
    """PLT-TPL-01's 404 body for an organization outside the caller's scope."""
    return error(
        f"Organization with identifier {org_id} is not found or you don't have access to it."
    )


@pytest.fixture(scope="module")
def template(pool: Pool) -> dict[str, Any]:
    """Organization A's "ESP32 QA" template as provisioned: ``{"id", "templateId", "name"}``."""
    created: dict[str, Any] = pool.created["templates"][0]
    return created


def summary(created: dict[str, Any], org_id: int) -> dict[str, Any]:
    """The PLT-TPL-01 entry of a provisioned template."""
    return {
        "id": created["id"],
        "templateIds": [created["templateId"]],
        "parentId": None,
        "orgId": org_id,
        "name": created["name"],
    }


# --- PLT-TPL-01 ---------------------------------------------------------------------------


def test_list_templates_of_the_callers_organizations(
    http: httpx.Client, headers: dict[str, str], template: dict[str, Any], pool: Pool
) -> None:
    """A page of the caller's templates, in Blynk's envelope."""
    answer = http.get(TEMPLATES, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json;charset=utf-8"
    org_id = pool.created["organization"]["id"]
    assert answer.json() == {"content": [summary(template, org_id)], "totalElements": 1}


def test_list_templates_of_one_organization(
    http: httpx.Client, headers: dict[str, str], template: dict[str, Any], pool: Pool
) -> None:
    """``orgId`` within the caller's scope lists that organization's templates."""
    org_id = pool.created["organization"]["id"]
    answer = http.get(f"{TEMPLATES}?orgId={org_id}&page=0&size=5", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"content": [summary(template, org_id)], "totalElements": 1}


def test_list_templates_pages(http: httpx.Client, headers: dict[str, str]) -> None:
    """A page past the end is empty; ``totalElements`` still counts every template."""
    answer = http.get(f"{TEMPLATES}?page=1&size=1", headers=headers)
    assert (answer.status_code, answer.json()) == (200, {"content": [], "totalElements": 1})
    answer = http.get(f"{TEMPLATES}?size=1000", headers=headers)
    assert answer.json()["totalElements"] == 1


@pytest.mark.parametrize(
    "query",
    ["size=0", "size=1001", "size=abc", "page=-1", "page=1.0", "orgId=abc", "orgId=99999999999"],
)
def test_list_templates_refuses_bad_parameters(
    http: httpx.Client, headers: dict[str, str], query: str
) -> None:
    """Malformed paging or ``orgId``: 400 Request with incorrect parameters."""
    answer = http.get(f"{TEMPLATES}?{query}", headers=headers)
    assert (answer.status_code, answer.json()) == (400, INCORRECT)


@pytest.mark.parametrize("org_id", [999999, -1, 0])
def test_list_templates_of_an_unknown_organization(
    http: httpx.Client, headers: dict[str, str], org_id: int
) -> None:
    """An organization that does not exist is the organization 404."""
    answer = http.get(f"{TEMPLATES}?orgId={org_id}", headers=headers)
    assert (answer.status_code, answer.json()) == (404, org_not_found(org_id))


# --- PLT-TPL-02 ---------------------------------------------------------------------------


def test_get_template(
    http: httpx.Client, headers: dict[str, str], template: dict[str, Any], pool: Pool
) -> None:
    """The summary plus board, connection, description, logo (null: not modelled), time and
    the offline ignore period (0: off)."""
    answer = http.get(f"{TEMPLATE}?templateId={template['id']}", headers=headers)
    assert answer.status_code == 200, answer.text
    info = answer.json()
    created_at = info.pop("createdAt")
    assert isinstance(created_at, int)
    assert created_at > 0
    assert info == {
        **summary(template, pool.created["organization"]["id"]),
        "boardType": None,
        "connectionType": None,
        "description": None,
        "logoUrl": None,
        "offlineIgnorePeriod": 0,
    }


# --- PLT-TPL-03 ---------------------------------------------------------------------------


def test_template_metafields(
    http: httpx.Client, headers: dict[str, str], template: dict[str, Any]
) -> None:
    """A bare array of definitions, ``defaultValue`` being a Pinbase extension."""
    answer = http.get(f"{METAFIELDS}?templateId={template['id']}", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == [
        {
            "id": 1,
            "name": "Serial Number",
            "type": "Text",
            "description": None,
            "defaultValue": "SN-0001",
        },
        {"id": 2, "name": "Room", "type": "Text", "description": None, "defaultValue": None},
        {
            "id": 3,
            "name": "Rated Power",
            "type": "Number",
            "description": None,
            "defaultValue": "60",
        },
    ]


# --- PLT-TPL-04 ---------------------------------------------------------------------------


def test_template_datastreams(
    http: httpx.Client, headers: dict[str, str], template: dict[str, Any]
) -> None:
    """A bare array of definitions: alias defaults to the label, pins are numbers with a kind."""
    answer = http.get(f"{DATASTREAMS}?templateId={template['id']}", headers=headers)
    assert answer.status_code == 200, answer.text
    datastreams = {ds["id"]: ds for ds in answer.json()}
    assert list(datastreams) == list(range(1, 12))
    assert datastreams[1] == {
        "id": 1,
        "label": "Counter",
        "alias": "Counter",
        "units": None,
        "type": "INT",
        "defaultValue": None,
        "pin": 1,
        "pinType": "VIRTUAL",
        "min": 0,
        "max": 100,
        "decimals": None,
    }
    temperature = datastreams[3]
    assert (temperature["type"], temperature["units"], temperature["decimals"]) == (
        "DOUBLE",
        "Celsius",
        "#.00000",
    )
    assert (temperature["min"], temperature["max"]) == (-40, 85)
    assert datastreams[8]["defaultValue"] == 21.5
    assert [datastreams[n]["type"] for n in (4, 5, 6, 7)] == ["STRING", "LOCATION", "ENUM", "BOOL"]
    assert (datastreams[10]["pin"], datastreams[10]["pinType"]) == (13, "DIGITAL")
    assert (datastreams[11]["pin"], datastreams[11]["pinType"]) == (0, "ANALOG")


# --- PLT-TPL-05 ---------------------------------------------------------------------------


def test_template_events(
    http: httpx.Client, headers: dict[str, str], template: dict[str, Any]
) -> None:
    """A bare array of ``{"id","type","name","eventCode"}``; the type defaults to INFORMATION."""
    answer = http.get(f"{EVENTS}?templateId={template['id']}", headers=headers)
    assert answer.status_code == 200, answer.text
    events = answer.json()
    assert all(set(event) == {"id", "type", "name", "eventCode"} for event in events)
    assert all(isinstance(event["id"], int) for event in events)
    assert [(e["type"], e["name"], e["eventCode"]) for e in events] == [
        ("WARNING", "Overheat", "overheat"),
        ("INFORMATION", "Door open", "door_open"),
    ]


# --- errors shared by PLT-TPL-02..05 ------------------------------------------------------


@pytest.mark.parametrize("path", BY_TEMPLATE_ID)
@pytest.mark.parametrize(
    ("query", "status", "expected"),
    [
        ("templateId=999999", 404, TEMPLATE_NOT_FOUND),
        ("templateId=-1", 404, TEMPLATE_NOT_FOUND),
        ("templateId=abc", 400, INCORRECT),
        ("templateId=TMPL84aMXD6vd", 400, INCORRECT),  # the code is not the id (OP-08)
        ("templateId=1.0", 400, INCORRECT),
        ("templateId=99999999999", 400, INCORRECT),
        ("", 400, INCORRECT),
    ],
)
def test_template_errors(
    http: httpx.Client,
    headers: dict[str, str],
    path: str,
    query: str,
    status: int,
    expected: dict[str, Any],
) -> None:
    """An unknown template is 404; a missing or malformed templateId is 400."""
    answer = http.get(f"{path}?{query}", headers=headers)
    assert (answer.status_code, answer.json()) == (status, expected)


@pytest.mark.parametrize("path", [TEMPLATES, *BY_TEMPLATE_ID])
def test_templates_need_a_token(http: httpx.Client, path: str) -> None:
    """Without a bearer token: 401 before the query is looked at."""
    answer = http.get(f"{path}?templateId=abc")
    assert (answer.status_code, answer.json()) == (401, error("Unauthorized"))


# --- organizations A and B cannot read each other's templates -----------------------------


def test_other_organization_lists_only_its_own_templates(
    http: httpx.Client, other: dict[str, Any]
) -> None:
    """B, created by another process while the server runs, lists B's template only."""
    org_id = other["organization"]["id"]
    expected = {"content": [summary(other["templates"][0], org_id)], "totalElements": 1}
    answer = http.get(TEMPLATES, headers=other["headers"])
    assert (answer.status_code, answer.json()) == (200, expected)
    answer = http.get(f"{TEMPLATES}?orgId={org_id}", headers=other["headers"])
    assert (answer.status_code, answer.json()) == (200, expected)


def test_organizations_cannot_list_each_others_templates(
    http: httpx.Client, headers: dict[str, str], other: dict[str, Any], pool: Pool
) -> None:
    """Another organization's ``orgId`` is the organization 404, both ways."""
    org_b = other["organization"]["id"]
    answer = http.get(f"{TEMPLATES}?orgId={org_b}", headers=headers)
    assert (answer.status_code, answer.json()) == (404, org_not_found(org_b))
    org_a = pool.created["organization"]["id"]
    answer = http.get(f"{TEMPLATES}?orgId={org_a}", headers=other["headers"])
    assert (answer.status_code, answer.json()) == (404, org_not_found(org_a))


@pytest.mark.parametrize("path", BY_TEMPLATE_ID)
def test_other_organization_reads_its_own_template(
    http: httpx.Client, other: dict[str, Any], path: str
) -> None:
    """Positive control: B reads B's template."""
    template_id = other["templates"][0]["id"]
    answer = http.get(f"{path}?templateId={template_id}", headers=other["headers"])
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("path", BY_TEMPLATE_ID)
def test_other_organization_gets_the_template_404(
    http: httpx.Client, other: dict[str, Any], template: dict[str, Any], path: str
) -> None:
    """B's token on A's template answers exactly like a missing template."""
    answer = http.get(f"{path}?templateId={template['id']}", headers=other["headers"])
    assert (answer.status_code, answer.json()) == (404, TEMPLATE_NOT_FOUND)


@pytest.mark.parametrize("path", BY_TEMPLATE_ID)
def test_organization_a_cannot_read_organization_b_templates(
    http: httpx.Client, headers: dict[str, str], data_dir: Path, path: str
) -> None:
    """And the other way round: A's token on B's template is the template 404."""
    template_id = second_org(data_dir)["templates"][0]["id"]
    answer = http.get(f"{path}?templateId={template_id}", headers=headers)
    assert (answer.status_code, answer.json()) == (404, TEMPLATE_NOT_FOUND)


def test_openapi_document_lists_the_template_paths(http: httpx.Client) -> None:
    """/openapi.json documents the five template endpoints."""
    paths = http.get("/openapi.json").json()["paths"]
    for path in (TEMPLATES, *BY_TEMPLATE_ID):
        assert "get" in paths[path], path
