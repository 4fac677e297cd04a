"""The channels as ``runtime`` wires them (automations.md §5.1 to §5.3): an EMAIL delivery committed
to the outbox of a running server reaches a real SMTP server, and a PUSH delivery reaches the
local push service, both sent by the outbox's own task; without ``smtp_host`` no e-mail sender
is registered."""

import threading
from pathlib import Path

from console_site import USER, acme_spec
from pytest_httpserver import HTTPServer
from test_channels_web_push import push, subscribe
from werkzeug import Request, Response

from inprocess import InProcessServer, in_process_server, user_id_of
from pinbase.domain.deliveries import Delivery, DeliveryKind, new_delivery
from push_browser import PUSH_MESSAGE, Browser
from smtp_mailbox import smtp_server

ARRIVAL_S = 10
"""How long a test waits for a message to arrive (a bound, not a measurement)."""


def commit(site: InProcessServer, delivery: Delivery) -> None:
    """Commit a delivery to the outbox and wake the dispatcher, as the planner does."""
    services = site.services

    async def write() -> None:
        async with services.store.transaction() as tx:
            await tx.add_deliveries([delivery])
        services.outbox.wake()

    site.run(write)


def test_an_email_delivery_reaches_the_smtp_server(tmp_path: Path) -> None:
    """With ``smtp_*`` set (loopback allow-listed), the outbox's task sends the message."""
    with (
        smtp_server() as mailbox,
        in_process_server(
            tmp_path,
            smtp_host="127.0.0.1",
            smtp_port=mailbox.port,
            smtp_security="none",
            smtp_from_address="pinbase@example.com",
            outbound_allowed_networks=("127.0.0.1/32",),
        ) as site,
    ):
        delivery = new_delivery(
            DeliveryKind.EMAIL,
            {
                "to": "ann@example.org",
                "subject": "Freezer: Too warm",
                "text": "12 °C",
                "html": "<p>12 °C</p>",
                "fromName": "Acme",
                "headers": {},
            },
            due_at=site.services.clock(),
            source="EVENT",
        )
        commit(site, delivery)
        assert mailbox.arrived.wait(ARRIVAL_S)
    [message] = mailbox.messages
    assert message["Message-ID"] == f"<{delivery.id}@example.com>"
    assert message["From"] == "Acme <pinbase@example.com>"


def test_a_push_delivery_reaches_the_push_service(tmp_path: Path, httpserver: HTTPServer) -> None:
    """The PUSH sender is registered with the server's VAPID key and the outbound guard."""
    arrived = threading.Event()

    def received(request: Request) -> Response:
        arrived.set()
        return Response("", status=201)

    httpserver.expect_request("/push/wired").respond_with_handler(received)
    with in_process_server(tmp_path, outbound_allowed_networks=("127.0.0.1/32",)) as site:
        site.provision(acme_spec())
        browser = Browser.new()
        subscribe(site, USER, browser, httpserver.url_for("/push/wired"))
        commit(site, push(user_id_of(site, USER)))
        assert arrived.wait(ARRIVAL_S)
    [(request, _)] = httpserver.log
    assert browser.decrypt(request.get_data()) == PUSH_MESSAGE
