"""The server of bench/console_live.py: Pinbase's HTTP application with the console's live
channel mounted at ``/dashboard/ws``, served exactly as ``pinbase.runtime.serve`` serves it
(granian embedded, ``ASGINL``, logging off, the garbage collector tuned), without device
listeners (the benchmark's devices write over the Device HTTP API).

Until the console's sign-in (helper "console-core") is merged, ``pinbase serve`` mounts no live
channel and has no session to sign in with, so this server stands in: its one caller, a
test-only ``BenchCaller`` who sees and controls every organization, is whoever sends the cookie
``pinbase-bench-caller=SECRET`` (SECRET from the command line). Once sign-in is merged,
``console_live.py --auth login`` drives ``pinbase serve`` itself and this file can go.

Run: ``python bench/console_server.py DATA_DIR PORT SECRET``; SIGINT or SIGTERM stops it.
Settings come from ``PINBASE_*`` variables as for ``pinbase serve``.
"""

import asyncio
import hmac
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import uvloop
from granian.constants import Interfaces
from granian.server.embed import Server
from starlette.requests import HTTPConnection
from starlette.routing import Mount

from pinbase.domain.ids import OrgId
from pinbase.http.app import create_app
from pinbase.http.console.live_socket import LiveCaller, live_routes
from pinbase.runtime import running_services, tune_garbage_collector
from pinbase.settings import load_settings

HOST = "127.0.0.1"
BACKLOG = 2048
"""The backlog ``pinbase.runtime.serve`` uses."""
COOKIE = "pinbase-bench-caller"


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchCaller:
    """The benchmark's one console caller: every organization, with control permission."""

    email: str
    csrf_token: str

    def can_see(self, org_id: OrgId) -> bool:
        return True

    def can_control(self, org_id: OrgId) -> bool:
        return True


async def serve(data_dir: Path, port: int, secret: str) -> None:
    """Serve until SIGINT or SIGTERM."""
    settings = load_settings(data_dir=data_dir, http_port=port, host=HOST)
    caller = BenchCaller(email="bench@example.com", csrf_token=secret)

    async def caller_of(conn: HTTPConnection) -> LiveCaller | None:
        sent = conn.cookies.get(COOKIE, "")
        return caller if hmac.compare_digest(sent.encode(), secret.encode()) else None

    async with running_services(settings) as services:
        app = create_app(services, settings)
        app.router.routes.insert(
            0, Mount("/dashboard", routes=live_routes(services, settings, caller_of))
        )
        server = Server(
            app,
            address=HOST,
            port=port,
            interface=Interfaces.ASGINL,
            backlog=BACKLOG,
            log_enabled=False,
        )
        tune_garbage_collector()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, server.stop)
        await server.serve()


def main() -> None:
    """Parse the arguments and serve."""
    if len(sys.argv) != 4:
        sys.exit("usage: python bench/console_server.py DATA_DIR PORT SECRET")
    uvloop.run(serve(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))


if __name__ == "__main__":
    main()
