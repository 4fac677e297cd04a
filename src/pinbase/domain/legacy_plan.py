"""The plan of a legacy import (legacy-import.md §5.1, §5.2, §5.4 step 2): what will be created
in Pinbase from the chosen profile files, before anything is written.

Theory of operation. Profiles are grouped by lower-cased e-mail: one legacy user (all its
appNames) becomes one organization with one Admin (§5.1). Each dashboard becomes a template,
each DEVICE_TILES tile template an extra one; each legacy device a Pinbase device with its own
token. Token clashes across users are settled here, by ``--on-token-conflict``. The service
then writes one user's plan per transaction.
"""

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pinbase.domain.devices import new_token
from pinbase.domain.ids import EventId, MetafieldId
from pinbase.domain.legacy_devices import (
    legacy_devices,
)
from pinbase.domain.legacy_names import organization_name, reduce_name, unique_name, user_name
from pinbase.domain.legacy_profiles import (
    STOCK_APP,
    ProfileFile,
    as_dict,
    as_int,
    as_list,
    as_text,
    moment,
)
from pinbase.domain.legacy_report import Issue
from pinbase.domain.legacy_templates import HistoryPin, TemplatePlan, plan_template
from pinbase.domain.legacy_timers import TimerSwitch, timer_switches
from pinbase.domain.legacy_tokens import SKIP, settle_tokens
from pinbase.domain.legacy_values import StoredPin, read_storage
from pinbase.domain.legacy_widgets import (
    DashboardScan,
    PinUse,
    TileTemplateScan,
    resolve_targets,
    scan_dashboard,
)
from pinbase.domain.notifications import (
    DEVICE_OWNER,
    SYSTEM_OFFLINE,
    EventNotifications,
    Recipient,
)
from pinbase.domain.templates import MAX_OFFLINE_IGNORE_PERIOD, Metafield, TemplateEvent

MAX_TEMPLATE_NAME = 100
DEVICE_TIMEZONE = "Device Timezone"
"""The built-in metafield of data-model.md §1.6 the RTC widget's zone goes to (§5.2)."""
MAX_TAG_NAME = 40
"""A legacy tag name had at most 40 characters (BS: M/device/Tag.java); Pinbase stores 50."""
MAX_ORG_TAGS, MAX_DEVICE_TAGS = 20, 5
"""Plan limits the import reports but does not enforce (legacy-import.md §5.1, §5.4)."""


OFFLINE_ALERT = TemplateEvent(
    id=EventId(1),
    code=SYSTEM_OFFLINE,
    name="Offline",
    notifications=EventNotifications(enabled=True, push=(Recipient(kind=DEVICE_OWNER),)),
)
"""The legacy NOTIFICATION widget's "notify when offline": a push to the device's owner."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanOptions:
    """The command line options that shape the plan."""

    only: frozenset[str] = frozenset()
    nest_app_export: bool = False
    on_token_conflict: str = SKIP


@dataclass(frozen=True, slots=True, kw_only=True)
class UserPlan:
    """One legacy user (every appName of one e-mail): an organization and its Admin."""

    email: str
    name: str
    client_hash: str | None
    """The legacy ``pass``, the client hash of data-model.md §1.3; None: no password."""
    last_logged_at: int
    org_name: str
    org_type: str
    tz: str
    app_names: tuple[str, ...]
    parent_email: str | None = None
    """With ``--nest-app-export``: the App Export publisher whose organization holds this one."""
    templates: tuple[TemplatePlan, ...] = ()
    last_modified: int = 0
    tags: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """Organization tags by name, each with the trace keys of its devices (§5.1)."""
    timers: tuple[TimerSwitch, ...] = ()
    """Legacy Timer widgets as daily automations (§5.3)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportPlan:
    """Everything the import will create, and the issues met while planning."""

    users: tuple[UserPlan, ...] = ()
    issues: tuple[Issue, ...] = field(default=())


def _most_common(items: Iterable[str | None]) -> str | None:
    counted = Counter(item for item in items if item)
    return counted.most_common(1)[0][0] if counted else None


@dataclass(slots=True)
class _UserContext:
    """Mutable state while one user is planned."""

    email: str
    profiles: list[ProfileFile]
    history: Collection[HistoryPin]
    issues: list[Issue]
    template_names: set[str] = field(default_factory=set)
    tags: dict[str, list[str]] = field(default_factory=dict)
    timers: list[TimerSwitch] = field(default_factory=list)


def plan_import(
    profiles: Sequence[ProfileFile],
    *,
    options: PlanOptions,
    now: int,
    history: Collection[HistoryPin] = (),
) -> ImportPlan:
    """Plan the import of ``profiles`` (already one file per user key).

    Raises:
        TokenConflict: two devices share a token under the ``fail`` policy.
    """
    by_email: dict[str, list[ProfileFile]] = {}
    for profile in profiles:
        by_email.setdefault(profile.email, []).append(profile)
    issues: list[Issue] = []
    publishers = {
        as_text(as_dict(app).get("id")): profile.email
        for profile in profiles
        for app in as_list(as_dict(profile.data.get("profile")).get("apps"))
    }
    users = []
    for email in sorted(by_email):
        if options.only and email not in options.only:
            continue
        context = _UserContext(
            email=email, profiles=by_email[email], history=history, issues=issues
        )
        users.append(_plan_user(context, publishers, options=options, now=now))
    issues.extend(
        Issue(code="ONLY_NOT_FOUND", subject=email, reason="--only names no user of the folder")
        for email in sorted(options.only - set(by_email))
    )
    users = _settle(users, issues, policy=options.on_token_conflict)
    # Publishers first, so their organization exists when a nested one is written.
    users.sort(key=lambda u: (u.parent_email is not None, u.email))
    return ImportPlan(users=tuple(users), issues=tuple(issues))


def _plan_user(
    context: _UserContext,
    publishers: Mapping[str | None, str],
    *,
    options: PlanOptions,
    now: int,
) -> UserPlan:
    email, profiles, issues = context.email, context.profiles, context.issues
    profiles = sorted(profiles, key=lambda p: (p.app_name != STOCK_APP, -p.last_modified))
    main = profiles[0]
    apps = tuple(p.app_name for p in profiles)
    parent = None
    for profile in profiles:
        publisher = publishers.get(profile.app_name)
        if profile.app_name == STOCK_APP or publisher is None or publisher == email:
            continue
        if len(profiles) > 1:
            issues.append(
                Issue(
                    code="APP_EXPORT_MERGED",
                    subject=email,
                    reason=f"App Export user of {profile.app_name} also has other profiles: "
                    "merged into one organization (Pinbase e-mails are unique)",
                )
            )
        elif options.nest_app_export:
            parent = publisher
    if len(profiles) > 1:
        issues.append(
            Issue(
                code="PROFILES_MERGED",
                subject=email,
                reason=f"{len(profiles)} legacy profiles ({', '.join(p.path for p in profiles)}) "
                "share this e-mail: one organization and one user; the password of "
                f"{main.path}",
            )
        )
    data = main.data
    client_hash = as_text(data.get("pass"))
    if client_hash is None:
        issues.append(
            Issue(
                code="NO_PASSWORD",
                subject=email,
                reason="no legacy password (Facebook login): the user must reset it",
            )
        )
    if data.get("isSuperAdmin") is True:
        issues.append(
            Issue(
                code="SUPER_ADMIN",
                subject=email,
                reason="legacy server administrator: imported as an Admin of its own "
                "organization only",
            )
        )
    has_apps = any(as_list(as_dict(p.data.get("profile")).get("apps")) for p in profiles)
    templates: list[TemplatePlan] = []
    tz_names: list[str] = []
    for profile in profiles:
        for dash in (
            as_dict(d) for d in as_list(as_dict(profile.data.get("profile")).get("dashBoards"))
        ):
            planned, tz = _plan_dashboard(context, profile, dash, now=now)
            templates.extend(planned)
            tz_names.extend(tz)
        _report_share_tokens(profile, issues)
    _report_tag_limits(context)
    return UserPlan(
        email=email,
        name=user_name(as_text(data.get("name")), email),
        client_hash=client_hash,
        last_logged_at=max(moment(p.data.get("lastLoggedAt")) for p in profiles),
        org_name=organization_name(as_text(data.get("name")), email),
        org_type="BUSINESS" if has_apps else "PERSONAL",
        tz=_most_common(tz_names) or "UTC",  # already cut and NUL-free (legacy_widgets)
        app_names=apps,
        parent_email=parent,
        templates=tuple(templates),
        last_modified=max(p.last_modified for p in profiles),
        tags=tuple((name, tuple(keys)) for name, keys in sorted(context.tags.items())),
        timers=tuple(context.timers),
    )


def _report_tag_limits(context: _UserContext) -> None:
    """§5.1: tags beyond the plan limits are imported anyway, and reported."""
    if len(context.tags) > MAX_ORG_TAGS:
        context.issues.append(
            Issue(
                code="TAG_LIMIT",
                subject=context.email,
                reason=f"{len(context.tags)} tags: more than the {MAX_ORG_TAGS} of a plan",
            )
        )
    per_device = Counter(key for keys in context.tags.values() for key in keys)
    context.issues.extend(
        Issue(
            code="TAG_LIMIT",
            subject=key,
            reason=f"{n} tags on one device: more than the {MAX_DEVICE_TAGS} of a plan",
        )
        for key, n in sorted(per_device.items())
        if n > MAX_DEVICE_TAGS
    )


def _report_share_tokens(profile: ProfileFile, issues: list[Issue]) -> None:
    shared = [
        as_int(d.get("id"))
        for d in (
            as_dict(x) for x in as_list(as_dict(profile.data.get("profile")).get("dashBoards"))
        )
        if as_text(d.get("sharedToken"))
    ]
    shared += [int(k) for k in as_dict(profile.data.get("dashShareTokens")) if k.isdigit()]
    for dash_id in sorted(set(shared)):
        issues.append(
            Issue(
                code="SHARE_TOKEN_NOT_IMPORTED",
                subject=f"{profile.email} project {dash_id}",
                reason="project sharing (app share tokens) has no Pinbase equivalent",
            )
        )


def _plan_dashboard(
    context: _UserContext, profile: ProfileFile, dash: Mapping[str, Any], *, now: int
) -> tuple[list[TemplatePlan], tuple[str, ...]]:
    dash_id = as_int(dash.get("id"))
    subject = f"{profile.email} ({profile.app_name}) project {dash_id}"
    scan = scan_dashboard(dash, subject=subject)
    context.issues.extend(scan.issues)
    devices = legacy_devices(profile, dash)
    tags = {
        as_int(t.get("id")): tuple(as_int(d) for d in as_list(t.get("deviceIds")))
        for t in (as_dict(x) for x in as_list(dash.get("tags")))
    }
    known = {as_int(d.get("id")) for d in devices}
    for tag in (as_dict(x) for x in as_list(dash.get("tags"))):
        name = reduce_name(as_text(tag.get("name")) or "", " .-'_", limit=MAX_TAG_NAME)
        tagged = context.tags.setdefault(name or f"Tag {as_int(tag.get('id'))}", [])
        for device_id in tags[as_int(tag.get("id"))]:
            key = f"{profile.email}|{profile.app_name}|{dash_id}|{device_id}"
            if device_id in known and key not in tagged:
                tagged.append(key)
    _plan_timers(context, profile, dash, scan, tags=tags, known=known)
    storage = _storage(context, profile, dash, subject)
    placed: dict[int, int | None] = {}
    for tile in scan.tile_templates:
        for device_id in tile.device_ids:
            placed.setdefault(device_id, tile.id)
    base_name = reduce_name(
        as_text(dash.get("name")) or "New Project", " ", limit=MAX_TEMPLATE_NAME
    )
    if profile.app_name != STOCK_APP:
        base_name = (
            f"{base_name[: MAX_TEMPLATE_NAME - len(profile.app_name) - 3]} [{profile.app_name}]"
        )
    scopes: list[tuple[int | None, str, Sequence[PinUse]]] = [
        (None, base_name or "Project", scan.uses)
    ]
    scopes += [(t.id, _tile_name(base_name, t), t.uses) for t in scan.tile_templates]
    offline = min(max(0, scan.offline_ignore_ms // 1000), MAX_OFFLINE_IGNORE_PERIOD)
    events: tuple[TemplateEvent, ...] = ()
    if dash.get("isNotificationsOff") is True:
        offline = 0
    elif scan.offline_alert:
        events = (OFFLINE_ALERT,)
    metafields: tuple[Metafield, ...] = ()
    if scan.tz_names:
        tz = scan.tz_names[0]
        metafields = (Metafield(id=MetafieldId(1), name=DEVICE_TIMEZONE, default_value=tz),)
        context.issues.append(
            Issue(
                code="RTC_IN_UTC",
                subject=subject,
                reason=f"the RTC widget's time zone {tz} is kept in the {DEVICE_TIMEZONE!r} "
                "metafield, but Pinbase answers a device's rtc request in UTC",
            )
        )
    plans = []
    for tile_id, name, uses in scopes:
        members = [d for d in devices if placed.get(as_int(d.get("id"))) == tile_id]
        if tile_id is not None and not members and not uses:
            continue
        plans.append(
            plan_template(
                context.issues,
                context.history,
                profile,
                dash,
                scan,
                tile_id=tile_id,
                name=unique_name(
                    name or "Project", context.template_names, limit=MAX_TEMPLATE_NAME
                ),
                uses=uses,
                members=members,
                storage=storage,
                tags=tags,
                offline=offline,
                events=events,
                metafields=metafields,
                now=now,
            )
        )
    return plans, scan.tz_names


def _plan_timers(
    context: _UserContext,
    profile: ProfileFile,
    dash: Mapping[str, Any],
    scan: DashboardScan,
    *,
    tags: Mapping[int, tuple[int, ...]],
    known: set[int],
) -> None:
    """Each TIMER widget's switches as automations, else TIMER_NOT_MIGRATED (§5.3)."""
    dash_id = as_int(dash.get("id"))
    subject = f"{profile.email} ({profile.app_name}) project {dash_id}"
    for widget in (as_dict(w) for w in as_list(dash.get("widgets"))):
        if str(widget.get("type", "")).upper() != "TIMER":
            continue
        targets = resolve_targets(
            (as_int(widget.get("deviceId")),), tags=tags, selectors=scan.selectors
        )
        keys = tuple(
            f"{profile.email}|{profile.app_name}|{dash_id}|{d}" for d in targets if d in known
        )
        switches = list(timer_switches(widget, device_keys=keys))
        if not switches:
            context.issues.append(
                Issue(
                    code="TIMER_NOT_MIGRATED",
                    subject=subject,
                    reason="a Timer without a pin, a device, or a time and value: nothing to "
                    "schedule",
                )
            )
            continue
        context.timers.extend(switches)
        rounded = " (seconds dropped)" if any(s.rounded for s in switches) else ""
        context.issues.append(
            Issue(
                code="TIMER_AS_AUTOMATION",
                subject=f"{subject} {switches[0].kind}{switches[0].number}",
                reason=f"{len(switches)} daily UTC automation(s) replace the Timer{rounded}",
            )
        )


def _tile_name(base: str, tile: TileTemplateScan) -> str:
    tile_name = reduce_name(tile.name, " ", limit=MAX_TEMPLATE_NAME)
    return f"{base} / {tile_name or 'Tile'}"[:MAX_TEMPLATE_NAME]


def _storage(
    context: _UserContext, profile: ProfileFile, dash: Mapping[str, Any], subject: str
) -> list[StoredPin]:
    """Storage entries of the dashboard in lookup order: profile level (0.40.1+), dashboard
    level, ``storagePins`` (§2.5)."""
    dash_id = as_int(dash.get("id"))
    entries: list[StoredPin] = []
    for raw, levels in (
        (as_dict(as_dict(profile.data.get("profile")).get("pinsStorage")), 2),
        (as_dict(dash.get("pinsStorage")), 1),
        (as_dict(dash.get("storagePins")), 0),
    ):
        pins, bad = read_storage(raw, levels=levels)
        entries.extend(p for p in pins if p.dash_id in (None, dash_id))
        if levels < 2:
            context.issues.extend(
                Issue(code="STORAGE_KEY_UNREADABLE", subject=subject, reason=f"key {key!r}")
                for key in bad
            )
    for entry in entries:
        if entry.dropped:
            context.issues.append(
                Issue(
                    code="MULTI_VALUE_TRUNCATED",
                    subject=f"{subject} device {entry.device_id} {entry.kind}{entry.number}",
                    reason=f"only the last of {entry.dropped + 1} stored lines is kept",
                )
            )
    return entries


def _settle(users: list[UserPlan], issues: list[Issue], *, policy: str) -> list[UserPlan]:
    """Users with the devices that lost a shared token given a new one (``legacy_tokens``)."""
    holders = [
        (user.last_modified, device)
        for user in users
        for template in user.templates
        for device in template.devices
    ]
    losers = settle_tokens(holders, issues, policy=policy)
    if not losers:
        return users
    return [_retoken(user, losers) for user in users]


def _retoken(user: UserPlan, losers: set[str]) -> UserPlan:
    templates = tuple(
        replace(
            template,
            devices=tuple(
                replace(d, token=new_token(), token_kept=False) if d.key in losers else d
                for d in template.devices
            ),
        )
        for template in user.templates
    )
    return replace(user, templates=templates)
