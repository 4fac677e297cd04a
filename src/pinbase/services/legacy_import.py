"""``pinbase import-legacy FOLDER``: legacy Blynk data into Pinbase (legacy-import.md §5.4).

Theory of operation. 1. Scan (``services.legacy_folder``): read the profiles. 2. Plan
(``domain.legacy_plan``): organizations, users, templates with derived datastreams, devices with
their tokens, current values, and every issue. ``--dry-run`` stops here. 3. Write: one
transaction per legacy user, so a user is imported whole or not at all; the import trace
(``legacy_imports``, migration 0017) names what each legacy thing became, so a second run skips
users already imported and changes nothing. A token a Pinbase device already holds (a device
this import did not create) is never taken over: that device is skipped and reported.
4. History (``services.legacy_history``, helper ``lhist``'s part) for every traced device.
5. The report, always.

Like ``pinbase provision``, the import runs beside or without a server: a running server finds
the new devices by token on their first login (docs/decisions.md, "Legacy import").
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from pinbase.domain.automations import parse_automation, spec_json
from pinbase.domain.errors import PinbaseError
from pinbase.domain.ids import DeviceId, OrgId, Token
from pinbase.domain.legacy_plan import ImportPlan, PlanOptions, UserPlan, plan_import
from pinbase.domain.legacy_report import Issue
from pinbase.domain.legacy_templates import TemplatePlan
from pinbase.domain.legacy_timers import TimerSwitch
from pinbase.domain.pins import Pin, PinType
from pinbase.domain.points import Point
from pinbase.domain.templates import Template, new_template_code
from pinbase.domain.users import ACTIVE, ADMIN, is_password_hash
from pinbase.services.clock import Clock
from pinbase.services.legacy_folder import FolderScan
from pinbase.services.legacy_history import HistoryTarget, LegacyPin, import_history
from pinbase.services.legacy_import_report import (
    ImportReport,
    count_plan,
    describe_plan,
    describe_user,
)
from pinbase.services.passwords import hash_password
from pinbase.services.users import Profile, add_member
from pinbase.storage.base import Store, Transaction
from pinbase.storage.legacy_imports import TraceEntry

logger = logging.getLogger(__name__)

USER, TEMPLATE, DEVICE = "user", "template", "device"
PIN_KINDS = {"v": PinType.VIRTUAL, "d": PinType.DIGITAL, "a": PinType.ANALOG}


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportOptions:
    """What the command line asks for besides FOLDER."""

    plan: PlanOptions = field(default_factory=PlanOptions)
    dry_run: bool = False
    history: bool = True
    history_since_ms: int | None = None
    pg_reporting: str | None = None
    """The legacy PostgreSQL reporting database (``--pg-reporting DSN``), read only."""


def plan_folder(scan: FolderScan, options: ImportOptions, *, now: int) -> ImportPlan:
    """The plan of a scanned folder (``TokenConflict`` under ``--on-token-conflict fail``)."""
    return plan_import(scan.profiles, options=options.plan, now=now, history=scan.history)


async def run_import(
    store: Store,
    folder: Path,
    scan: FolderScan,
    plan: ImportPlan,
    *,
    options: ImportOptions,
    clock: Clock,
    progress: Callable[[str, int], None] | None = None,
) -> ImportReport:
    """Write ``plan`` (unless a dry run), import history, and report.

    ``progress`` is called with a step (``users``, ``history``) and how much was just done.
    """
    if options.dry_run:
        return describe_plan(folder, scan, plan)
    report = ImportReport(folder=str(folder), dry_run=False)
    report.issues.extend(scan.issues)
    report.issues.extend(plan.issues)
    report.count("profiles", len(scan.profiles))
    trace = {(e.kind, e.legacy_key): e for e in await _load_trace(store, (USER, TEMPLATE, DEVICE))}
    for user in plan.users:
        status, ids = await _import_user(store, user, trace, report, now=clock())
        report.users.append(describe_user(user, ids, status=status))
        if progress is not None:
            progress("users", 1)
    if options.history:
        await _import_history(store, folder, options, report, progress)
    return report


async def _import_history(
    store: Store,
    folder: Path,
    options: ImportOptions,
    report: ImportReport,
    progress: Callable[[str, int], None] | None,
) -> None:
    """§5.4 step 4 for every traced device; a reporting database that cannot be read is
    reported (``HISTORY_FAILED``): the users are imported already, a rerun resumes."""
    targets = await _history_targets(store)
    try:
        outcome = await import_history(
            store,
            folder,
            targets,
            since_ms=options.history_since_ms,
            progress=None if progress is None else (lambda n: progress("history", n)),
            pg_reporting=options.pg_reporting,
        )
    except (OSError, asyncpg.PostgresError) as error:
        report.issues.append(
            Issue(code="HISTORY_FAILED", subject=str(folder), reason=f"history not read: {error}")
        )
        return
    report.history_points = outcome.points
    report.issues.extend(
        Issue(code=i.code, subject=i.path, reason=i.detail) for i in outcome.issues
    )


async def _load_trace(store: Store, kinds: Iterable[str]) -> list[TraceEntry]:
    async with store.transaction() as tx:
        return await tx.load_legacy_trace(tuple(kinds))


async def _import_user(
    store: Store,
    user: UserPlan,
    trace: dict[tuple[str, str], TraceEntry],
    report: ImportReport,
    *,
    now: int,
) -> tuple[str, dict[str, int] | None]:
    """Write one legacy user in one transaction; returns (status, Pinbase ids)."""
    done = trace.get((USER, user.email))
    if done is not None:
        report.count("alreadyImported")
        return "already imported", {"orgId": done.org_id, "userId": done.pinbase_id}
    parent: OrgId | None = None
    if user.parent_email is not None:
        publisher = trace.get((USER, user.parent_email))
        if publisher is None:
            report.issues.append(
                Issue(
                    code="NEST_IMPOSSIBLE",
                    subject=user.email,
                    reason=f"publisher {user.parent_email} was not imported: top-level "
                    "organization instead",
                )
            )
        else:
            parent = publisher.org_id
    stored_hash = None
    if user.client_hash is not None:
        if is_password_hash(user.client_hash):
            # Off the loop and before the transaction (argon2 takes ~0.1 s): the same order
            # as ``pinbase provision``.
            stored_hash = await hash_password(user.client_hash)
        else:
            report.issues.append(
                Issue(
                    code="NO_PASSWORD",
                    subject=user.email,
                    reason="the legacy password hash is not Base64 of 32 bytes: the user must "
                    "reset it",
                )
            )
    written: list[TraceEntry] = []
    skipped: list[Issue] = []
    try:
        async with store.transaction() as tx:
            if await tx.find_user_by_email(user.email) is not None:
                report.issues.append(
                    Issue(
                        code="EMAIL_TAKEN",
                        subject=user.email,
                        reason="a Pinbase user not created by this import has this e-mail",
                    )
                )
                return "skipped", None
            ids = await _write_user(tx, user, parent, stored_hash, written, skipped, now=now)
            await tx.add_legacy_trace(written, ts=now)
    except PinbaseError as error:
        report.issues.append(Issue(code="USER_FAILED", subject=user.email, reason=str(error)))
        return "failed", None
    report.issues.extend(skipped)
    for entry in written:
        trace[(entry.kind, entry.legacy_key)] = entry
    count_plan(report, user)
    report.count("devices", -sum(i.code == "TOKEN_TAKEN" for i in skipped))
    logger.info("legacy_user_imported org=%s user=%s", ids["orgId"], ids["userId"])
    return "imported", ids


async def _write_user(
    tx: Transaction,
    user: UserPlan,
    parent: OrgId | None,
    stored_hash: str | None,
    written: list[TraceEntry],
    skipped: list[Issue],
    *,
    now: int,
) -> dict[str, int]:
    org = await tx.create_organization(
        name=user.org_name,
        parent_id=parent,
        description=f"Imported from the legacy Blynk server ({', '.join(user.app_names)})",
        type=user.org_type,
        tz=user.tz,
        unit_system=None,
        phone_number=None,
        is_active=True,
        created_at=now,
    )
    member = await add_member(
        tx,
        org.id,
        email=user.email,
        name=user.name,
        role_id=ADMIN,
        status=ACTIVE,
        password_hash=stored_hash,
        profile=Profile(tz=user.tz),
        created_at=now,
    )
    if user.last_logged_at > 0:
        await tx.set_last_logged_at(member.id, user.last_logged_at)
    written.append(
        TraceEntry(kind=USER, legacy_key=user.email, pinbase_id=member.id, org_id=org.id)
    )
    placed: dict[str, tuple[DeviceId, Template]] = {}
    for template in user.templates:
        await _write_template(tx, template, org.id, member.id, written, skipped, placed, now=now)
    for name, keys in user.tags:
        tag_id = await tx.add_tag(org.id, name, owner_user_id=member.id, created_at=now)
        await tx.tag_devices(tag_id, [placed[k][0] for k in keys if k in placed])
    for switch in user.timers:
        await _write_timer(tx, switch, org.id, member.id, placed, now=now)
    return {"orgId": org.id, "userId": member.id}


async def _write_timer(
    tx: Transaction,
    switch: TimerSwitch,
    org_id: OrgId,
    owner_id: int,
    placed: dict[str, tuple[DeviceId, Template]],
    *,
    now: int,
) -> None:
    """One Timer half as a daily automation over the imported devices that have its pin."""
    pin = Pin(PIN_KINDS[switch.kind], switch.number)
    targets = [
        (device_id, template.datastream_at(pin).id)
        for key in switch.device_keys
        if key in placed
        for device_id, template in [placed[key]]
        if any(ds.pin == pin for ds in template.datastreams)
    ]
    if not targets:
        return
    spec = parse_automation(switch.automation_json(targets), max_actions=len(targets))
    await tx.add_automation(
        org_id=org_id,
        owner_id=owner_id,
        name=spec.name,
        is_active=True,
        spec=spec_json(spec),
        created_at=now,
    )


async def _write_template(
    tx: Transaction,
    plan: TemplatePlan,
    org_id: OrgId,
    owner_id: int,
    written: list[TraceEntry],
    skipped: list[Issue],
    placed: dict[str, tuple[DeviceId, Template]],
    *,
    now: int,
) -> None:
    template = await tx.add_template(
        org_id=org_id,
        code=new_template_code(),
        name=plan.name,
        description=plan.description,
        datastreams=[d.datastream for d in plan.datastreams],
        events=list(plan.events),
        metafields=list(plan.metafields),
        created_at=now,
        offline_ignore_period=plan.offline_ignore_period,
    )
    written.append(
        TraceEntry(kind=TEMPLATE, legacy_key=plan.key, pinbase_id=template.id, org_id=org_id)
    )
    for device_plan in plan.devices:
        if await tx.find_device(Token(device_plan.token)) is not None:
            skipped.append(
                Issue(
                    code="TOKEN_TAKEN",
                    subject=device_plan.key,
                    reason="a Pinbase device not created by this import holds its token: "
                    "the device is not imported",
                )
            )
            continue
        device = await tx.add_device(
            org_id=org_id,
            template=template,
            name=device_plan.name,
            token=Token(device_plan.token),
            created_at=now,
            owner_user_id=owner_id,
        )
        if device_plan.hardware != type(device_plan.hardware)():
            await tx.update_hardware_info(device.id, device_plan.hardware)
        current = [
            Point(device.id, v.datastream_id, v.ts, v.value)
            for v in device_plan.values
            if v.value is not None
        ]
        if current:
            await tx.append_points([], current=current)
        for v in device_plan.values:
            if v.property is not None and v.property_json is not None:
                await tx.set_property(
                    device.id, v.datastream_id, name=v.property, value=v.property_json, ts=v.ts
                )
        written.append(
            TraceEntry(kind=DEVICE, legacy_key=device_plan.key, pinbase_id=device.id, org_id=org_id)
        )
        placed[device_plan.key] = (device.id, template)


async def _history_targets(store: Store) -> dict[LegacyPin, HistoryTarget]:
    """Every pin of every device the trace names (this run's and earlier runs', so an
    interrupted history import resumes)."""
    targets: dict[LegacyPin, HistoryTarget] = {}
    async with store.transaction() as tx:
        for entry in await tx.load_legacy_trace((DEVICE,)):
            email, app, dash, legacy_id = entry.legacy_key.rsplit("|", 3)
            device = await tx.find_device_by_id(DeviceId(entry.pinbase_id))
            if device is None:
                continue
            template = await tx.load_template(device.template_id)
            if template is None:  # pragma: no cover - a device always has its template
                continue
            for datastream in template.datastreams:
                pin = LegacyPin(
                    email=email,
                    app_name=app,
                    dash_id=int(dash),
                    device_id=int(legacy_id),
                    pin_type=datastream.pin.type.letter,
                    pin=datastream.pin.number,
                )
                targets[pin] = HistoryTarget(device_id=device.id, datastream=datastream)
    return targets
