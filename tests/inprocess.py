"""The whole HTTP application in the test process: ``create_app`` over ``running_services``.

No socket, no ``pinbase serve`` start-up, no CLI: a request goes from httpx straight into the
ASGI application, which runs over the same services, storage and background tasks as the real
server. Use it for HTTP behaviour; keep ``pinbase.testing.ServerProcess`` for what only a
subprocess proves (signals, kill -9, ports, start-up, real device libraries). CONTRIBUTING.md
says which to pick.

The services live on an event loop of their own, in a thread (an anyio blocking portal), so a
plain synchronous test drives the application with an ``httpx.Client`` as it would drive a real
server, and an ``async`` test may await the same portal's work through ``InProcessServer.run``.
"""

from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from pinbase.http.app import create_app
from pinbase.runtime import running_services
from pinbase.services.clock import Clock, system_clock
from pinbase.services.container import Services
from pinbase.services.provisioning import parse_spec, provision
from pinbase.settings import Settings

T = TypeVar("T")

BASE_URL = "http://pinbase.test"

UNTHROTTLED_REQUESTS_PER_SECOND = 1_000_000
"""As ``testspec.UNTHROTTLED`` for a subprocess server: tests hammering one device for another
purpose are not throttled; tests of the limit build a server with their own settings."""


class PortalTransport(httpx.BaseTransport):
    """A synchronous httpx transport that runs each request on the portal's event loop."""

    def __init__(self, app: Any, portal: BlockingPortal) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the application and read its whole answer."""
        request.read()  # a synchronous body stream becomes bytes the ASGI transport can send

        async def send() -> httpx.Response:
            response = await self._asgi.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(
                response.status_code,
                headers=response.headers,
                content=content,
                extensions=response.extensions,
            )

        return self._portal.call(send)


class InProcessServer:
    """A running application: its services, its data folder and clients for it."""

    def __init__(
        self, *, services: Services, settings: Settings, app: Any, portal: BlockingPortal
    ) -> None:
        self.services = services
        self.settings = settings
        self.app = app
        self._portal = portal

    @property
    def data_dir(self) -> Path:
        """The data folder, for tests that read what was stored."""
        return self.settings.data_dir

    def client(self) -> httpx.Client:
        """A synchronous client; close it (``with``) when done."""
        return httpx.Client(
            base_url=BASE_URL, transport=PortalTransport(self.app, self._portal), timeout=10
        )

    def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` on the services' event loop and return its result."""
        return self._portal.call(work)

    def provision(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Create what a ``pinbase provision`` file describes; its JSON answer, as the CLI's."""
        services = self.services
        return self.run(
            lambda: provision(
                services.store,
                parse_spec(spec),
                clock=services.clock,
                bus=services.bus,
            )
        )


@contextmanager
def in_process_server(
    data_dir: Path, *, clock: Clock = system_clock, **settings: Any
) -> Iterator[InProcessServer]:
    """The application over fresh services on ``data_dir``, timed by ``clock``; ``settings``
    override defaults."""
    config = Settings(
        data_dir=data_dir,
        **{"device_requests_per_second": UNTHROTTLED_REQUESTS_PER_SECOND, **settings},
    )
    with ExitStack() as stack:
        portal = stack.enter_context(start_blocking_portal())
        services = stack.enter_context(
            portal.wrap_async_context_manager(running_services(config, clock=clock))
        )
        yield InProcessServer(
            services=services,
            settings=config,
            app=create_app(services, config),
            portal=portal,
        )


def bearer(http: httpx.Client, created: dict[str, Any]) -> dict[str, str]:
    """The bearer header of the first OAuth client ``provision`` created (client credentials)."""
    client = created["oauthClients"][0]
    answer = http.post(
        "/oauth2/token",
        params={"grant_type": "client_credentials"},
        auth=(client["clientId"], client["clientSecret"]),
    )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def user_id_of(site: InProcessServer, email: str) -> int:
    """The id of the user with ``email``."""

    async def find() -> int:
        async with site.services.store.transaction() as tx:
            user = await tx.find_user_by_email(email)
        assert user is not None
        return int(user.id)

    return site.run(find)
