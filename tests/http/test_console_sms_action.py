"""Send SMS in the console's automation editor and the SMS channel as ``runtime`` wires it (issue
#10, automations.md §2.1, §3.5): the action is offered, saved with its users and text, shown
again; a scene with it runs and its log row says SMS; with ``sms_gateway_url`` set the server's
own outbox task posts the SMS to a real local HTTP receiver."""

import re
import threading
from pathlib import Path

import httpx
import orjson
from console_site import ADMIN, USER, acme_spec, sign_in
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from inprocess import InProcessServer, in_process_server, user_id_of
from pinbase.domain.deliveries import DeliveryKind, new_delivery

ARRIVAL_S = 10
"""How long a test waits for the SMS to arrive (a bound, not a measurement)."""


def created_id(answer: httpx.Response) -> int:
    """The automation id a create answer redirects to."""
    assert answer.status_code == 303, answer.text
    found = re.search(r"/automations/(\d+)\?", answer.headers["location"])
    assert found is not None
    return int(found.group(1))


def test_the_editor_saves_and_runs_a_send_sms_action(tmp_path: Path) -> None:
    """ "Send SMS" is a choice; adding it shows recipients and a message; the saved action
    keeps them; executing the scene logs an SMS row (no gateway: suppressed)."""
    with in_process_server(tmp_path) as site:
        site.provision(acme_spec())
        http = site.client()
        csrf = sign_in(http, ADMIN)
        blank = http.get("/dashboard/automations/new")
        assert '<option value="SEND_SMS">Send SMS</option>' in blank.text
        added = http.post(
            "/dashboard/automations",
            data={
                "csrf_token": csrf,
                "op": "add",
                "name": "Text",
                "kind": "SCENE",
                "new-action": "SEND_SMS",
            },
        )
        assert added.status_code == 200
        assert "1. Send SMS" in added.text
        assert 'name="action-0-users"' in added.text
        assert 'name="action-0-subject"' not in added.text
        user = user_id_of(site, USER)
        automation = created_id(
            http.post(
                "/dashboard/automations",
                data={
                    "csrf_token": csrf,
                    "op": "save",
                    "name": "Text",
                    "kind": "SCENE",
                    "action-0-kind": "SEND_SMS",
                    "action-0-users": str(user),
                    "action-0-body": "{ORG_NAME} says hi",
                },
            )
        )
        page = http.get(f"/dashboard/automations/{automation}")
        assert "1. Send SMS" in page.text
        assert "{ORG_NAME} says hi" in page.text
        assert re.search(rf'value="{user}"\s+checked', page.text)
        ran = http.post(f"/dashboard/automations/{automation}/execute", data={"csrf_token": csrf})
        assert ran.status_code == 303
        logged = http.get(f"/dashboard/automations/{automation}")
        assert '<td data-label="Type">SMS</td>' in logged.text


def test_the_runtime_registers_the_http_gateway(tmp_path: Path, httpserver: HTTPServer) -> None:
    """With ``sms_gateway_url`` set (loopback allow-listed), the outbox's own task posts an
    SMS delivery to the gateway as JSON."""
    arrived = threading.Event()
    bodies: list[bytes] = []

    def received(request: Request) -> Response:
        bodies.append(request.get_data())
        arrived.set()
        return Response("", status=202)

    httpserver.expect_request("/sms", method="POST").respond_with_handler(received)
    with in_process_server(
        tmp_path,
        sms_gateway_url=httpserver.url_for("/sms"),
        outbound_allowed_networks=("127.0.0.1/32",),
    ) as site:
        commit_sms(site, {"to": "+15550100", "text": "Tank full"})
        assert arrived.wait(ARRIVAL_S)
    assert [orjson.loads(body) for body in bodies] == [{"to": "+15550100", "text": "Tank full"}]


def commit_sms(site: InProcessServer, payload: dict[str, object]) -> None:
    """Commit an SMS delivery to the outbox and wake the dispatcher, as the planner does."""
    services = site.services
    delivery = new_delivery(DeliveryKind.SMS, payload, due_at=services.clock(), source="AUTOMATION")

    async def write() -> None:
        async with services.store.transaction() as tx:
            await tx.add_deliveries([delivery])
        services.outbox.wake()

    site.run(write)
