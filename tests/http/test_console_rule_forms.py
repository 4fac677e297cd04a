"""The automation and webhook editors' form models: a saved model shown in the form and posted
back unchanged is the same model (every condition, action, trigger, content type and auth
kind), and the add/move/remove ops."""

from typing import Any

import pytest

from pinbase.domain.automations import InvalidAutomation, parse_automation, spec_json
from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.webhooks import SECRET_MASK
from pinbase.http.console.automation_form import (
    FormState,
    apply_op,
    automation_data,
    condition_summary,
    state_of,
)
from pinbase.http.console.webhook_form import add_row, webhook_data
from pinbase.http.console.webhook_form import state_of as webhook_state_of
from pinbase.services.reactions.webhook_json import parse_webhook_json

ACTIONS: list[dict[str, Any]] = [
    {"kind": "CONTROL_DEVICE", "deviceId": 7, "dataStreamId": 5, "value": "1"},
    {"kind": "FORWARD_DEVICE_DATA", "deviceId": 8, "dataStreamId": 2},
    {
        "kind": "SEND_EMAIL",
        "recipients": [{"userId": 12}, {"email": "ops@example.com"}],
        "subject": "{DEVICE_NAME} is hot",
        "body": "{TRIGGER_VALUE} in {ORG_NAME}",
    },
    {"kind": "SEND_NOTIFICATION", "recipients": [{"userId": 12}], "subject": "", "body": "hot"},
    {"kind": "WAIT", "seconds": 120},
    {"kind": "WAIT", "time": "06:30", "tz": "Europe/Berlin"},
    {"kind": "LOG_EVENT", "eventCode": "hot", "deviceId": 7, "description": "too hot"},
    {"kind": "LOG_EVENT", "eventCode": "hot"},
]
CONDITIONS: list[dict[str, Any]] = [
    {
        "kind": "DEVICE_STATE",
        "deviceId": 7,
        "dataStreamId": 3,
        "operator": "BETWEEN",
        "operand": "10",
        "operand2": "20",
    },
    {"kind": "SCHEDULE", "time": "18:30", "tz": "Europe/Berlin", "repeat": {"type": "DAILY"}},
    {
        "kind": "SCHEDULE",
        "time": "07:00",
        "tz": "UTC",
        "repeat": {"type": "WEEKLY", "days": ["MON", "FRI"]},
    },
    {
        "kind": "SCHEDULE",
        "time": "07:00",
        "tz": "UTC",
        "repeat": {"type": "MONTHLY", "dates": [1, 15]},
    },
    {
        "kind": "SCHEDULE",
        "time": "07:00",
        "tz": "UTC",
        "repeat": {"type": "ONCE", "date": "2026-08-01"},
    },
    {
        "kind": "SUN",
        "event": "SUNSET",
        "offsetMin": -15,
        "days": ["SAT", "SUN"],
        "lat": 52.52,
        "lon": 13.4,
        "tz": "Europe/Berlin",
    },
    {"kind": "SCENE"},
]


@pytest.mark.parametrize("condition", CONDITIONS, ids=lambda c: str(c["kind"]))
def test_an_automation_round_trips_through_the_form(condition: dict[str, Any]) -> None:
    """Every condition kind, with every action kind, comes back from the form unchanged."""
    device_state = condition["kind"] == "DEVICE_STATE"
    actions = (
        ACTIONS if device_state else [a for a in ACTIONS if a["kind"] != "FORWARD_DEVICE_DATA"]
    )
    model = {
        "name": "Hot room",
        "cover": "#E57373",
        "isActive": True,
        "limitPeriodSec": 3600 if device_state else 0,
        "condition": condition,
        "actions": actions,
    }
    spec = parse_automation(model, max_actions=50)
    back = automation_data(state_of(spec_json(spec)), is_active=True)
    assert parse_automation(back, max_actions=50) == spec


def test_ops_add_move_and_remove_actions() -> None:
    """Add appends the chosen kind, up/down swap neighbours, remove deletes; odd ops do nothing."""
    state = FormState(fields={"new-action": "WAIT"})
    apply_op(state, "add")
    state.fields["new-action"] = "LOG_EVENT"
    apply_op(state, "add")
    apply_op(state, "up-1")
    assert [a["kind"] for a in state.actions] == ["LOG_EVENT", "WAIT"]
    apply_op(state, "down-0")
    assert [a["kind"] for a in state.actions] == ["WAIT", "LOG_EVENT"]
    for odd in ("up-0", "down-1", "remove-9", "remove-x", "nope", "add-"):
        apply_op(state, odd)
    state.fields["new-action"] = "BOGUS"
    apply_op(state, "add")
    assert [a["kind"] for a in state.actions] == ["WAIT", "LOG_EVENT"]
    apply_op(state, "remove-0")
    assert [a["kind"] for a in state.actions] == ["LOG_EVENT"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "DEVICE_STATE", "state-target": ""}, "Choose the device"),
        ({"kind": "SUN", "sun-lat": "nan"}, "Latitude must be a number"),
        ({"kind": "SCHEDULE", "repeat": "MONTHLY", "repeat-dates": "first"}, "whole number"),
        ({"kind": "OTHER"}, "Choose what starts"),
    ],
)
def test_the_form_reader_names_the_field(fields: dict[str, str], message: str) -> None:
    """What the form itself types is refused with the field's label."""
    state = FormState(fields={"name": "x", **fields})
    with pytest.raises(InvalidAutomation, match=message):
        automation_data(state, is_active=True)


def test_the_card_summary_reads_like_a_sentence() -> None:
    """Each condition kind has a one-line summary."""
    names = {"7:3": "Boiler · Temp (V3)"}
    lines = [condition_summary(c, names) for c in CONDITIONS]
    assert lines[0] == "When Boiler · Temp (V3) between 10 and 20"
    assert lines[1] == "Every day at 18:30 (Europe/Berlin)"
    assert lines[2] == "Every MON, FRI at 07:00 (UTC)"
    assert lines[3] == "Monthly on 1, 15 at 07:00 (UTC)"
    assert lines[4] == "On 2026-08-01 at 07:00 (UTC)"
    assert lines[5] == "Sunset -15 min at 52.52, 13.4"
    assert lines[6] == "Scene: runs when executed"


WEBHOOKS: list[dict[str, Any]] = [
    {
        "name": "Particle LED",
        "status": "ENABLED",
        "trigger": {"kind": "DEVICE_DATASTREAM", "deviceId": 7, "dataStreamId": 4},
        "method": "POST",
        "contentType": "JSON",
        "url": "https://api.example.com/led?d={device_id}",
        "body": '{"v": {device_pinValue}}',
        "form": [],
        "query": [{"key": "a", "value": "b"}],
        "headers": [{"key": "X-Source", "value": "pinbase"}],
        "auth": {"kind": "BASIC", "username": "u", "password": "p"},
        "failureRecipients": [12],
        "failureThreshold": 5,
    },
    {
        "name": "Form feed",
        "status": "DISABLED",
        "trigger": {"kind": "TEMPLATE_DATASTREAM", "templateId": 3, "dataStreamId": 1},
        "method": "GET",
        "contentType": "WEB_FORM",
        "url": "https://example.com/f",
        "body": "",
        "form": [{"key": "v", "value": "{device_pinValue}"}],
        "query": [],
        "headers": [],
        "auth": {
            "kind": "OAUTH2",
            "clientId": "c",
            "clientSecret": "s",
            "tokenUrl": "https://example.com/token",
        },
        "failureRecipients": [],
        "failureThreshold": 1,
    },
    {
        "name": "Text",
        "status": "ENABLED",
        "trigger": {"kind": "DEVICE_DATASTREAM", "deviceId": 7, "dataStreamId": 4},
        "method": "PUT",
        "contentType": "PLAIN_TEXT",
        "url": "http://example.com/t",
        "body": "value /pin/",
        "form": [],
        "query": [],
        "headers": [],
        "auth": {"kind": "NONE"},
        "failureRecipients": [],
        "failureThreshold": 3,
    },
]


@pytest.mark.parametrize("webhook", WEBHOOKS, ids=lambda w: str(w["name"]))
def test_a_webhook_round_trips_with_its_secrets_kept(webhook: dict[str, Any]) -> None:
    """A webhook shown (secrets masked) and posted back is the same webhook, its secrets sent
    as the mask that the use case reads as "keep"."""
    spec = parse_webhook_json(webhook)
    state = webhook_state_of({**webhook, "auth": _masked(webhook["auth"])})
    add_row(state, "header")  # an extra empty row is ignored
    back = parse_webhook_json(webhook_data(state, editing=True, status=webhook["status"]))
    assert back.auth.keeping_secrets(spec.auth) == spec.auth
    assert back.auth.password in ("", SECRET_MASK)
    assert back == type(spec)(**{**_fields(spec), "auth": back.auth})


def _masked(auth: dict[str, Any]) -> dict[str, Any]:
    return {k: SECRET_MASK if k in ("password", "clientSecret") else v for k, v in auth.items()}


def _fields(spec: Any) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in spec.__dataclass_fields__}


def test_a_new_webhook_without_a_secret_is_refused() -> None:
    """On a new webhook an empty password stays empty, so Basic auth is refused."""
    state = webhook_state_of({**WEBHOOKS[0], "auth": {"kind": "BASIC", "username": "u"}})
    data = webhook_data(state, editing=False, status="ENABLED")
    assert data["auth"]["password"] == ""
    state.fields["threshold"] = "five"
    with pytest.raises(InvalidDefinition, match="failure threshold"):
        webhook_data(state, editing=False, status="ENABLED")
