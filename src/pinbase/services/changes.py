"""The changes a use case announces after committing one: what the in-memory caches must learn.

Every message is a frozen value of ids and plain values (frozen domain values such as
``Device`` hold only those); every change is a shared topic (``wire.message``): it reaches the
``CachedState`` of every node of the installation (issue #11). ``services.state.CachedState``
applies them; see its module for the theory of operation. This module imports nothing from
``services`` but ``wire`` so that every use case can import it without a cycle.
"""

from dataclasses import dataclass
from typing import get_args

from pinbase.domain.devices import Device
from pinbase.domain.ids import DatastreamId, DeviceId, OrgId, TemplateId
from pinbase.domain.organizations import Organization
from pinbase.domain.templates import Template
from pinbase.services import wire


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class OrganizationSaved:
    """An organization was created (``created``) or changed."""

    organization: Organization
    created: bool = False


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class OrganizationRemoved:
    """An organization was deleted with its OAuth clients, their tokens, its templates and its
    users (each user announced by its own ``UserRemoved``)."""

    org_id: OrgId


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class OAuthClientRemoved:
    """An OAuth client was deleted with every token issued to it."""

    client_id: str


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class UserRemoved:
    """A user was deleted with its console sessions and invitation link; the devices it owned
    have no owner now, and its open console pages must close their live sockets. ``org_id`` is
    the organization it belonged to, ``email`` and ``name`` what it was called (empty when it
    went with its organization), for the webhook user triggers (automations.md §4.2)."""

    user_id: int
    org_id: OrgId
    email: str = ""
    name: str = ""


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateSaved:
    """A template was created or changed."""

    template: Template


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateRemoved:
    """A template no device used was deleted with its datastreams, events and metafields."""

    template_id: TemplateId


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class DatastreamErased:
    """What the devices ``device_ids`` kept for one datastream of their template (current
    values, history, properties) was erased: the datastream went or changed its data type."""

    template_id: TemplateId
    datastream_id: DatastreamId
    device_ids: tuple[DeviceId, ...]


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSaved:
    """A device was created or changed (name, organization, owner, hardware info, metadata)."""

    device: Device


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceRemoved:
    """A device was deleted with everything it stored; its token stops working and a live
    connection of it must end."""

    device_id: DeviceId


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceDataErased:
    """A device's current values, history and properties were erased; the device stays."""

    device_id: DeviceId


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class CurrentValueErased:
    """One current value of a device was erased (history stays); reads fall back to the
    datastream's default."""

    device_id: DeviceId
    datastream_id: DatastreamId


Change = (
    OrganizationSaved
    | OrganizationRemoved
    | OAuthClientRemoved
    | UserRemoved
    | TemplateSaved
    | TemplateRemoved
    | DatastreamErased
    | DeviceSaved
    | DeviceRemoved
    | DeviceDataErased
    | CurrentValueErased
)
"""Any change ``CachedState.apply`` knows."""

CHANGES: tuple[type[Change], ...] = get_args(Change)
"""Every change type: the bus topics ``CachedState`` subscribes to."""
