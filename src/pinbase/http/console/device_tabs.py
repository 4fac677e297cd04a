"""What the device page's tabs and toolbox change, and the Terminal's recent lines.

- ``POST /dashboard/devices/{id}/metadata/{fieldId}``: a metadata value from the Info & Metadata
  tab, under the device API's rules (DEV-10, as PLT-DEV-16: ``DeviceRecords.write_metadata``),
  then back to the tab with the outcome (post, redirect, get).
- ``POST /dashboard/devices/{id}/notifications/{eventId}``: the Info tab's Notifications form
  (automations.md §1.5): the user-chosen recipients per channel and the mute of one event,
  through ``DeviceNotificationSettings.save`` (whoever may control the device; else 403).
- ``/dashboard/devices/{id}/rename|erase|delete``: the toolbox (console.md §1.4). ``GET`` shows
  a form that asks for the new name or for confirmation; ``POST`` acts through
  ``DeviceAdmin`` (PLT-DEV-10, 12, 11).
- ``/dashboard/devices/{id}/reboot|ping``: the toolbox's device commands (console.md §1.4,
  device-lifecycle.md §4) through ``DeviceCommands``; ``POST`` answers the same page with the
  outcome (a ping's milliseconds), or why the device could not take it.
- ``GET /dashboard/api/devices/{id}/datastreams/{dsId}/recent``: the datastream's last
  ``RECENT_VALUES`` stored values, oldest first, so a Terminal shows its recent lines after a
  reload (console.md §2.3's recommendation, read from raw history).

Every route first finds the device for a caller allowed to see it (``ConsoleDevices.find``: a
device outside the scope, or not the User role's own, is a plain 404); changes then need
``can_edit_device`` (Admin and Staff), else 403. The CSRF rule is the session middleware's.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from pinbase.domain.device_notifications import ChannelChoice
from pinbase.domain.devices import MAX_DEVICE_NAME_CHARS, check_device_name
from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.notifications import ALL_MEMBERS, USER, Recipient
from pinbase.http.console.devices import DEVICES_PATH, MAX_DEVICE_ID, NOT_FOUND, sign_in_first
from pinbase.http.console.pages import error_page, signed_in_page
from pinbase.http.console.session import console_session
from pinbase.http.paths import CONSOLE_PATH
from pinbase.http.responses import error_response, json_response
from pinbase.services.console_caller import ConsoleCaller
from pinbase.services.container import Services
from pinbase.services.device_commands import DeviceCommandError, DeviceOffline
from pinbase.services.directory import BoundDevice
from pinbase.services.metadata import InvalidMetaValue, MetafieldNotFound, MetafieldReadOnly
from pinbase.services.reactions.notification_settings import (
    EventNotManaged,
    ManagementNotAllowed,
)
from pinbase.services.scope import DatastreamNotFound, DeviceNotFound, datastream_by_id
from pinbase.settings import Settings

CallerOf = Callable[[HTTPConnection], Awaitable[ConsoleCaller | None]]

RECENT_VALUES = 100
"""Lines a Terminal shows after a reload (console.md §2.3: "the last 100 writes")."""

NOT_ALLOWED = "Your role may not change this device."

MAX_ID_DIGITS = 9
"""Digits of an id in a form value: ids stay below a billion, and a longer number is junk."""

ACTIONS = {
    "rename": {"heading": "Rename {name}", "button": "Rename"},
    "erase": {
        "heading": "Erase the data of {name}?",
        "button": "Erase data",
        "explanation": (
            "Every stored value, its history and the widget properties of this device are "
            "deleted. The device, its token and its metadata stay. This cannot be undone."
        ),
    },
    "delete": {
        "heading": "Delete {name}?",
        "button": "Delete device",
        "explanation": (
            "The device is deleted with everything it stored; its token stops working at once "
            "and a connected device is disconnected. This cannot be undone."
        ),
    },
    "reboot": {
        "heading": "Reboot {name}?",
        "button": "Reboot",
        "explanation": (
            "The connected device is asked to restart; it reconnects once it is up again. A "
            "sketch without a reboot handler ignores the request."
        ),
    },
    "ping": {
        "heading": "Ping {name}",
        "button": "Ping",
        "explanation": (
            "Measures the round trip to the connected device: up to 10 seconds. Devices running "
            "a Python Blynk library cannot be pinged."
        ),
    },
}
"""The toolbox's actions and what their confirmation page says."""

COMMANDS = frozenset({"reboot", "ping"})
"""Toolbox actions that are device commands: their page shows the outcome."""

BAD_NAME = (
    f"A name is 1 to {MAX_DEVICE_NAME_CHARS} letters, digits, spaces, apostrophes, underscores "
    "or hyphens."
)


def picked_recipients(values: Sequence[object]) -> tuple[Recipient, ...]:
    """The recipients a Notifications form picked: ``members`` and ``user:<id>`` values.

    Raises:
        InvalidDefinition: another value (only a forged form sends one).
    """
    picked: list[Recipient] = []
    for value in dict.fromkeys(v for v in values if isinstance(v, str)):
        user = value.removeprefix("user:")
        if value == "members":
            picked.append(Recipient(kind=ALL_MEMBERS))
        elif user != value and user.isascii() and user.isdecimal() and len(user) <= MAX_ID_DIGITS:
            picked.append(Recipient(kind=USER, user_id=int(user)))
        else:
            raise InvalidDefinition("a recipient is All members or a user of the organization")
    return tuple(picked)


def mute_seconds(value: str) -> int | None:
    """The form's mute choice: "" keeps the mute (None), a number of seconds mutes (0 unmutes).

    Raises:
        InvalidDefinition: not a number.
    """
    if not value:
        return None
    if not (value.isascii() and value.isdecimal() and len(value) <= MAX_ID_DIGITS):
        raise InvalidDefinition("the mute period is a number of seconds")
    return int(value)


def is_device_name(name: str) -> bool:
    """Whether ``name`` passes the Platform API's device name rule (PLT-DEV-09, 10)."""
    try:
        check_device_name(name)
    except InvalidDefinition:
        return False
    return True


def device_tab_routes(
    services: Services, settings: Settings, caller_of: CallerOf
) -> list[BaseRoute]:
    """The routes in the module docstring. ``settings`` is unused: every console route factory
    takes it."""
    del settings
    devices = services.console_devices
    admin = services.device_admin
    commands = services.device_commands

    async def visible(caller: ConsoleCaller, device_id: int) -> BoundDevice | None:
        return None if device_id > MAX_DEVICE_ID else await devices.find(caller, device_id)

    async def save_metadata(request: Request) -> Response:
        caller = await caller_of(request)
        if caller is None:
            return sign_in_first()
        bound = await visible(caller, request.path_params["device_id"])
        if bound is None:
            return error_page(NOT_FOUND, 404)
        if not caller.can_edit_device(bound.device):
            return error_page(NOT_ALLOWED, 403)
        field_id: int = request.path_params["field_id"]
        value = (await request.form()).get("value")
        outcome = "saved"
        try:
            if not isinstance(value, str):
                raise InvalidMetaValue("no value")
            await services.device_records.write_metadata(caller, bound.device.id, field_id, value)
        except (DeviceNotFound, MetafieldNotFound):
            return error_page(NOT_FOUND, 404)
        except MetafieldReadOnly:
            outcome = "readonly"
        except InvalidMetaValue:
            outcome = "invalid"
        where = f"{DEVICES_PATH}/{bound.device.id}?tab=info&field={field_id}&outcome={outcome}"
        return RedirectResponse(where, status_code=303)

    async def device_action(request: Request) -> Response:
        session = await console_session(request)
        action = request.path_params["action"]
        if session is None:
            return sign_in_first()
        bound = await visible(session.caller, request.path_params["device_id"])
        if bound is None or action not in ACTIONS:
            return error_page(NOT_FOUND, 404)
        if not session.caller.can_edit_device(bound.device):
            return error_page(NOT_ALLOWED, 403)
        device = bound.device
        name, problem, done, status = device.name, "", "", 200
        if request.method == "POST" and action in COMMANDS:
            try:
                done = await command(session.caller, action, device.id)
            except DeviceNotFound:
                return error_page(NOT_FOUND, 404)
            except DeviceCommandError as refused:
                problem, status = str(refused), 409 if isinstance(refused, DeviceOffline) else 400
        elif request.method == "POST":
            if action == "rename":
                field = (await request.form()).get("name")
                name = field.strip() if isinstance(field, str) else ""
                problem = "" if is_device_name(name) else BAD_NAME
            if not problem:
                try:
                    return await act(session.caller, action, device.id, name)
                except DeviceNotFound:
                    return error_page(NOT_FOUND, 404)
            status = 400
        words = ACTIONS[action]
        context: dict[str, Any] = {
            "device": device,
            "action": action,
            "heading": words["heading"].format(name=device.name),
            "button": words["button"],
            "explanation": words.get("explanation", ""),
            "name": name,
            "max_name": MAX_DEVICE_NAME_CHARS,
            "problem": problem,
            "done": done,
        }
        return signed_in_page(
            session, "device_action.html", context, section="devices", status=status
        )

    async def act(caller: ConsoleCaller, action: str, device_id: int, name: str) -> Response:
        """Carry out a confirmed toolbox action; where the browser goes next.

        Raises:
            DeviceNotFound: deleted meanwhile.
        """
        page = f"{DEVICES_PATH}/{device_id}"
        if action == "rename":
            await admin.rename(caller, device_id, name)
        elif action == "erase":
            await admin.erase_data(caller, device_id)
        else:
            await admin.delete(caller, device_id)
            page = DEVICES_PATH
        return RedirectResponse(page, status_code=303)

    async def command(caller: ConsoleCaller, action: str, device_id: int) -> str:
        """Send a toolbox command; the outcome to show.

        Raises:
            DeviceNotFound, DeviceCommandError.
        """
        if action == "reboot":
            await commands.reboot(caller, device_id, user_email=caller.email)
            return "Reboot sent: the device reconnects once restarted."
        ms = await commands.ping(caller, device_id, user_email=caller.email)
        return "No answer within 10 seconds." if ms is None else f"Answered in {ms} ms."

    async def recent(request: Request) -> Response:
        caller = await caller_of(request)
        if caller is None:
            return error_response("Sign in first", 401)
        device_id: int = request.path_params["device_id"]
        bound = await visible(caller, device_id)
        missing = error_response(f"Device {device_id} not found", 404)
        if bound is None:
            return missing
        try:
            datastream = datastream_by_id(bound, request.path_params["datastream_id"])
            entries, _ = await services.datastream_values.history(
                caller,
                device_id,
                datastream.pin,
                since=None,
                until=None,
                offset=0,
                limit=RECENT_VALUES,
            )
        except DatastreamNotFound:
            return error_response(
                f"Datastream {request.path_params['datastream_id']} not found", 404
            )
        except DeviceNotFound:
            return missing
        values = [{"ts": entry.ts, "value": entry.value} for entry in reversed(entries)]
        response = json_response({"values": values})
        response.headers["Cache-Control"] = "no-store"
        return response

    async def save_notifications(request: Request) -> Response:
        caller = await caller_of(request)
        if caller is None:
            return sign_in_first()
        bound = await visible(caller, request.path_params["device_id"])
        if bound is None:
            return error_page(NOT_FOUND, 404)
        form = await request.form()
        try:
            choices = {
                channel: ChannelChoice(
                    enabled=form.get(f"{channel}_on") == "on",
                    recipients=picked_recipients(form.getlist(f"{channel}_to")),
                )
                for channel in ("email", "push")
            }
            mute = form.get("mute")
            await services.device_notifications.save(
                caller,
                bound.device.id,
                request.path_params["event_id"],
                email=choices["email"],
                push=choices["push"],
                mute_s=mute_seconds(mute if isinstance(mute, str) else ""),
            )
        except (DeviceNotFound, EventNotManaged):
            return error_page(NOT_FOUND, 404)
        except ManagementNotAllowed:
            return error_page(NOT_ALLOWED, 403)
        except InvalidDefinition as error:
            return error_page(f"Nothing was saved: {error}", 400)
        where = f"{DEVICES_PATH}/{bound.device.id}?tab=info&notifications=saved#notifications"
        return RedirectResponse(where, status_code=303)

    device = f"{DEVICES_PATH}/{{device_id:int}}"
    return [
        Route(f"{device}/metadata/{{field_id:int}}", save_metadata, methods=["POST"]),
        Route(f"{device}/notifications/{{event_id:int}}", save_notifications, methods=["POST"]),
        Route(f"{device}/{{action}}", device_action, methods=["GET", "POST"]),
        Route(
            f"{CONSOLE_PATH}/api/devices/{{device_id:int}}/datastreams/{{datastream_id:int}}/recent",
            recent,
            methods=["GET"],
        ),
    ]
