"""``/docs`` (Swagger UI) and the vendored browser files it loads, all served from the package.

FastAPI's own ``/docs`` page loads Swagger UI from a CDN, so a home server without internet, or a
locked-down network, showed a blank page (issue #8, "Works offline"). This page loads the
``swagger-ui-dist`` files copied into ``static/vendor/`` (its README.md says from where) and
nothing from another host; ``tests/http/test_pages_offline.py`` and the headless Chromium test in
``tests/browser/`` hold every page to that.
"""

import os
from pathlib import Path

from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

SWAGGER_UI_VERSION = "5.35.0"
VENDOR_DIR = Path(__file__).parent / "static" / "vendor"
VENDOR_PATH = "/static/vendor"
"""Narrower than ``/static``, which the OTA downloads of device-lifecycle.md §2 will use."""

SWAGGER_UI_PATH = f"{VENDOR_PATH}/swagger-ui-{SWAGGER_UI_VERSION}"
DOCS_PATH = "/docs"

IMMUTABLE = "public, max-age=31536000, immutable"
"""A vendored file's path names its version, so a browser may keep it for a year."""

SWAGGER_UI_PARAMETERS = {
    # Swagger UI would otherwise send the document to validator.swagger.io for a badge.
    "validatorUrl": None,
}


class VendorFiles(StaticFiles):
    """The vendored browser libraries, cached for good by browsers (their paths are versioned)."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """Starlette's answer (``ETag``, ``304``) with a far-future ``Cache-Control``."""
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = IMMUTABLE
        return response


def docs_routes(*, title: str, openapi_url: str) -> list[BaseRoute]:
    """The ``/docs`` page for the document at ``openapi_url`` and the files it loads."""

    async def swagger_ui(_request: Request) -> Response:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{SWAGGER_UI_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_UI_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_UI_PATH}/favicon-32x32.png",
            oauth2_redirect_url=None,  # Bearer tokens only: no OAuth flow runs in the page
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    return [
        Route(DOCS_PATH, swagger_ui, methods=["GET"]),
        Mount(VENDOR_PATH, VendorFiles(directory=VENDOR_DIR)),
    ]
