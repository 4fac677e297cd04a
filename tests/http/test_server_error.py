"""An exception no handler expected is logged with its traceback and answered as Blynk's JSON
error, in the outer application and in the Platform application alike."""

import logging
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pinbase.http.platform_api.errors import install_error_handlers
from pinbase.http.responses import INTERNAL_ERROR, server_error


async def broken(_request: Request) -> Response:
    raise RuntimeError("a bug")


def starlette_app() -> Starlette:
    return Starlette(
        routes=[Route("/broken", broken)], exception_handlers={Exception: server_error}
    )


def platform_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_api_route("/broken", broken)
    return app


@pytest.mark.parametrize("build", [starlette_app, platform_app])
async def test_unexpected_exception_is_logged_and_answered_as_json_500(
    build: Callable[[], Starlette], caplog: pytest.LogCaptureFixture
) -> None:
    transport = httpx.ASGITransport(app=build(), raise_app_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="pinbase.http.responses"):
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            answer = await http.get("/broken")
    assert answer.status_code == 500
    assert answer.json() == {"error": {"message": INTERNAL_ERROR}}
    assert answer.headers["content-type"] == "application/json;charset=utf-8"
    [record] = [r for r in caplog.records if r.name == "pinbase.http.responses"]
    assert record.getMessage() == "http.unhandled method=GET path=/broken"
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "a bug"
