"""One legacy dashboard (or tile template) as a Pinbase template (legacy-import.md §5.1, §5.2):
its datastreams derived from the pins it uses (§2.6) and its devices."""

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pinbase.domain.legacy_datastreams import DerivedDatastream, derive_datastreams
from pinbase.domain.legacy_devices import DevicePlan, plan_device, widget_values
from pinbase.domain.legacy_profiles import ProfileFile, as_dict, as_int, as_text
from pinbase.domain.legacy_report import Issue
from pinbase.domain.legacy_values import StoredPin
from pinbase.domain.legacy_widgets import DashboardScan, PinUse
from pinbase.domain.pins import MAX_PIN
from pinbase.domain.templates import Metafield, TemplateEvent

HistoryPin = tuple[str, str, int, int, str, int]
"""A ``LegacyDevice`` and (kind letter, pin number) with history files."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplatePlan:
    """One dashboard (``tile_id`` None) or tile template as a Pinbase template."""

    email: str
    app_name: str
    dash_id: int
    tile_id: int | None
    name: str
    description: str
    offline_ignore_period: int
    datastreams: tuple[DerivedDatastream, ...]
    devices: tuple[DevicePlan, ...]
    board_type: str | None = None
    connection_type: str | None = None
    legacy_template_ids: tuple[str, ...] = ()
    events: tuple[TemplateEvent, ...] = ()
    """The Offline event with a push to the owner, when the dashboard alerted (§5.3)."""
    metafields: tuple[Metafield, ...] = ()
    """``Device Timezone`` from the dashboard's RTC widget (§5.2), copied to every device."""

    @property
    def key(self) -> str:
        """The template's entry in the import trace."""
        parts: list[object] = [self.email, self.app_name, self.dash_id]
        if self.tile_id is not None:
            parts.append(f"tile{self.tile_id}")
        return "|".join(str(part) for part in parts)


def _most_common(items: Iterable[str | None]) -> str | None:
    counted = Counter(item for item in items if item)
    return counted.most_common(1)[0][0] if counted else None


def plan_template(
    issues: list[Issue],
    history_pins: Collection[HistoryPin],
    profile: ProfileFile,
    dash: Mapping[str, Any],
    scan: DashboardScan,
    *,
    tile_id: int | None,
    name: str,
    uses: Sequence[PinUse],
    members: Sequence[Mapping[str, Any]],
    storage: Sequence[StoredPin],
    tags: Mapping[int, tuple[int, ...]],
    offline: int,
    events: tuple[TemplateEvent, ...],
    metafields: tuple[Metafield, ...],
    now: int,
) -> TemplatePlan:
    """One template: the datastreams of every pin the scope's widgets, its devices' stored
    values and their history files name (§2.6 step 1), and its devices (``members``)."""
    dash_id = as_int(dash.get("id"))
    member_ids = {as_int(d.get("id")) for d in members}
    subject = f"{profile.email} ({profile.app_name}) project {dash_id}"
    values = widget_values(uses, scan, tags=tags)
    pins: set[tuple[str, int]] = set()
    known: dict[tuple[str, int], list[str]] = {}
    for entry in storage:
        if entry.device_id in member_ids:
            pins.add((entry.kind, entry.number))
            if entry.property is None:
                known.setdefault((entry.kind, entry.number), []).append(entry.value)
    for (device_id, kind, number), value in [*values.items(), *scan.tile_values.items()]:
        if device_id in member_ids:
            known.setdefault((kind, number), []).append(value)
    history = {
        (h[4], h[5])
        for h in history_pins
        if h[:3] == (profile.email, profile.app_name, dash_id) and h[3] in member_ids
    }
    for kind, number in sorted(pins | history | {(u.kind, u.number) for u in uses}):
        if not 0 <= number <= MAX_PIN:
            issues.append(
                Issue(
                    code="PIN_OUT_OF_RANGE",
                    subject=f"{subject} {kind}{number}",
                    reason=f"Pinbase pins run 0..{MAX_PIN}",
                )
            )
    derived = derive_datastreams(
        pins | history, [u for u in uses if 0 <= u.number <= MAX_PIN], values=known, history=history
    )
    for item in derived:
        ds = item.datastream
        where = f"{subject} {ds.pin.name}"
        if item.guessed:
            issues.append(Issue(code="TYPE_GUESS", subject=where, reason=item.reason))
        if item.pull:
            issues.append(
                Issue(
                    code="PULL_PIN",
                    subject=where,
                    reason="the legacy server polled this pin; Pinbase never polls, the "
                    "firmware must push it",
                )
            )
        if item.phone:
            issues.append(
                Issue(
                    code="PHONE_WIDGET",
                    subject=where,
                    reason="the value came from the legacy phone app, which cannot reach Pinbase",
                )
            )
    plans = [
        plan_device(issues, profile, dash, device, derived, storage, values, scan, now=now)
        for device in members
    ]
    board = _most_common(as_text(d.get("boardType")) for d in members)
    connection = _most_common(as_text(d.get("connectionType")) for d in members)
    legacy_ids = tuple(
        sorted(
            {t for d in members if (t := as_text(as_dict(d.get("hardwareInfo")).get("templateId")))}
        )
    )
    return TemplatePlan(
        email=profile.email,
        app_name=profile.app_name,
        dash_id=dash_id,
        tile_id=tile_id,
        name=name,
        description=f"Imported from legacy project {dash_id} ({profile.email}, {profile.app_name})",
        offline_ignore_period=offline,
        datastreams=tuple(derived),
        devices=tuple(plans),
        board_type=board,
        connection_type=connection,
        legacy_template_ids=legacy_ids,
        events=events,
        metafields=metafields,
    )
