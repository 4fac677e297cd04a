"""The console's Webhooks pages over the in-process application (issue #10 item 3): create
through the form, Test against a real local receiver, secrets write-only, validation answers
4xx with the message, never 5xx; another organization's webhook is not found."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_site import ADMIN, OTHER, STAFF, acme_spec, other_spec, sign_in

from inprocess import InProcessServer, in_process_server
from pinbase.domain.ids import OrgId
from pinbase.services.clock import system_clock
from webhook_receiver import Receiver, threaded_receiver

SECRET = "hunter2-very-secret"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP receiver on 127.0.0.1 in a thread of its own."""
    with threaded_receiver() as started:
        yield started


class HandClock:
    """A clock a test moves by hand (the 2 s between tests, §4.8)."""

    def __init__(self) -> None:
        self.now = system_clock()

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> HandClock:
    """The site's clock."""
    return HandClock()


@pytest.fixture
def site(tmp_path: Path, clock: HandClock) -> Iterator[InProcessServer]:
    """Acme and Other Corp; outbound calls to 127.0.0.1 allowed (the receiver)."""
    with in_process_server(
        tmp_path, clock=clock, outbound_allowed_networks="127.0.0.1/32"
    ) as server:
        server.provision(acme_spec())
        server.provision(other_spec())
        yield server


def temperature(site: InProcessServer) -> str:
    """``"<device>:<datastream>"`` of Greenhouse North's Temperature."""
    directory = site.services.directory
    acme = directory.organizations_in(directory.subtree(OrgId(1)))
    [bound] = [
        b for b in directory.devices_in([o.id for o in acme]) if b.device.name == "Greenhouse North"
    ]
    return f"{bound.device.id}:1"


def hook_form(csrf: str, target: str, url: str, **changes: str) -> dict[str, str]:
    """A Device Datastream Update webhook posting JSON with Basic auth."""
    return {
        "csrf_token": csrf,
        "op": "save",
        "trigger": "DEVICE_DATASTREAM",
        "device-target": target,
        "name": "Farm feed",
        "url": url,
        "method": "POST",
        "content-type": "JSON",
        "body": '{"v": "{device_pinValue}"}',
        "header-key-0": "X-Source",
        "header-value-0": "pinbase",
        "auth": "BASIC",
        "username": "farm",
        "password": SECRET,
        "threshold": "3",
        **changes,
    }


def created_id(answer: httpx.Response) -> int:
    """The webhook id a create answer redirects to."""
    assert answer.status_code == 303, answer.text
    found = re.search(r"/webhooks/(\d+)\?", answer.headers["location"])
    assert found is not None
    return int(found.group(1))


def test_a_webhook_made_in_the_form_tests_against_the_receiver(
    site: InProcessServer, receiver: Receiver, clock: HandClock
) -> None:
    """Create, then Test from the list: the receiver gets the request with Basic auth, the
    page shows status 200, and the password never appears in any page; Test webhook in the
    form works unsaved, not twice within 2 s (429)."""
    with site.client() as http:
        csrf = sign_in(http, ADMIN)
        form = hook_form(csrf, temperature(site), f"{receiver.url}/hook")
        webhook = created_id(http.post("/dashboard/webhooks", data=form))
        tested = http.post(f"/dashboard/webhooks/{webhook}/test", data={"csrf_token": csrf})
        assert tested.status_code == 200
        assert re.search(r'id="test-status">200<', tested.text)
        [request] = receiver.received
        too_soon = http.post("/dashboard/webhooks", data={**form, "op": "test"})
        assert too_soon.status_code == 429
        assert "wait 2 seconds" in too_soon.text
        clock.now += 3000
        unsaved = http.post("/dashboard/webhooks", data={**form, "op": "test", "name": "Draft"})
        assert unsaved.status_code == 200
        assert re.search(r'id="test-status">200<', unsaved.text)
        assert len(receiver.received) == 2
        assert "Draft" not in http.get("/dashboard/webhooks").text
        assert request.header("Authorization") is not None
        assert request.header("X-Source") == "pinbase"
        for page in ("", "?tab=info", "?tab=logs"):
            shown = http.get(f"/dashboard/webhooks/{webhook}{page}")
            assert shown.status_code == 200
            assert SECRET not in shown.text
        assert "Attempts" in http.get("/dashboard/webhooks").text


def test_saving_without_retyping_the_password_keeps_it(
    site: InProcessServer, receiver: Receiver
) -> None:
    """An edit with the password field left empty keeps the stored password."""
    with site.client() as http:
        csrf = sign_in(http, ADMIN)
        form = hook_form(csrf, temperature(site), f"{receiver.url}/hook")
        webhook = created_id(http.post("/dashboard/webhooks", data=form))
        saved = http.post(
            f"/dashboard/webhooks/{webhook}", data={**form, "password": "", "name": "Renamed"}
        )
        assert saved.status_code == 303
        stored = site.run(lambda: site.services.webhooks.list(_admin_scope(site)))
        assert stored[0].webhook.spec.auth.password == SECRET
        assert stored[0].webhook.spec.name == "Renamed"


class _Scope:
    """Acme's whole scope, as a service caller."""

    def __init__(self, org: OrgId, scope: frozenset[OrgId]) -> None:
        self.org_id = org
        self.scope = scope

    def can_see(self, org_id: OrgId) -> bool:
        return org_id in self.scope


def _admin_scope(site: InProcessServer) -> Any:
    return _Scope(OrgId(1), site.services.directory.subtree(OrgId(1)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "name"),
        ({"url": "ftp://example.com"}, "starts with http:// or https://"),
        ({"device-target": ""}, "choose the device and datastream"),
        ({"device-target": "1:x"}, "must be a whole number"),
        ({"device-target": "999999:1"}, "device is not found"),
        ({"auth": "OAUTH2", "client-id": "", "client-secret": ""}, "OAuth 2.0 needs"),
        ({"auth": "BASIC", "username": ""}, "Basic auth needs a username"),
        ({"threshold": "many"}, "failure threshold must be a whole number"),
        ({"header-key-0": "Bad Key"}, "header key"),
        ({"trigger": "NOPE"}, "trigger.kind must be one of"),
        ({"method": "PATCH"}, "method must be one of"),
    ],
)
def test_a_refused_webhook_form_answers_400(
    site: InProcessServer, changes: dict[str, str], message: str
) -> None:
    """The use case's or the form's message is shown above the form, with status 400."""
    with site.client() as http:
        csrf = sign_in(http, ADMIN)
        form = hook_form(csrf, temperature(site), "https://example.com/hook")
        answer = http.post("/dashboard/webhooks", data={**form, **changes})
        assert answer.status_code == 400, answer.text
        assert 'role="alert"' in answer.text
        assert message in answer.text
        assert SECRET not in answer.text


def test_junk_webhook_posts_never_answer_5xx(site: InProcessServer) -> None:
    """Odd fields and ops answer below 500."""
    with site.client() as http:
        csrf = sign_in(http, ADMIN)
        for data in (
            {"csrf_token": csrf},
            {"csrf_token": csrf, "op": "row-nope"},
            {"csrf_token": csrf, "op": "test"},
            {"csrf_token": csrf, "op": "save", "recipients": "x"},
            {"csrf_token": csrf, "op": "save", "content-type": "WEB_FORM", "form-key-0": "k" * 500},
        ):
            assert http.post("/dashboard/webhooks", data=data).status_code < 500, data


def test_another_organizations_webhook_is_not_found(site: InProcessServer) -> None:
    """Other Corp's Admin gets 404 for Acme's webhook on every page and change; Staff has no
    Webhooks section."""
    with site.client() as http:
        csrf = sign_in(http, ADMIN)
        form = hook_form(csrf, temperature(site), "https://example.com/hook")
        webhook = created_id(http.post("/dashboard/webhooks", data=form))
    with site.client() as other:
        token = sign_in(other, OTHER)
        assert other.get(f"/dashboard/webhooks/{webhook}").status_code == 404
        for tail in ("", "/test", "/enable", "/disable", "/delete"):
            answer = other.post(f"/dashboard/webhooks/{webhook}{tail}", data={"csrf_token": token})
            assert answer.status_code == 404, tail
        assert "Farm feed" not in other.get("/dashboard/webhooks").text
    with site.client() as staff:
        sign_in(staff, STAFF)
        assert staff.get("/dashboard/webhooks").status_code == 404


def test_disable_and_enable_from_the_list(site: InProcessServer) -> None:
    """The menu's Disable and Enable change the status shown in the list."""
    with site.client() as http:
        csrf = sign_in(http, ADMIN)
        form = hook_form(csrf, temperature(site), "https://example.com/hook")
        webhook = created_id(http.post("/dashboard/webhooks", data=form))
        off = http.post(f"/dashboard/webhooks/{webhook}/disable", data={"csrf_token": csrf})
        assert off.status_code == 303
        assert "Disabled" in http.get("/dashboard/webhooks").text
        http.post(f"/dashboard/webhooks/{webhook}/enable", data={"csrf_token": csrf})
        assert "Enabled" in http.get("/dashboard/webhooks").text


def test_a_test_to_a_private_network_shows_the_refusal(site: InProcessServer) -> None:
    """Test webhook aimed at 10.0.0.1 (not allow-listed) shows BLOCKED_TARGET, not a 5xx."""
    with site.client() as http:
        csrf = sign_in(http, ADMIN)
        form = hook_form(csrf, temperature(site), "http://10.0.0.1/hook", op="test")
        answer = http.post("/dashboard/webhooks", data=form)
        assert answer.status_code == 200
        assert "No answer" in answer.text
        assert "BLOCKED_TARGET" in answer.text
