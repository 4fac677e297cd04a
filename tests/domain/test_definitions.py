"""Definitions validate themselves: datastreams, templates, events, devices, organizations."""

import pytest

from pinbase.domain.datastreams import Datastream, DataType
from pinbase.domain.devices import Device, check_device_name, new_token
from pinbase.domain.errors import InvalidDefinition, UnknownDatastream
from pinbase.domain.ids import DatastreamId, DeviceId, EventId, OrgId, TemplateId, Token
from pinbase.domain.organizations import Organization
from pinbase.domain.pins import Pin, PinType
from pinbase.domain.templates import Metafield, Template, TemplateEvent, new_template_code


def stream(number: int, label: str | None = None, **settings: object) -> Datastream:
    return Datastream(
        id=DatastreamId(number),
        label=label or f"S{number}",
        pin=Pin(PinType.VIRTUAL, number),
        type=DataType.INT,
        **settings,
    )


def template(**fields: object) -> Template:
    values: dict[str, object] = {
        "id": TemplateId(1),
        "code": "TMPLabc123",
        "org_id": OrgId(1),
        "name": "T",
        **fields,
    }
    return Template(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "settings",
    [
        {"label": ""},
        {"label": "x" * 51},
        {"label": "a+b"},
        {"min": float("nan")},
        {"max": float("inf")},
        {"units": "u" * 51},
    ],
)
def test_bad_datastream_definitions_are_refused(settings: dict[str, object]) -> None:
    """Empty or over-long labels, MQTT wildcards, non-finite bounds and over-long units are
    refused."""
    label = settings.pop("label", None)
    with pytest.raises(InvalidDefinition):
        Datastream(
            id=DatastreamId(1),
            label="S" if label is None else str(label),
            pin=Pin(PinType.VIRTUAL, 1),
            type=DataType.INT,
            **settings,  # type: ignore[arg-type]
        )


def test_negative_datastream_id_is_refused() -> None:
    """Datastream ids are positive."""
    with pytest.raises(InvalidDefinition):
        Datastream(id=DatastreamId(-1), label="S", pin=Pin(PinType.VIRTUAL, 1), type=DataType.INT)


def test_template_indexes_datastreams_by_pin_and_id() -> None:
    """A template finds its datastreams by pin and by id, and refuses unknown ones."""
    one, two = stream(1), stream(2)
    found = template(datastreams=(one, two))
    assert found.datastream_at(Pin(PinType.VIRTUAL, 2)) is two
    assert found.datastream(1) is one
    with pytest.raises(UnknownDatastream):
        found.datastream_at(Pin(PinType.DIGITAL, 2))
    with pytest.raises(UnknownDatastream):
        found.datastream(3)


@pytest.mark.parametrize(
    "fields",
    [
        {"code": "tmpl123"},
        {"name": ""},
        {"datastreams": (stream(1), stream(1, label="Other"))},
        {"datastreams": (stream(1), stream(2, label="S1"))},
        {
            "events": (
                TemplateEvent(id=EventId(1), code="a", name="A"),
                TemplateEvent(id=EventId(2), code="a", name="B"),
            )
        },
    ],
)
def test_bad_templates_are_refused(fields: dict[str, object]) -> None:
    """Malformed codes, empty names and clashing datastreams or event codes are refused."""
    with pytest.raises(InvalidDefinition):
        template(**fields)


def test_events_and_metafields_are_found_by_code_id_or_name() -> None:
    """Events by code; metafields by exact name or by id as text."""
    event = TemplateEvent(id=EventId(1), code="door_open", name="Door")
    serial = Metafield(id=1, name="Serial Number")  # type: ignore[arg-type]
    found = template(events=(event,), metafields=(serial,))
    assert found.event("door_open") is event
    assert found.event("nope") is None
    assert found.metafield("Serial Number") is serial
    assert found.metafield("1") is serial
    assert found.metafield("serial number") is None


def test_event_codes_are_identifier_like() -> None:
    """An event code with punctuation is refused."""
    with pytest.raises(InvalidDefinition):
        TemplateEvent(id=EventId(1), code="a/b", name="A")


def test_new_identifiers_have_blynk_shapes() -> None:
    """Template codes look like TMPL + 9 alphanumerics; tokens are 32 URL-safe characters."""
    assert template(code=new_template_code()).code.startswith("TMPL")
    assert len(new_token()) == 32


@pytest.mark.parametrize(("name", "token"), [("", "t" * 32), ("x" * 51, "t" * 32), ("D", "")])
def test_bad_devices_are_refused(name: str, token: str) -> None:
    """Device names are 1..50 characters and tokens are never empty."""
    with pytest.raises(InvalidDefinition):
        Device(
            id=DeviceId(1),
            org_id=OrgId(1),
            template_id=TemplateId(1),
            name=name,
            token=Token(token),
        )


def test_organization_names_are_bounded() -> None:
    """Organization names are 1..100 characters."""
    assert Organization(id=OrgId(1), name="Acme").name == "Acme"
    with pytest.raises(InvalidDefinition):
        Organization(id=OrgId(1), name="")


def test_valid_device_keeps_its_fields() -> None:
    """A well-formed device is built as given."""
    token = new_token()
    device = Device(
        id=DeviceId(1), org_id=OrgId(1), template_id=TemplateId(1), name="D", token=token
    )
    assert (device.name, device.token) == ("D", token)


@pytest.mark.parametrize("name", ["", "   ", "x" * 51, "Relay\n", "a/b", "<b>"])
def test_bad_new_device_names_are_refused(name: str) -> None:
    """A new device's name (PLT-DEV-09): letters, digits, spaces, apostrophes, underscores,
    hyphens, at most 50, not only spaces."""
    with pytest.raises(InvalidDefinition):
        check_device_name(name)


@pytest.mark.parametrize("name", ["Pump", "Uma's Pump-2", "x" * 50, "Gewächshaus 1"])
def test_good_new_device_names_pass(name: str) -> None:
    """Names the Platform API accepts pass the same check."""
    check_device_name(name)
