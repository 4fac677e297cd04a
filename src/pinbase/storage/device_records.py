"""The device-records part of the storage contract (PLT-DEV-17, 18, 20): a device's tags, a page
of its timeline and its actions log.

No SQL here; ``storage.sql_device_records`` implements it. Logging an event stays with
``Transaction.add_device_event``, which the device API's DEV-07 shares.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pinbase.domain.ids import DeviceId
from pinbase.domain.pins import Pin

if TYPE_CHECKING:  # storage.base imports this module for the bases of Transaction
    from pinbase.storage.base import StoredEvent, StoredTag


CLIENT_WEB = "WEB"
"""A console user wrote (``trigger_user_email`` is the user's)."""
CLIENT_API = "HTTPS_API"
"""A Platform API caller (an OAuth client, no e-mail address) wrote."""
CLIENT_AUTOMATION = "AUTOMATION"
"""An automation wrote (``trigger_name`` is its name when it ran)."""
CLIENT_LABELS = {CLIENT_WEB: "Web", CLIENT_API: "HTTPS API", CLIENT_AUTOMATION: "Automation"}
"""Each client as Blynk's Actions Log names it (console.md §1.4's client filter)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceAction:
    """One entry of the actions log: a value or property written to a device's datastream, or
    a command sent to the device (reboot, ping…, device-lifecycle.md §4).

    ``value`` is JSON text (a typed value, a property's string or list of strings, a command's
    details); ``property`` names the property, None for a value write or a command. ``pin`` is
    the datastream's pin, None for a command; ``command`` the command's kind, None otherwise.
    ``is_online`` is the device's presence when the action was taken. ``client`` says who
    wrote: a ``CLIENT_*`` constant.
    """

    device_id: DeviceId
    trigger_user_email: str | None
    pin: Pin | None
    property: str | None
    value: str
    is_online: bool
    created_at: int
    client: str = CLIENT_API
    trigger_name: str | None = None
    command: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TagLink:
    """A tag put on a device (the legacy project's ``tags[].deviceIds``)."""

    device_id: DeviceId
    tag: StoredTag


class DeviceRecordsRepository(Protocol):
    """Reads of one device's tags, timeline and actions log, and appends to the log."""

    async def list_device_tags(self, device_id: DeviceId) -> list[StoredTag]:
        """The tags put on the device, by id."""
        ...

    async def list_tag_links(self, device_ids: Collection[DeviceId]) -> list[TagLink]:
        """Every tag put on any of ``device_ids``, once per device, by tag id then device id."""
        ...

    async def count_timeline(
        self,
        device_id: DeviceId,
        *,
        event_type: str | None,
        since: int = 0,
        visible_only: bool = False,
    ) -> int:
        """How many events the device logged at ``since`` or later (of ``event_type`` only,
        when given), only those logged to show on the timeline when ``visible_only``."""
        ...

    async def read_timeline_page(
        self,
        device_id: DeviceId,
        *,
        event_type: str | None,
        offset: int,
        limit: int,
        since: int = 0,
        visible_only: bool = False,
    ) -> list[StoredEvent]:
        """A page of the device's events logged at ``since`` or later (of ``event_type`` only,
        when given), newest first, only those logged to show on the timeline when
        ``visible_only``."""
        ...

    async def add_device_actions(self, actions: Sequence[DeviceAction]) -> None:
        """Append entries to actions logs."""
        ...

    async def count_device_actions(self, device_id: DeviceId, *, since: int = 0) -> int:
        """How many entries the device's actions log holds from ``since`` on."""
        ...

    async def read_device_actions_page(
        self, device_id: DeviceId, *, offset: int, limit: int, since: int = 0
    ) -> list[DeviceAction]:
        """A page of the device's actions log from ``since`` on, newest first (ties: latest
        entry first)."""
        ...
