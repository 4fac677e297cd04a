"""The services one running server shares, bundled so adapters receive a single argument."""

from dataclasses import dataclass

from pinbase.domain.ids import DeviceId, OrgId
from pinbase.services.actions import ActionsLog
from pinbase.services.bus import Bus
from pinbase.services.charts import Charts
from pinbase.services.clock import Clock
from pinbase.services.console_devices import ConsoleDevices
from pinbase.services.console_sessions import ConsoleSessions
from pinbase.services.datastream_values import DatastreamValues
from pinbase.services.device_admin import DeviceAdmin
from pinbase.services.device_commands import DeviceCommands
from pinbase.services.device_lists import DeviceLists
from pinbase.services.device_records import DeviceRecords
from pinbase.services.directory import Directory
from pinbase.services.events import EventLog
from pinbase.services.firmware import FirmwareStore
from pinbase.services.history_writer import HistoryWriter
from pinbase.services.invitations import Invitations
from pinbase.services.leadership import Leadership
from pinbase.services.live import LiveHub
from pinbase.services.metadata import Metadata
from pinbase.services.oauth import OAuth
from pinbase.services.organizations import Organizations
from pinbase.services.presence import Presence
from pinbase.services.properties import Properties
from pinbase.services.rate_limit import RateLimiter, SharedCounters
from pinbase.services.reactions.automations import Automations
from pinbase.services.reactions.inbox import NotificationInbox
from pinbase.services.reactions.legacy_messages import LegacyMessages
from pinbase.services.reactions.lifecycle import Lifecycle
from pinbase.services.reactions.notification_settings import DeviceNotificationSettings
from pinbase.services.reactions.notifications import Notifications
from pinbase.services.reactions.outbound import OutboundHttp
from pinbase.services.reactions.outbox import Outbox
from pinbase.services.reactions.push_subscriptions import PushSubscriptions
from pinbase.services.reactions.webhooks import Webhooks
from pinbase.services.reports import Reports
from pinbase.services.segments import Segments
from pinbase.services.shipments import Shipments
from pinbase.services.telemetry import Telemetry
from pinbase.services.templates import Templates
from pinbase.services.uploads import Uploads
from pinbase.services.users import Users
from pinbase.storage.base import Store


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    """Every service of one server instance; built by ``pinbase.runtime``."""

    store: Store
    clock: Clock
    bus: Bus
    directory: Directory
    writer: HistoryWriter
    telemetry: Telemetry
    presence: Presence
    properties: Properties
    events: EventLog
    actions: ActionsLog
    live: LiveHub
    """Fans values, properties, presence and timeline entries out to console viewers."""
    metadata: Metadata
    reports: Reports
    charts: Charts
    uploads: Uploads
    oauth: OAuth
    organizations: Organizations
    users: Users
    device_admin: DeviceAdmin
    templates: Templates
    datastream_values: DatastreamValues
    device_records: DeviceRecords
    device_lists: DeviceLists
    rate_limiter: RateLimiter[OrgId]
    """Platform API requests per organization per minute."""
    device_limiter: RateLimiter[DeviceId]
    """Device and legacy API requests per device per second."""
    update_quota: RateLimiter[DeviceId]
    """``/external/api/update`` calls per device per UTC day."""
    console_sessions: ConsoleSessions
    """Web console sign-in and sessions."""
    invitations: Invitations
    """Invitation links that let a user set its password."""
    console_devices: ConsoleDevices
    """The console's device table and device lookups."""
    push_subscriptions: PushSubscriptions
    """Browsers that receive users' Web Push notifications; the planner's ``PushTargets``."""
    inbox: NotificationInbox
    """A user's notification list (the console's Notifications page)."""
    device_notifications: DeviceNotificationSettings
    """End users' per-device notification settings and mutes (automations.md §1.5)."""
    automations: Automations
    """Automations: the use cases, and the engine that evaluates and schedules them."""
    segments: Segments
    """Device segments: the Devices page's static sets, acted on by Control Segment."""
    outbox: Outbox
    """Sends e-mails, pushes and webhook calls committed to the outbox (issue #10)."""
    webhooks: Webhooks
    """Webhook use cases: edit, test, read the log (automations.md §4)."""
    notifications: Notifications
    """The notification planner: ``queue_message`` and the notification log (issue #10)."""
    legacy_messages: LegacyMessages
    """Legacy ``notify`` / ``email`` calls of devices, through the planner."""
    lifecycle: Lifecycle
    """Online/Offline notifications and first connections, from presence changes."""
    outbound: OutboundHttp
    """The one HTTP client for calls leaving Pinbase, behind the SSRF guard (§5.5)."""
    leadership: Leadership
    """Whether this node leads the installation, running its once-only work (issue #11)."""
    device_commands: DeviceCommands
    """Reboot, ping, redirect and reconfigure connected devices (issue #12)."""
    firmware: FirmwareStore
    """Blynk.Air firmware files (device-lifecycle.md §1.7)."""
    shipments: Shipments
    """Blynk.Air shipments and the evaluation that updates devices (§1.6, §1.7)."""
    shared_counters: SharedCounters | None = None
    """The installation's counters (Redis) when several nodes share limits (issue #11)."""
