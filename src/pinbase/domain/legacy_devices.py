"""Legacy devices as Pinbase devices (legacy-import.md §1.5, §2.5, §5.2): tokens, hardware
info, current values and properties."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pinbase.domain.devices import HardwareInfo, new_token
from pinbase.domain.errors import PinbaseError
from pinbase.domain.ids import DatastreamId
from pinbase.domain.legacy_datastreams import DerivedDatastream
from pinbase.domain.legacy_names import device_name
from pinbase.domain.legacy_profiles import (
    ProfileFile,
    as_dict,
    as_int,
    as_list,
    as_text,
    moment,
)
from pinbase.domain.legacy_report import Issue
from pinbase.domain.legacy_values import StoredPin
from pinbase.domain.legacy_widgets import DashboardScan, PinUse, resolve_targets
from pinbase.domain.value_types import Value
from pinbase.domain.values import parse_text

MIN_TOKEN_CHARS, MAX_TOKEN_CHARS = 8, 64
"""Tokens Pinbase stores (the provisioning file's bounds, the ``devices.token`` column);
legacy tokens have 32 characters."""
MAX_PROPERTY_CHARS = 64
"""The ``properties.name`` column; legacy property names are at most 21 characters."""

UNREACHABLE_CONNECTIONS = frozenset({"BLE", "BLUETOOTH", "USB"})
"""Devices that reached the legacy server through the phone app (§5.3)."""

LegacyDevice = tuple[str, str, int, int]
"""(e-mail, appName, dashId, deviceId): a legacy device's identity (§1.5)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ValuePlan:
    """A current value (already typed for its datastream) or a property (JSON text)."""

    datastream_id: DatastreamId
    ts: int
    value: Value | None = None
    property: str | None = None
    property_json: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DevicePlan:
    """One legacy device as a Pinbase device."""

    legacy: LegacyDevice
    name: str
    token: str
    token_kept: bool
    hardware: HardwareInfo
    values: tuple[ValuePlan, ...] = ()

    @property
    def key(self) -> str:
        """The device's entry in the import trace."""
        return "|".join(str(part) for part in self.legacy)


def legacy_devices(profile: ProfileFile, dash: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The dashboard's devices; before 0.20.0 one device 0 with the project token (§4)."""
    devices = [as_dict(d) for d in as_list(dash.get("devices"))]
    if devices:
        return devices
    dash_id = as_int(dash.get("id"))
    token = as_text(as_dict(profile.data.get("dashTokens")).get(str(dash_id)))
    if token is None:
        return []
    return [
        {"id": 0, "name": "My Device", "token": token, "boardType": as_text(dash.get("boardType"))}
    ]


def widget_values(
    uses: Sequence[PinUse], scan: DashboardScan, *, tags: Mapping[int, tuple[int, ...]]
) -> dict[tuple[int, str, int], str]:
    """(device, kind, pin) → the first widget value bound to that device (§2.5 step 1)."""
    values: dict[tuple[int, str, int], str] = {}
    for use in uses:
        if use.value is None:
            continue
        for device_id in resolve_targets(use.targets, tags=tags, selectors=scan.selectors):
            values.setdefault((device_id, use.kind, use.number), use.value)
    return values


def plan_device(
    issues: list[Issue],
    profile: ProfileFile,
    dash: Mapping[str, Any],
    device: Mapping[str, Any],
    derived: Sequence[DerivedDatastream],
    storage: Sequence[StoredPin],
    values: Mapping[tuple[int, str, int], str],
    scan: DashboardScan,
    *,
    now: int,
) -> DevicePlan:
    """One legacy device: its token (or a new one, reported), hardware info, current values
    (§2.5's order: bound widget, tile, storage) typed for their datastreams, and properties."""
    dash_id, device_id = as_int(dash.get("id")), as_int(device.get("id"))
    legacy = (profile.email, profile.app_name, dash_id, device_id)
    subject = f"{profile.email} ({profile.app_name}) project {dash_id} device {device_id}"
    token = as_text(device.get("token"))
    if token is None:
        issues.append(
            Issue(
                code="TOKEN_MISSING",
                subject=subject,
                reason="the legacy device had no token: a new one was made, reflash the device",
            )
        )
    elif not MIN_TOKEN_CHARS <= len(token) <= MAX_TOKEN_CHARS or "\0" in token:
        token = None
        issues.append(
            Issue(
                code="TOKEN_INVALID",
                subject=subject,
                reason=f"the legacy token is not {MIN_TOKEN_CHARS}..{MAX_TOKEN_CHARS} characters "
                "without NUL: a new one was made, reflash the device",
            )
        )
    connection = (as_text(device.get("connectionType")) or "").upper()
    if connection in UNREACHABLE_CONNECTIONS:
        issues.append(
            Issue(
                code="DEVICE_UNREACHABLE",
                subject=subject,
                reason=f"connected over {connection} through the phone app; it cannot reach "
                "Pinbase directly",
            )
        )
    info = as_dict(device.get("hardwareInfo"))
    hardware = HardwareInfo(
        version=as_text(info.get("version")),
        blynk_version=as_text(info.get("blynkVersion")),
        board_type=as_text(info.get("boardType")) or as_text(device.get("boardType")),
        build=as_text(info.get("build")),
        template_code=as_text(info.get("templateId")),
    )
    ts = next(
        (
            t
            for t in (
                moment(device.get("dataReceivedAt")),
                moment(dash.get("updatedAt")),
                profile.last_modified,
            )
            if t > 0
        ),
        now,
    )
    own: dict[tuple[str, int], list[StoredPin]] = {}
    for entry in storage:
        if entry.device_id == device_id:
            own.setdefault((entry.kind, entry.number), []).append(entry)
    planned: list[ValuePlan] = []
    for item in derived:
        ds = item.datastream
        key = (ds.pin.type.letter, ds.pin.number)
        text = values.get((device_id, *key)) or scan.tile_values.get((device_id, *key))
        stored = own.get(key, [])
        if text is None:
            text = next((s.value for s in stored if s.property is None), None)
        if text is not None:
            try:
                value = parse_text(ds, [text])
            except PinbaseError as error:
                issues.append(
                    Issue(
                        code="VALUE_DROPPED",
                        subject=f"{subject} {ds.pin.name}",
                        reason=f"{text[:20]!r} does not fit {ds.type.value}: {error}",
                    )
                )
            else:
                planned.append(ValuePlan(datastream_id=ds.id, ts=ts, value=value))
        props = (
            s for s in reversed(stored) if s.property and len(s.property) <= MAX_PROPERTY_CHARS
        )
        for prop in dict((s.property, s) for s in props).values():
            planned.append(
                ValuePlan(
                    datastream_id=ds.id,
                    ts=ts,
                    property=prop.property,
                    property_json=json.dumps(prop.value),
                )
            )
    return DevicePlan(
        legacy=legacy,
        name=device_name(as_text(device.get("name"))),
        token=token or new_token(),
        token_kept=token is not None,
        hardware=hardware,
        values=tuple(planned),
    )
