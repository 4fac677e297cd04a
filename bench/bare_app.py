"""The baseline of bench/device_http.py: a bare Starlette app answering ``OK`` to ``GET /``.

It is served exactly as ``pinbase.runtime.serve`` serves Pinbase (granian's embedded server,
ASGI without lifespan, the same backlog, logging off, uvloop), so the ratio Pinbase / bare
measures what Pinbase's own code costs, not the server software.

Run: ``python bench/bare_app.py PORT``; SIGINT or SIGTERM stops it cleanly.
"""

import asyncio
import signal
import sys

import uvloop
from granian.constants import Interfaces
from granian.server.embed import Server
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

HOST = "127.0.0.1"
BACKLOG = 2048
"""The backlog ``pinbase.runtime.serve`` uses."""


async def ok(_request: Request) -> Response:
    """Answer ``OK``, whatever the query string."""
    return PlainTextResponse("OK")


def create_app() -> Starlette:
    """The bare application: one route, no middleware."""
    return Starlette(routes=[Route("/", ok, methods=["GET"])])


async def serve(port: int) -> None:
    """Serve the bare app on loopback until SIGINT or SIGTERM."""
    server = Server(
        create_app(),
        address=HOST,
        port=port,
        interface=Interfaces.ASGINL,
        backlog=BACKLOG,
        log_enabled=False,
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, server.stop)
    await server.serve()


def main() -> None:
    """Parse the port and serve."""
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/bare_app.py PORT")
    uvloop.run(serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
