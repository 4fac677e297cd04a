"""The legacy API's routes, each wrapped so a ``LegacyError`` becomes a plain-text answer.

Mount them after every other family. ``{token}`` matches any path segment, yet a legacy token is
never ``external``, ``api`` or ``oauth2`` (http-api.md §1.1): a path such as ``/external/get/v1``
belongs to a modern family and answers the app's JSON 404. Actions the legacy API does not have
(``/{token}/query``, removed in 2017) match no route and get that same 404; there is no catch-all.
"""

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pinbase.http.handlers import Handler, answering
from pinbase.http.legacy_api import messages
from pinbase.http.legacy_api.exports import ExportEndpoints, ExportFileRoute
from pinbase.http.legacy_api.notifications import NotificationEndpoints
from pinbase.http.legacy_api.project import ProjectEndpoints
from pinbase.http.legacy_api.replies import LegacyError, text_reply
from pinbase.http.legacy_api.status import StatusEndpoints
from pinbase.http.legacy_api.values import ValueEndpoints
from pinbase.http.paths import is_legacy_path
from pinbase.services.container import Services
from pinbase.settings import Settings


def answering_errors(handler: Handler) -> Handler:
    """Turn ``LegacyError`` into its plain-text answer; a storage failure into a 503.

    A modern-family path that happens to fit a legacy pattern answers the app's JSON 404.
    """
    answered = answering(
        handler,
        errors=LegacyError,
        answer=text_reply,
        storage_message=messages.STORAGE_UNAVAILABLE,
    )

    async def endpoint(request: Request) -> Response:
        if "token" in request.path_params and not is_legacy_path(request.url.path):
            raise HTTPException(404)
        return await answered(request)

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


def legacy_routes(services: Services, settings: Settings) -> list[BaseRoute]:
    """Every ``/{token}/…`` route of http-api.md §5, plus the export download."""
    values = ValueEndpoints(services, settings)
    status = StatusEndpoints(services)
    notifications = NotificationEndpoints(services)
    exports = ExportEndpoints(services, settings)
    project = ProjectEndpoints(services)
    table: list[tuple[str, Handler, str]] = [
        ("/{token}/get/{pin}", values.read, "GET"),
        ("/{token}/update/{pin}", values.update_via_get, "GET"),
        ("/{token}/update/{pin}", values.update_via_put, "PUT"),
        ("/{token}/pin/{pin}", values.update_via_put, "PUT"),
        ("/{token}/extra/pin/{pin}", values.update_timestamped, "PUT"),
        ("/{token}/isHardwareConnected", status.is_hardware_connected, "GET"),
        ("/{token}/isAppConnected", status.is_app_connected, "GET"),
        ("/{token}/notify", notifications.notify, "POST"),
        ("/{token}/email", notifications.email, "POST"),
        ("/{token}/data/{pin}", exports.export, "GET"),
        ("/{token}/qr", status.clone_qr, "GET"),
        ("/{token}/project", project.project, "GET"),
        ("/{token}/rtc", status.rtc, "GET"),
    ]
    routes: list[BaseRoute] = [
        Route(path, answering_errors(handler), methods=[method]) for path, handler, method in table
    ]
    routes.append(ExportFileRoute("/{name}", answering_errors(exports.download), methods=["GET"]))
    return routes
