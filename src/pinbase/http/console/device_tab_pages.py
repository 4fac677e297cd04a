"""What the device page's tabs besides Dashboard show (console.md §1.4): Timeline, Info &
Metadata, and Developer Tools' Datastreams and Actions Log.

``devices.device_page`` has already found the device for a caller allowed to see it; each tab
reads through the services the Platform API shares (``DeviceRecords``, ``DatastreamValues``), so
the console applies the same scope rules. Ranges and pages come from the query string: every tab
is a plain page that works without scripts; ``static/device_tabs.js`` only adds live entries.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from pinbase.domain.datastreams import Datastream
from pinbase.domain.device_notifications import MUTE_PERIODS_S
from pinbase.domain.notifications import ALL_MEMBERS, Recipient
from pinbase.domain.templates import Metafield
from pinbase.http.responses import dump_json
from pinbase.services.clock import DAY_MS
from pinbase.services.console_caller import ConsoleCaller, Permission
from pinbase.services.container import Services
from pinbase.services.datastream_values import DatastreamState
from pinbase.services.device_commands import command_summary
from pinbase.services.directory import BoundDevice
from pinbase.services.metadata import MAX_VALUE_CHARS, MetaValue, is_writable
from pinbase.services.scope import user_in_scope
from pinbase.storage.device_records import CLIENT_LABELS

HOUR_MS = 3_600_000

TIMELINE_RANGES = {
    "1d": ("1 Day", DAY_MS),
    "1w": ("1 Week", 7 * DAY_MS),
    "1mo": ("1 Month", 30 * DAY_MS),
}
"""The timeline's time ranges (console.md §3.1, ``PROF/timeline.md``); the first is the default."""

ACTION_RANGES = {
    "1h": ("1h", HOUR_MS),
    "6h": ("6h", 6 * HOUR_MS),
    "1d": ("1d", DAY_MS),
    "1w": ("1w", 7 * DAY_MS),
    "1mo": ("1mo", 30 * DAY_MS),
    "3mo": ("3mo", 90 * DAY_MS),
}
"""The actions log's time ranges (console.md §3.1, ``actions-log.md``)."""

DEFAULT_ACTION_RANGE = "1d"

PAGE_SIZE = 50
"""Rows per page of the timeline, the actions log and a raw history."""

MAX_PAGE = 100_000
"""A page number past any log a device keeps (5 million rows); larger ones read as the last."""

NOTIFICATION_OUTCOMES = {"saved": "Notification settings saved."}
"""The message after the Notifications form (``device_tabs``), chosen by a key."""

METADATA_OUTCOMES = {
    "saved": "Saved.",
    "invalid": "That value does not fit the field's type or is too long.",
    "readonly": "This field cannot be changed here.",
}
"""Messages after a metadata form (``device_tabs``), chosen by a key: the query never carries
text to show."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Paging:
    """Where a page sits in a list: its number, whether older rows follow or newer precede."""

    page: int
    pages: int
    has_newer: bool
    has_older: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class MetadataRow:
    """A metadata field with the device's value, and whether the viewer may change it here."""

    field: Metafield
    value: MetaValue
    editable: bool


def page_number(query: Mapping[str, str]) -> int:
    """The ``page`` asked for, 1 when missing or not a number."""
    text = query.get("page", "")
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_PAGE)):
        return 1
    return min(max(int(text), 1), MAX_PAGE)


def paging(page: int, total: int) -> Paging:
    """The position of ``page`` among ``total`` rows."""
    return Paging(
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        has_newer=page > 1,
        has_older=page * PAGE_SIZE < total,
    )


def shown(value: object) -> str:
    """A JSON value as the tables show it: strings as they are, others as JSON (a DOUBLE with
    the digits of its decimals pattern, as API reads answer it)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else dump_json(value).decode()


def pin_label(datastream: Datastream) -> str:
    """``V1``, as Blynk writes pins."""
    return datastream.pin.name.upper()


async def device_tab_context(
    services: Services,
    caller: ConsoleCaller,
    bound: BoundDevice,
    tab: str,
    query: Mapping[str, str],
) -> dict[str, Any]:
    """The template and values of ``tab`` (none for Dashboard, which has its own)."""
    if tab == "timeline":
        return await _timeline(services, caller, bound, query)
    if tab == "info":
        return await _info(services, caller, bound, query)
    if tab == "developer":
        if query.get("tool") == "actions":
            return await _actions(services, caller, bound, query)
        return await _datastreams(services, caller, bound, query)
    return {}


async def _timeline(
    services: Services, caller: ConsoleCaller, bound: BoundDevice, query: Mapping[str, str]
) -> dict[str, Any]:
    chosen = query.get("range", "")
    chosen = chosen if chosen in TIMELINE_RANGES else next(iter(TIMELINE_RANGES))
    page = page_number(query)
    since = services.clock() - TIMELINE_RANGES[chosen][1]
    _, events = await services.device_records.timeline(
        caller,
        bound.device.id,
        event_type=None,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
        since=since,
    )
    names = {event.code: event.name for event in bound.template.events}
    return {
        "tab_template": "device_tab_timeline.html",
        "ranges": [(key, label) for key, (label, _) in TIMELINE_RANGES.items()],
        "range": chosen,
        "since": since,
        "entries": [(entry, names.get(entry.code, entry.code)) for entry in events.items],
        "paging": paging(page, events.total),
    }


async def _info(
    services: Services, caller: ConsoleCaller, bound: BoundDevice, query: Mapping[str, str]
) -> dict[str, Any]:
    device = bound.device
    owner = None
    if device.owner_user_id is not None:
        owner = await user_in_scope(services.store, caller, device.owner_user_id)
    editable = caller.can_edit_device(device)
    fields = await services.device_records.metadata(caller, device.id)
    outcome = query.get("outcome", "")
    return {
        "tab_template": "device_tab_info.html",
        "presence_changed_at": services.presence.changed_at(device.id),
        "owner": owner,
        "hardware": device.hardware_info,
        "metadata": [
            MetadataRow(field=field, value=value, editable=editable and is_writable(field))
            for field, value in fields
        ],
        "max_meta_chars": MAX_VALUE_CHARS,
        "outcome_field": query.get("field", ""),
        "outcome": METADATA_OUTCOMES.get(outcome, ""),
        "outcome_failed": outcome in METADATA_OUTCOMES and outcome != "saved",
        "automations": await _automations_of(services, caller, bound),
        "may_switch_automations": caller.can(Permission.AUTOMATIONS_EDIT),
        **await _notifications_of(services, caller, bound, query),
    }


async def _notifications_of(
    services: Services, caller: ConsoleCaller, bound: BoundDevice, query: Mapping[str, str]
) -> dict[str, Any]:
    """The events whose notifications the viewer may manage on this device (spec §1.5)."""
    view = await services.device_notifications.view(caller, bound.device.id)
    now = services.clock()
    items = [
        {
            "event": item.event,
            "settings": item.settings,
            "muted_until": item.settings.muted_until if item.settings.is_muted(now) else None,
            "picked": {
                "email": picked_values(item.settings.email.recipients),
                "push": picked_values(item.settings.push.recipients),
            },
        }
        for item in view.events
    ]
    return {
        "notifications": items,
        "members": view.members,
        "may_manage_notifications": view.may_change,
        "mute_periods": [(seconds, period_label(seconds)) for seconds in MUTE_PERIODS_S],
        "notifications_outcome": NOTIFICATION_OUTCOMES.get(query.get("notifications", ""), ""),
    }


def picked_values(recipients: Sequence[Recipient]) -> set[str]:
    """The form values of picked recipients: ``members`` and ``user:<id>``."""
    return {
        "members" if recipient.kind == ALL_MEMBERS else f"user:{recipient.user_id}"
        for recipient in recipients
    }


def period_label(seconds: int) -> str:
    """``1 hour``, ``8 hours``, ``1 day``, ``1 week``."""
    for unit, name in ((7 * 86_400, "week"), (86_400, "day"), (3_600, "hour")):
        if seconds % unit == 0:
            count = seconds // unit
            return f"{count} {name}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"


async def _automations_of(
    services: Services, caller: ConsoleCaller, bound: BoundDevice
) -> list[dict[str, Any]]:
    """The automations using the device, and whether it takes part in each (spec §3.7)."""
    if not caller.can(Permission.AUTOMATIONS_VIEW):
        return []
    device_id = int(bound.device.id)
    return [
        {
            "id": automation.id,
            "name": automation.spec.name,
            "active": automation.spec.is_active,
            "participates": device_id not in automation.opted_out,
        }
        for automation in await services.automations.using_device(caller, device_id)
    ]


async def _datastreams(
    services: Services, caller: ConsoleCaller, bound: BoundDevice, query: Mapping[str, str]
) -> dict[str, Any]:
    states = await services.datastream_values.states(caller, bound.device.id)
    context: dict[str, Any] = {
        "tab_template": "device_tab_developer.html",
        "tool": "datastreams",
        "tool_template": "device_tab_datastreams.html",
        "rows": [_datastream_row(state) for state in states],
        "chosen": None,
    }
    wanted = query.get("datastream", "")
    chosen = next((s.datastream for s in states if str(s.datastream.id) == wanted), None)
    if chosen is not None:
        page = page_number(query)
        entries, total = await services.datastream_values.history(
            caller,
            bound.device.id,
            chosen.pin,
            since=None,
            until=None,
            offset=(page - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
        )
        context.update(
            chosen=chosen,
            chosen_pin=pin_label(chosen),
            history=[(entry.ts, shown(entry.value)) for entry in entries],
            paging=paging(page, total),
        )
    return context


def _datastream_row(state: DatastreamState) -> dict[str, Any]:
    """A row of Developer Tools → Datastreams, its cells as text."""
    datastream = state.datastream
    return {
        "id": datastream.id,
        "label": datastream.label,
        "pin": pin_label(datastream),
        "value": shown(state.value),
        "units": datastream.units or "",
        "updated_at": state.updated_at,
        "type": datastream.type.value.title(),
        "properties": ", ".join(
            f"{name}: {shown(value)}" for name, value in sorted(state.properties.items())
        ),
    }


async def _actions(
    services: Services, caller: ConsoleCaller, bound: BoundDevice, query: Mapping[str, str]
) -> dict[str, Any]:
    chosen = query.get("range", "")
    chosen = chosen if chosen in ACTION_RANGES else DEFAULT_ACTION_RANGE
    page = page_number(query)
    found = await services.device_records.actions(
        caller,
        bound.device.id,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
        since=services.clock() - ACTION_RANGES[chosen][1],
    )
    by_pin = {datastream.pin: datastream for datastream in bound.template.datastreams}
    rows = []
    for action in found.items:
        if action.pin is None:  # a command sent to the device (reboot, ping…)
            where = "Device command"
            value = command_summary(action.command or "", orjson.loads(action.value))
        else:
            datastream = by_pin.get(action.pin)
            pin = action.pin.name.upper()
            where = pin if datastream is None else f"{datastream.label} ({pin})"
            value = shown(orjson.loads(action.value))
        rows.append(
            {
                "at": action.created_at,
                "user": action.trigger_user_email or action.trigger_name,
                "client": CLIENT_LABELS.get(action.client, action.client),
                "datastream": where,
                "property": action.property,
                "value": value,
            }
        )
    return {
        "tab_template": "device_tab_developer.html",
        "tool": "actions",
        "tool_template": "device_tab_actions.html",
        "ranges": [(key, label) for key, (label, _) in ACTION_RANGES.items()],
        "range": chosen,
        "actions": rows,
        "paging": paging(page, found.total),
    }
