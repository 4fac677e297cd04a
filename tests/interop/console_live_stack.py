"""The whole server in the test process, as ``pinbase serve`` builds it (the console and its
live channel at ``/dashboard/ws`` included): granian on a free HTTP port and the binary device
listener on another, over ``running_services``, on an event loop of their own (an anyio blocking
portal). Callers sign in as a browser does, through ``/dashboard/login``.
"""

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from granian.constants import Interfaces
from granian.server.embed import Server
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from pinbase.http.app import create_app
from pinbase.runtime import running_services
from pinbase.services.container import Services
from pinbase.settings import Settings
from pinbase.testing import free_port
from pinbase.transports.login_guard import LoginGuard
from pinbase.transports.tcp import DeviceListeners

T = TypeVar("T")

COOKIE = "pinbase_session"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
READY_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedIn:
    """A console session: its cookie value and the CSRF token its page shows."""

    email: str
    session: str
    csrf_token: str


@dataclass(kw_only=True)
class LiveStack:
    """The running server: its services and ports."""

    services: Services
    http_port: int
    hardware_port: int
    portal: BlockingPortal

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def sign_in(self, email: str, password: str) -> SignedIn:
        """Sign in through the console's form; the session and the page's CSRF token."""
        with httpx.Client(base_url=self.base_url) as http:
            answer = http.post("/dashboard/login", data={"email": email, "password": password})
            assert answer.status_code == 303, answer.text
            found = CSRF.search(http.get("/dashboard").text)
            assert found is not None
            return SignedIn(email=email, session=http.cookies[COOKIE], csrf_token=found[1])

    def sign_out(self, signed_in: SignedIn) -> None:
        """Press Sign out on a page of that session."""
        with httpx.Client(base_url=self.base_url, cookies={COOKIE: signed_in.session}) as http:
            answer = http.post("/dashboard/logout", data={"csrf_token": signed_in.csrf_token})
            assert answer.status_code == 303, answer.text

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
