"""A provisioned site for the console tests: two organizations, users of each role, devices.

``acme_and_other`` is the in-process application with both provisioned.

``sign_in`` posts the sign-in form as a browser does and returns the session's CSRF token (read
from the page, as a script would).
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from inprocess import InProcessServer, in_process_server

PASSWORD = "correct horse battery"
ADMIN = "admin@acme.test"
STAFF = "staff@acme.test"
USER = "user@acme.test"
OTHER = "admin@other.test"

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def acme_spec() -> dict[str, Any]:
    """Acme: an Admin, a Staff and a User; three devices, one owned by the User."""
    return {
        "organization": {"name": "Acme"},
        "users": [
            {"email": ADMIN, "name": "Ada Admin", "roleId": 1, "password": PASSWORD},
            {"email": STAFF, "name": "Sam Staff", "roleId": 2, "password": PASSWORD},
            {"email": USER, "name": "Uma User", "roleId": 3, "password": PASSWORD},
        ],
        "templates": [
            {
                "name": "Greenhouse",
                "datastreams": [
                    {"id": 1, "label": "Temperature", "pin": 1, "type": "DOUBLE"},
                ],
            }
        ],
        "devices": [
            {"name": "Greenhouse North", "template": "Greenhouse"},
            {"name": "Greenhouse South", "template": "Greenhouse"},
            {"name": "Uma's Sensor", "template": "Greenhouse", "owner": USER},
        ],
    }


def other_spec() -> dict[str, Any]:
    """Another tenant with one Admin and one device."""
    return {
        "organization": {"name": "Other Corp"},
        "users": [{"email": OTHER, "name": "Olga Other", "roleId": 1, "password": PASSWORD}],
        "templates": [{"name": "Boiler", "datastreams": []}],
        "devices": [{"name": "Boiler Room", "template": "Boiler"}],
    }


@contextmanager
def acme_and_other(data_dir: Path) -> Iterator[InProcessServer]:
    """An in-process application on ``data_dir`` with Acme and Other Corp provisioned."""
    with in_process_server(data_dir) as server:
        server.provision(acme_spec())
        server.provision(other_spec())
        yield server


def sign_in(http: httpx.Client, email: str, password: str = PASSWORD) -> str:
    """Sign ``http`` in; the CSRF token of its session."""
    answer = http.post("/dashboard/login", data={"email": email, "password": password})
    assert answer.status_code == 303, answer.text
    page = http.get("/dashboard")
    found = CSRF.search(page.text)
    assert found is not None, page.text
    return found.group(1)
