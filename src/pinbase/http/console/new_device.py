"""New Device (console.md §1.3): pick a template, name the device, and read its token once.

The device is made by ``DeviceAdmin.create``, PLT-DEV-09's use case, in the caller's home
organization and owned by the caller. The answer to the form's POST is the only page that shows
the token: the firmware snippet (``BLYNK_TEMPLATE_ID``, ``BLYNK_TEMPLATE_NAME``,
``BLYNK_AUTH_TOKEN``, ``Blynk.begin(…)`` with this server's host and device port) and the MQTT
settings. It is never at a URL that a reload, the history or a list could show again (device
lists never show tokens); the page is ``no-store`` like every console page.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pinbase.domain.devices import MAX_DEVICE_NAME_CHARS
from pinbase.domain.errors import InvalidDefinition
from pinbase.http.console.devices import DEVICES_PATH, sign_in_first
from pinbase.http.console.pages import error_page, signed_in_page
from pinbase.http.console.session import console_session
from pinbase.http.console.template_forms import FORM, FormState, blank, text
from pinbase.services.console_caller import Permission
from pinbase.services.console_sessions import ConsoleSession
from pinbase.services.container import Services
from pinbase.services.device_admin import DeviceAdminRefusal, TemplateNotUsable
from pinbase.services.template_lists import usable_templates
from pinbase.settings import Settings

NEW_DEVICE_PATH = f"{DEVICES_PATH}/new"
NOT_ALLOWED = "Your role may not create devices."
NO_TEMPLATE = "Choose one of the templates offered."
NOT_CREATED = "The device could not be created: reload the page and try again."


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """Where a device connects: the host it is told, and the ports of the listeners."""

    host: str
    hardware_port: int
    mqtt_port: int


def endpoint(request: Request, settings: Settings) -> Endpoint:
    """The host of ``public_url`` when set, else the host the browser reached this server by
    (the firmware is usually on the same network as the person's browser)."""
    public = urlsplit(settings.public_url or "").hostname
    host = public or request.url.hostname or "127.0.0.1"
    return Endpoint(host=host, hardware_port=settings.hardware_port, mqtt_port=settings.mqtt_port)


def new_device_routes(services: Services, settings: Settings) -> list[BaseRoute]:
    """``GET`` and ``POST /dashboard/devices/new``."""

    async def opened(request: Request) -> ConsoleSession | Response:
        session = await console_session(request)
        if session is None:
            return sign_in_first()
        if not session.caller.can(Permission.ORG_DEVICES_EDIT):
            return error_page(NOT_ALLOWED, 403)
        return session

    def form_page(session: ConsoleSession, form: FormState, status: int = 200) -> Response:
        context = {
            "templates": usable_templates(services.directory, session.caller),
            "form": form,
            "max_name": MAX_DEVICE_NAME_CHARS,
        }
        return signed_in_page(session, "new_device.html", context, section="devices", status=status)

    async def new_device_form(request: Request) -> Response:
        session = await opened(request)
        if isinstance(session, Response):
            return session
        chosen = request.query_params.get("template", "")
        return form_page(session, blank({"template": chosen}))

    async def create_device(request: Request) -> Response:
        session = await opened(request)
        if isinstance(session, Response):
            return session
        posted = await request.form()
        form = blank({name: text(posted, name) for name in ("template", "name")})
        try:
            bound = await services.device_admin.create(
                session.caller,
                org_id=None,
                template_code=form.values["template"],
                name=form.values["name"],
                owner_id=session.caller.user_id,
            )
        except InvalidDefinition as invalid:
            form.errors["name"] = f"{str(invalid)[0].upper()}{str(invalid)[1:]}."
            return form_page(session, form, status=400)
        except TemplateNotUsable:
            form.errors["template"] = NO_TEMPLATE
            return form_page(session, form, status=400)
        except DeviceAdminRefusal:
            form.errors[FORM] = NOT_CREATED
            return form_page(session, form, status=400)
        context = {
            "device": bound.device,
            "template": bound.template,
            "endpoint": endpoint(request, settings),
        }
        return signed_in_page(session, "device_token.html", context, section="devices")

    return [
        Route(NEW_DEVICE_PATH, new_device_form, methods=["GET"]),
        Route(NEW_DEVICE_PATH, create_device, methods=["POST"]),
    ]
