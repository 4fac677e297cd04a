"""The whole server in the test process with the console's live channel mounted at
``/dashboard/ws``: granian on a free HTTP port and the binary device listener on another, over
``running_services``, on an event loop of their own (an anyio blocking portal).

Until the console's sign-in (helper "console-core") is merged, callers come from a test-only
cookie this stack hands out (``LiveStack.sign_in``), each a ``TestCaller`` with an explicit scope
and control permission; once it is, tests sign in through it instead.
"""

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal
from granian.constants import Interfaces
from granian.server.embed import Server
from starlette.requests import HTTPConnection
from starlette.routing import Mount
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from pinbase.domain.ids import OrgId
from pinbase.http.app import create_app
from pinbase.http.console.live_socket import LiveCaller, live_routes
from pinbase.runtime import running_services
from pinbase.services.container import Services
from pinbase.settings import Settings
from pinbase.testing import free_port
from pinbase.transports.login_guard import LoginGuard
from pinbase.transports.tcp import DeviceListeners

T = TypeVar("T")

COOKIE = "pinbase-test-caller"
READY_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class TestCaller:
    """A signed-in console caller as the live channel sees one (``LiveCaller``)."""

    email: str
    csrf_token: str
    scope: frozenset[OrgId]
    control: bool

    def can_see(self, org_id: OrgId) -> bool:
        return org_id in self.scope

    def can_control(self, org_id: OrgId) -> bool:
        return self.control and org_id in self.scope


@dataclass(kw_only=True)
class LiveStack:
    """The running server: its services, ports and the callers signed in so far."""

    services: Services
    http_port: int
    hardware_port: int
    portal: BlockingPortal
    callers: dict[str, TestCaller] = field(default_factory=dict)

    def sign_in(self, *orgs: int, control: bool = True) -> tuple[str, TestCaller]:
        """A session cookie value for a new caller who sees ``orgs``."""
        caller = TestCaller(
            email=f"user{len(self.callers)}@example.com",
            csrf_token=secrets.token_urlsafe(16),
            scope=frozenset(OrgId(org) for org in orgs),
            control=control,
        )
        session = secrets.token_urlsafe(16)
        self.callers[session] = caller
        return session, caller

    def connect(self, session: str | None, *, origin: str | None = None) -> ClientConnection:
        """A WebSocket to ``/dashboard/ws`` with the session cookie, from the page's origin
        unless ``origin`` names another."""
        base = f"127.0.0.1:{self.http_port}"
        headers = {"Cookie": f"{COOKIE}={session}"} if session else {}
        return connect(
            f"ws://{base}/dashboard/ws",
            origin=Origin(origin or f"http://{base}"),
            additional_headers=headers,
            open_timeout=5,
        )

    def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` on the server's event loop."""
        return self.portal.call(work)

    async def caller_of(self, conn: HTTPConnection) -> LiveCaller | None:
        """The caller of the test cookie, as ``console_caller`` will resolve a session."""
        return self.callers.get(conn.cookies.get(COOKIE, ""))


@contextmanager
def live_stack(data_dir: Path, **settings: Any) -> Iterator[LiveStack]:
    """The server on ``data_dir`` (provisioned beforehand) until the block exits."""
    config = Settings(
        data_dir=data_dir,
        http_port=free_port(),
        hardware_port=free_port(),
        hardware_tls_port=0,
        mqtt_port=0,
        mqtt_tls_port=0,
        **settings,
    )
    with ExitStack() as stack:
        portal = stack.enter_context(start_blocking_portal())
        yield stack.enter_context(portal.wrap_async_context_manager(_serving(config, portal)))


@asynccontextmanager
async def _serving(settings: Settings, portal: BlockingPortal) -> AsyncIterator[LiveStack]:
    async with running_services(settings) as services:
        live = LiveStack(
            services=services,
            http_port=settings.http_port,
            hardware_port=settings.hardware_port,
            portal=portal,
        )
        app = create_app(services, settings)
        # What the console's app.py will mount (helper "console-core"): /dashboard/ws.
        app.router.routes.insert(
            0, Mount("/dashboard", routes=live_routes(services, settings, live.caller_of))
        )
        server = Server(
            app,
            address="127.0.0.1",
            port=settings.http_port,
            interface=Interfaces.ASGINL,
            log_enabled=False,
        )
        guard = LoginGuard.for_settings(settings, clock=services.clock)
        listeners = await DeviceListeners.start(services, settings, guard=guard)
        serving = asyncio.create_task(server.serve())
        try:
            await _until_listening(settings.http_port)
            yield live
        finally:
            server.stop()  # type: ignore[no-untyped-call]  # granian ships no types
            await serving
            await listeners.stop()


async def _until_listening(port: int) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.02)
        else:
            writer.close()
            await writer.wait_closed()
            return
