"""What the in-process webhook API tests share: an organization to provision and a server that
allows loopback targets and leaves sending to the test (``outbox.run_due``)."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from inprocess import InProcessServer, in_process_server

HOOKS = "/api/v1/organization/webhooks"


def org_spec(name: str) -> dict[str, Any]:
    """An organization with an OAuth client, a ``Tank`` template (INT datastream 1 on V1) and
    one device of it, ``<name> Tank``."""
    return {
        "organization": {"name": name},
        "oauthClients": [{"name": "api"}],
        "templates": [
            {"name": "Tank", "datastreams": [{"id": 1, "label": "Level", "pin": 1, "type": "INT"}]}
        ],
        "devices": [{"name": f"{name} Tank", "template": "Tank"}],
    }


@contextmanager
def webhook_server(folder: Path, **settings: Any) -> Iterator[InProcessServer]:
    """A server with 127.0.0.1 allow-listed and the outbox's task stopped: the tests send with
    ``run_due``."""
    with in_process_server(folder, outbound_allowed_networks="127.0.0.1/32", **settings) as server:
        server.run(server.services.outbox.stop)
        yield server
