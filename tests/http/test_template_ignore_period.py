"""The template's offline ignore period (data-model.md §4.4), in process: the Platform API's
template extension stores and reads it back in seconds and refuses bad values with 400; the
console's Info form takes it as ``HH:MM:SS`` and shows a bad entry next to the field."""

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_site import ADMIN, STAFF, acme_spec, sign_in

from inprocess import InProcessServer, in_process_server
from pinbase.domain.ids import TemplateId

TEMPLATE = "/api/v1/organization/template"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """A server of its own."""
    folder: Path = tmp_path_factory.mktemp("ignore-period")
    with in_process_server(folder) as server:
        yield server


@pytest.fixture(scope="module")
def acme(app: InProcessServer) -> dict[str, Any]:
    """Acme with an OAuth client, users of each role and a template."""
    created: dict[str, Any] = app.provision({**acme_spec(), "oauthClients": [{"name": "api"}]})
    return created


@pytest.fixture
def api(app: InProcessServer, acme: dict[str, Any]) -> Iterator[httpx.Client]:
    """A client carrying Acme's bearer header."""
    with app.client() as http:
        client = acme["oauthClients"][0]
        answer = http.post(
            "/oauth2/token",
            params={"grant_type": "client_credentials"},
            auth=(client["clientId"], client["clientSecret"]),
        )
        http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        yield http


def stored_period(app: InProcessServer, template_id: int) -> int:
    """The period the directory holds for the template."""
    template = app.services.directory.template(TemplateId(template_id))
    assert template is not None
    period: int = template.offline_ignore_period
    return period


def test_the_platform_api_stores_and_reads_back_the_period(
    app: InProcessServer, api: httpx.Client
) -> None:
    """Update with offlineIgnorePeriod answers it, PLT-TPL-02 reads it back, an update without
    it keeps it and 0 turns it off."""
    template = api.post(f"{TEMPLATE}/create", json={"name": "Chiller"}).json()
    assert template["offlineIgnorePeriod"] == 0
    body = {"templateId": template["id"], "name": "Chiller", "offlineIgnorePeriod": 300}
    answer = api.post(f"{TEMPLATE}/update", json=body)
    assert (answer.status_code, answer.json()["offlineIgnorePeriod"]) == (200, 300)
    read = api.get(TEMPLATE, params={"templateId": template["id"]}).json()
    assert read["offlineIgnorePeriod"] == 300
    kept = api.post(f"{TEMPLATE}/update", json={"templateId": template["id"], "name": "Cold"})
    assert kept.json()["offlineIgnorePeriod"] == 300
    off = api.post(f"{TEMPLATE}/update", json=body | {"offlineIgnorePeriod": 0})
    assert off.json()["offlineIgnorePeriod"] == 0
    assert stored_period(app, template["id"]) == 0


@pytest.mark.parametrize("bad", [-1, 86_401, 1.5, "00:05:00", True, 2**40])
def test_a_bad_period_answers_400_and_changes_nothing(
    app: InProcessServer, api: httpx.Client, bad: Any
) -> None:
    """A negative, too long, fractional, textual or boolean period answers 400."""
    template = api.post(f"{TEMPLATE}/create", json={"name": "Refused"}).json()
    body = {"templateId": template["id"], "name": "Refused", "offlineIgnorePeriod": bad}
    answer = api.post(f"{TEMPLATE}/update", json=body)
    assert answer.status_code == 400, answer.text
    assert "error" in answer.json()
    assert stored_period(app, template["id"]) == 0


def field_error(page: str, field: str) -> str:
    """The message shown next to ``field`` (empty when none)."""
    found = re.search(rf'<p class="field-error" id="e-{field}">([^<]*)</p>', page)
    return "" if found is None else html.unescape(found.group(1))


def new_template(http: httpx.Client, csrf: str, name: str) -> str:
    """Create a template through the console; the editor's path."""
    answer = http.post("/dashboard/templates", data={"csrf_token": csrf, "name": name})
    assert answer.status_code == 303, answer.text
    path: str = answer.headers["location"].split("?")[0]
    return path


def test_the_console_info_form_takes_hh_mm_ss(app: InProcessServer, acme: dict[str, Any]) -> None:
    """``00:05:00`` is stored as 300 s and shown back; a bad entry answers 400 with the message
    next to the field; a form without the field keeps the period; an empty one turns it off."""
    del acme
    with app.client() as http:
        csrf = sign_in(http, ADMIN)
        editor = new_template(http, csrf, "Console Chiller")
        template_id = int(editor.rsplit("/", 1)[1])
        info = {"csrf_token": csrf, "name": "Console Chiller"}
        saved = http.post(f"{editor}/info", data=info | {"offline_ignore_period": "00:05:00"})
        assert saved.status_code == 303, saved.text
        assert stored_period(app, template_id) == 300
        page = http.get(editor, params={"tab": "info"}).text
        assert 'name="offline_ignore_period" type="text" value="00:05:00"' in page
        for bad in ("5 minutes", "00:60:00", "24:00:01", "1:2:3:4"):
            refused = http.post(f"{editor}/info", data=info | {"offline_ignore_period": bad})
            assert refused.status_code == 400, bad
            message = field_error(refused.text, "offline_ignore_period")
            assert message.startswith("offline ignore period must"), bad
            assert stored_period(app, template_id) == 300
        assert http.post(f"{editor}/info", data=info).status_code == 303
        assert stored_period(app, template_id) == 300
        cleared = http.post(f"{editor}/info", data=info | {"offline_ignore_period": ""})
        assert cleared.status_code == 303
        assert stored_period(app, template_id) == 0


def test_staff_sees_the_period_read_only(app: InProcessServer, acme: dict[str, Any]) -> None:
    """Staff, who cannot edit templates, sees the period as HH:MM:SS or Off."""
    template_id = acme["templates"][0]["id"]
    with app.client() as http:
        sign_in(http, STAFF)
        page = http.get(f"/dashboard/templates/{template_id}").text
        assert "<dt>Offline ignore period</dt><dd>Off</dd>" in page
