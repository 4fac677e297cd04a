"""Create organizations, OAuth clients, users, templates and devices from a JSON description.

This is the contract of ``pinbase provision FILE`` (issue #2): other tools feed it a file and read
its JSON answer, so field names follow the Platform API's spelling (``pinType``, ``defaultValue``).
Everything in one file is created in one transaction: a bad entry creates nothing.
"""

import hashlib
import secrets
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pinbase.domain.automation_checks import check_automation_references
from pinbase.domain.automations import InvalidAutomation, parse_automation, spec_json
from pinbase.domain.datastream_automation import parse_automation_setting
from pinbase.domain.datastreams import Datastream, DataType, EnumOption
from pinbase.domain.devices import Device, new_token
from pinbase.domain.errors import InvalidDefinition, PinbaseError
from pinbase.domain.ids import DatastreamId, EventId, MetafieldId, OrgId, Token
from pinbase.domain.notifications import SYSTEM_OTA, parse_notifications
from pinbase.domain.organizations import OAuthClient
from pinbase.domain.pins import Pin, PinType
from pinbase.domain.templates import (
    MAX_OFFLINE_IGNORE_PERIOD,
    Metafield,
    Template,
    TemplateEvent,
    check_children,
    new_template_code,
)
from pinbase.domain.users import ACTIVE, EMAIL, MAX_EMAIL, NAME, password_hash
from pinbase.domain.values import parse_json
from pinbase.domain.webhooks import Webhook
from pinbase.services.bus import Bus
from pinbase.services.changes import DeviceSaved, OrganizationSaved, TemplateSaved
from pinbase.services.clock import Clock
from pinbase.services.passwords import hash_password
from pinbase.services.reactions.automation_engine import AutomationsProvisioned
from pinbase.services.reactions.webhook_changes import WebhookSaved
from pinbase.services.reactions.webhook_json import parse_webhook_json
from pinbase.services.reactions.webhook_provisioned import queue_user_added
from pinbase.services.reactions.webhook_triggers import RenderLimits
from pinbase.services.users import Profile, add_member
from pinbase.storage.base import Store, Transaction
from pinbase.storage.users import StoredUser

DEFAULT_MAX_ACTIONS = 50
"""``Settings.automations_max_actions``'s default, for callers without settings."""
CLIENT_ID_BYTES = 15
CLIENT_SECRET_BYTES = 32


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class EnumOptionSpec(_Spec):
    """One enum row."""

    value: int
    label: str
    color: str | None = None


class DatastreamSpec(_Spec):
    """A datastream as written in a provisioning file."""

    id: int = Field(ge=0)
    label: str = Field(alias="label")
    pin: int = Field(ge=0, le=255)
    pin_type: str = Field(default="VIRTUAL", alias="pinType")
    type: str
    alias: str | None = None
    min: float | None = None
    max: float | None = None
    default_value: Any = Field(default=None, alias="defaultValue")
    decimals: str | None = None
    units: str | None = None
    save_raw: bool = Field(default=False, alias="saveRawData")
    sync_with_latest: bool = Field(default=False, alias="syncWithLatest")
    enum_values: list[EnumOptionSpec] = Field(default_factory=list, alias="enumValues")
    fallback_value: int | None = Field(default=None, alias="fallbackValue")
    automation: dict[str, Any] | None = Field(
        default=None, description="how the datastream takes part in automations (§3.2)"
    )


class EventSpec(_Spec):
    """A template event definition."""

    code: str = Field(alias="eventCode")
    name: str | None = None
    type: str = "INFORMATION"
    description: str | None = None
    notifications: dict[str, Any] | None = Field(
        default=None, description="automations.md §1.2, as the Platform API's event definitions"
    )
    show_on_timeline: bool = Field(default=True, alias="showOnTimeline")
    send_to_notifications_tab: bool = Field(default=True, alias="sendToNotificationsTab")


class MetafieldSpec(_Spec):
    """A template metafield definition."""

    name: str
    type: str = "Text"
    default_value: str | None = Field(default=None, alias="defaultValue")


class TemplateSpec(_Spec):
    """A template with its children."""

    name: str
    template_id: str | None = Field(default=None, alias="templateId")
    description: str | None = None
    offline_ignore_period: int = Field(
        default=0,
        ge=0,
        le=MAX_OFFLINE_IGNORE_PERIOD,
        alias="offlineIgnorePeriod",
        description="seconds a disconnect may last before the Offline notification; 0: off",
    )
    datastreams: list[DatastreamSpec] = Field(default_factory=list)
    events: list[EventSpec] = Field(default_factory=list)
    metafields: list[MetafieldSpec] = Field(default_factory=list)


class DeviceSpec(_Spec):
    """A device of a template named (or coded ``TMPL…``) in this file."""

    name: str
    template: str
    token: str | None = Field(default=None, min_length=8, max_length=64)
    owner: str | None = Field(default=None, description="the owner's e-mail address")


class OrganizationSpec(_Spec):
    """The organization everything else is created in."""

    name: str
    description: str | None = None


class ClientSpec(_Spec):
    """An OAuth client to create."""

    name: str


class UserSpec(_Spec):
    """A user with a plain password, hashed here as a Platform API client would (PLT-USR-03),
    then stored as the Platform API stores it (``services.passwords``)."""

    email: str = Field(pattern=EMAIL, max_length=MAX_EMAIL)
    name: str = Field(pattern=NAME)
    role_id: int = Field(alias="roleId", ge=1, le=3)
    password: str = Field(min_length=1)
    org: int | None = Field(default=None, description="an existing organization's id")


class ProvisionSpec(_Spec):
    """The whole provisioning file."""

    organization: OrganizationSpec
    oauth_clients: list[ClientSpec] = Field(default_factory=list, alias="oauthClients")
    users: list[UserSpec] = Field(default_factory=list)
    templates: list[TemplateSpec] = Field(default_factory=list)
    devices: list[DeviceSpec] = Field(default_factory=list)
    automations: list[dict[str, Any]] = Field(
        default_factory=list,
        description="automations in the JSON model of automations.md §3.1; a device of this "
        'file is named with "device": "<name>" where the model has "deviceId"',
    )
    webhooks: list[dict[str, Any]] = Field(
        default_factory=list,
        description="webhooks in the JSON of automations.md §4.1; the trigger names a template "
        "(``template``: name or TMPL code) or a device (``device``: name) of this file, and "
        "``failureRecipients`` may list e-mails of this file's users",
    )


class ProvisioningError(PinbaseError):
    """The provisioning file is malformed or breaks a rule; nothing was created."""


def new_client_id() -> str:
    """A fresh public OAuth client id: 20 URL-safe characters, never starting with ``-`` (a
    command line would take such an id for an option: ``pinbase oauth delete-client``)."""
    while (client_id := secrets.token_urlsafe(CLIENT_ID_BYTES)).startswith("-"):
        pass
    return client_id


def hash_secret(secret: str) -> str:
    """Hash an OAuth client secret for storage.

    A single SHA-256 suffices: secrets are 256 random bits, so there is nothing to brute-force;
    slow password hashes protect low-entropy human passwords, which these are not.
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_spec(data: object) -> ProvisionSpec:
    """Validate a decoded provisioning file.

    Raises:
        ProvisioningError: with every problem pydantic found, in one message.
    """
    try:
        return ProvisionSpec.model_validate(data)
    except ValidationError as error:
        raise ProvisioningError(str(error)) from None


async def provision(
    store: Store,
    spec: ProvisionSpec,
    *,
    clock: Clock,
    bus: Bus | None = None,
    max_actions: int = DEFAULT_MAX_ACTIONS,
    user_triggers: RenderLimits | None = None,
) -> dict[str, Any]:
    """Create what ``spec`` describes in one transaction and describe what was created.

    Inside a server, ``bus`` announces the new organization, templates and devices; the CLI
    (another process) has none, and the server finds them on first use. With ``user_triggers``
    (``webhooks.enterprise_triggers`` on; its request limits), the file's ``USER_ADDED``
    webhooks fire for the file's users through the outbox, committed with them
    (``webhook_provisioned``).

    Returns:
        ``{"organization": {"id", "name"}, "oauthClients": [{"name", "clientId",
        "clientSecret"}], "users": [{"id", "email", "orgId"}], "templates": [{"id",
        "templateId", "name"}], "devices": [{"id", "name", "token", "templateId",
        "ownerUserId"}]}``, plus ``"automations": [{"id", "name"}]`` and
        ``"webhooks": [{"id", "name"}]`` when the file has some; client secrets appear here
        and nowhere else. Automations are checked as the console checks them (model, operand
        and values against the datastreams, at most ``max_actions`` actions) and have no owner.

    Raises:
        ProvisioningError: a definition breaks a rule; nothing was created.
    """
    now = clock()
    # Hashed before the transaction: argon2 takes ~0.1 s per user, and a server running on the
    # same SQLite file waits for the write lock as long as the transaction lasts.
    stored_hashes = [await hash_password(password_hash(u.email, u.password)) for u in spec.users]
    try:
        async with store.transaction() as tx:
            org = await tx.add_organization(
                name=spec.organization.name,
                parent_id=None,
                description=spec.organization.description,
                created_at=now,
            )
            clients = [await _add_client(tx, org.id, c.name, now) for c in spec.oauth_clients]
            users = [
                await _add_user(tx, org.id, u, stored, now)
                for u, stored in zip(spec.users, stored_hashes, strict=True)
            ]
            templates = [await _add_template(tx, org.id, t, now) for t in spec.templates]
            devices = [await _add_device(tx, org.id, templates, d, now) for d in spec.devices]
            automations = [
                await _add_automation(tx, org.id, devices, templates, a, now, max_actions)
                for a in spec.automations
            ]
            webhooks = [
                await _add_webhook(tx, org.id, templates, devices, users, w, now)
                for w in spec.webhooks
            ]
            if user_triggers is not None:
                await queue_user_added(
                    tx,
                    organization=org,
                    users=users,
                    devices=devices,
                    templates=templates,
                    webhooks=webhooks,
                    limits=user_triggers,
                    ts=now,
                )
    except PinbaseError as error:
        raise ProvisioningError(str(error)) from None
    if bus is not None:
        bus.publish(OrganizationSaved(organization=org, created=True))
        for template in templates:
            bus.publish(TemplateSaved(template=template))
        for device in devices:
            bus.publish(DeviceSaved(device=device))
        if automations:
            ids = tuple(automation_id for automation_id, _ in automations)
            bus.publish(AutomationsProvisioned(automation_ids=ids))
        for webhook in webhooks:
            bus.publish(WebhookSaved(webhook=webhook))
    answer: dict[str, Any] = {
        "organization": {"id": org.id, "name": org.name},
        "oauthClients": [
            {"name": client.name, "clientId": client.client_id, "clientSecret": secret}
            for client, secret in clients
        ],
        "users": [{"id": u.id, "email": u.email, "orgId": u.org_id} for u in users],
        "templates": [{"id": t.id, "templateId": t.code, "name": t.name} for t in templates],
        "devices": [
            {
                "id": d.id,
                "name": d.name,
                "token": d.token,
                "templateId": d.template_id,
                "ownerUserId": d.owner_user_id,
            }
            for d in devices
        ],
    }
    if spec.automations:
        answer["automations"] = [{"id": i, "name": name} for i, name in automations]
    if spec.webhooks:
        answer["webhooks"] = [{"id": w.id, "name": w.spec.name} for w in webhooks]
    return answer


async def _add_client(
    tx: Transaction, org_id: OrgId, name: str, now: int
) -> tuple[OAuthClient, str]:
    secret = secrets.token_urlsafe(CLIENT_SECRET_BYTES)
    client = await tx.add_oauth_client(
        org_id=org_id,
        name=name,
        client_id=new_client_id(),
        secret_hash=hash_secret(secret),
        created_at=now,
    )
    return client, secret


async def _add_user(
    tx: Transaction, org_id: OrgId, spec: UserSpec, stored_hash: str, now: int
) -> StoredUser:
    """An active user of ``spec.org`` (an existing organization) or else the new one."""
    if spec.org is not None:
        if not await tx.load_organization_profiles([OrgId(spec.org)]):
            raise InvalidDefinition(f"user {spec.email!r} names an unknown org {spec.org}")
        org_id = OrgId(spec.org)
    if await tx.find_user_by_email(spec.email) is not None:
        raise InvalidDefinition(f"user {spec.email!r}: that e-mail is already in use")
    return await add_member(
        tx,
        org_id,
        email=spec.email,
        name=spec.name,
        role_id=spec.role_id,
        status=ACTIVE,
        password_hash=stored_hash,
        profile=Profile(),
        created_at=now,
    )


async def _add_template(tx: Transaction, org_id: OrgId, spec: TemplateSpec, now: int) -> Template:
    datastreams = [_datastream(ds) for ds in spec.datastreams]
    events = [
        TemplateEvent(
            id=EventId(number),
            code=event.code,
            name=event.name or event.code,
            type=event.type.upper(),
            description=event.description,
            notifications=parse_notifications(event.notifications),
            show_on_timeline=event.show_on_timeline,
            send_to_notifications_tab=event.send_to_notifications_tab,
        )
        for number, event in enumerate(spec.events, start=1)
    ]
    if any(event.code == SYSTEM_OTA for event in events):
        raise InvalidDefinition(f"{SYSTEM_OTA} is a system event and cannot be defined")
    metafields = [
        Metafield(id=MetafieldId(number), name=m.name, type=m.type, default_value=m.default_value)
        for number, m in enumerate(spec.metafields, start=1)
    ]
    check_children(datastreams, events)
    return await tx.add_template(
        org_id=org_id,
        code=spec.template_id or new_template_code(),
        name=spec.name,
        description=spec.description,
        datastreams=datastreams,
        events=events,
        metafields=metafields,
        created_at=now,
        offline_ignore_period=spec.offline_ignore_period,
    )


def _datastream(spec: DatastreamSpec) -> Datastream:
    try:
        pin_type = PinType(spec.pin_type.upper())
    except ValueError:
        raise InvalidDefinition(f"unknown pinType {spec.pin_type!r}") from None
    datastream = Datastream(
        id=DatastreamId(spec.id),
        label=spec.label,
        alias=spec.alias,
        pin=Pin(pin_type, spec.pin),
        type=DataType.parse(spec.type),
        min=spec.min,
        max=spec.max,
        decimals=spec.decimals,
        units=spec.units,
        save_raw=spec.save_raw,
        sync_with_latest=spec.sync_with_latest,
        enum_options=tuple(
            EnumOption(value=o.value, label=o.label, color=o.color) for o in spec.enum_values
        ),
        fallback_value=spec.fallback_value,
        automation=parse_automation_setting(spec.automation),
    )
    if spec.default_value is None:
        return datastream
    try:
        default = parse_json(datastream, spec.default_value)
    except PinbaseError:
        raise InvalidDefinition(f"defaultValue of {spec.label!r} does not fit its type") from None
    return replace(datastream, default_value=default)


async def _add_device(
    tx: Transaction, org_id: OrgId, templates: list[Template], spec: DeviceSpec, now: int
) -> Device:
    template = next((t for t in templates if spec.template in (t.name, t.code)), None)
    if template is None:
        raise InvalidDefinition(f"device {spec.name!r} names an unknown template {spec.template!r}")
    token = Token(spec.token) if spec.token else new_token()
    if await tx.find_device(token) is not None:
        raise InvalidDefinition(f"device {spec.name!r}: that token is already in use")
    owner = None if spec.owner is None else await tx.find_user_by_email(spec.owner)
    if spec.owner is not None and owner is None:
        raise InvalidDefinition(f"device {spec.name!r} names an unknown owner {spec.owner!r}")
    return await tx.add_device(
        org_id=org_id,
        template=template,
        name=spec.name,
        token=token,
        created_at=now,
        owner_user_id=None if owner is None else owner.id,
    )


async def _add_automation(
    tx: Transaction,
    org_id: OrgId,
    devices: list[Device],
    templates: list[Template],
    data: dict[str, Any],
    now: int,
    max_actions: int,
) -> tuple[int, str]:
    """Store one automation of the file; devices are named by ``"device"`` (this file's)."""
    by_name = {device.name: device for device in devices}
    resolved = _resolve_devices(data, by_name)
    spec = parse_automation(resolved, max_actions=max_actions)
    by_id = {int(device.id): device for device in devices}
    templates_by_id = {template.id: template for template in templates}

    def bound(device_id: int) -> Template:
        device = by_id.get(device_id)
        if device is None:
            raise InvalidAutomation(f"device {device_id} is not a device of this file")
        return templates_by_id[device.template_id]

    def no_segments(segment_id: int) -> list[Template]:
        # A new organization's file holds no segments yet; one of elsewhere is never named.
        raise InvalidAutomation(f"segment {segment_id} is not found")

    check_automation_references(spec, bound, no_segments)
    automation_id = await tx.add_automation(
        org_id=org_id,
        owner_id=None,
        name=spec.name,
        is_active=spec.is_active,
        spec=spec_json(spec),
        created_at=now,
    )
    return automation_id, spec.name


def _resolve_devices(data: object, by_name: dict[str, Device]) -> object:
    """``data`` with every ``"device": name`` replaced by ``"deviceId": id``."""
    if isinstance(data, list):
        return [_resolve_devices(item, by_name) for item in data]
    if not isinstance(data, dict):
        return data
    resolved = {key: _resolve_devices(value, by_name) for key, value in data.items()}
    name = resolved.pop("device", None)
    if name is not None:
        device = by_name.get(name) if isinstance(name, str) else None
        if device is None:
            raise InvalidAutomation(f"automation names an unknown device {name!r}")
        resolved["deviceId"] = int(device.id)
    return resolved


async def _add_webhook(
    tx: Transaction,
    org_id: OrgId,
    templates: list[Template],
    devices: list[Device],
    users: list[StoredUser],
    data: dict[str, Any],
    now: int,
) -> Webhook:
    """A webhook whose trigger and failure recipients may name this file's things by name."""
    data = dict(data)
    trigger = data.get("trigger")
    if isinstance(trigger, dict):
        trigger = dict(trigger)
        template_name = trigger.pop("template", None)
        device_name = trigger.pop("device", None)
        if template_name is not None:
            template = next((t for t in templates if template_name in (t.name, t.code)), None)
            if template is None:
                raise InvalidDefinition(f"a webhook names an unknown template {template_name!r}")
            trigger["templateId"] = template.id
        if device_name is not None:
            device = next((d for d in devices if d.name == device_name), None)
            if device is None:
                raise InvalidDefinition(f"a webhook names an unknown device {device_name!r}")
            trigger["deviceId"] = device.id
        data["trigger"] = trigger
    recipients = data.get("failureRecipients")
    if isinstance(recipients, list):
        by_email = {u.email.lower(): u.id for u in users}
        data["failureRecipients"] = [
            by_email.get(r.lower(), -1) if isinstance(r, str) else r for r in recipients
        ]
    spec = parse_webhook_json(data)
    scope = spec.trigger
    template_of = {t.id: t for t in templates}
    scoped = template_of.get(scope.template_id) if scope.template_id is not None else None
    if scope.device_id is not None:
        device = next((d for d in devices if d.id == scope.device_id), None)
        scoped = None if device is None else template_of.get(device.template_id)
    if scope.kind.is_datastream:
        if scoped is None:
            raise InvalidDefinition("a webhook's trigger names no template or device of this file")
        scoped.datastream(scope.datastream_id or 0)
    own = {u.id for u in users}
    if any(r not in own for r in spec.failure_recipients):
        raise InvalidDefinition("a webhook's failure recipients must be users of this file")
    return await tx.add_webhook(
        Webhook(id=0, org_id=org_id, spec=spec, created_at=now, updated_at=now)
    )
