"""Wiring and lifecycle: storage, services and the HTTP server of one Pinbase process.

Start order: open the database and migrate it, load the catalog, current values and widget
properties into memory, start the group-commit writers (history, actions log) and the upkeep
tasks (WAL checkpoints, report expiry, history retention), then listen.
Stop order is the reverse, so every acknowledged write is committed before the database closes.
"""

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
from granian.constants import Interfaces, SSLProtocols
from granian.server.embed import Server

from pinbase.domain.deliveries import DeliveryKind
from pinbase.http.access_log import AccessLog
from pinbase.http.app import MqttSocketOnly, create_app
from pinbase.services.actions import ActionsLog
from pinbase.services.backups import DataFolder
from pinbase.services.broker import Broker, LocalBroker
from pinbase.services.bus import Bus
from pinbase.services.charts import Charts
from pinbase.services.clock import DAY_MS, Clock, system_clock
from pinbase.services.console_devices import ConsoleDevices
from pinbase.services.console_sessions import ConsoleSessions
from pinbase.services.container import Services
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
from pinbase.services.login_throttle import SharedLoginThrottle
from pinbase.services.metadata import Metadata
from pinbase.services.oauth import OAuth
from pinbase.services.organizations import Organizations
from pinbase.services.presence import Presence
from pinbase.services.properties import Properties
from pinbase.services.rate_limit import (
    MINUTE_MS,
    SECOND_MS,
    RateLimiter,
    SharedCounters,
    SharedGate,
    SharedRateLimiter,
)
from pinbase.services.reactions.automation_engine import AutomationEngine
from pinbase.services.reactions.automation_runs import AutomationRunner
from pinbase.services.reactions.automations import Automations
from pinbase.services.reactions.email import EmailSender, SmtpConfig
from pinbase.services.reactions.inbox import NotificationInbox
from pinbase.services.reactions.legacy_messages import LegacyMessages
from pinbase.services.reactions.lifecycle import Lifecycle
from pinbase.services.reactions.messages import EMAIL, PUSH, SMS
from pinbase.services.reactions.notification_settings import DeviceNotificationSettings
from pinbase.services.reactions.notifications import Notifications
from pinbase.services.reactions.outbound import OutboundHttp
from pinbase.services.reactions.outbox import FinalHook, Outbox
from pinbase.services.reactions.push_subscriptions import PushSubscriptions
from pinbase.services.reactions.sms import HttpSmsSender
from pinbase.services.reactions.vapid import VapidKeys, new_vapid_pem
from pinbase.services.reactions.web_push import WebPushSender
from pinbase.services.reactions.webhook_events import WebhookEvents
from pinbase.services.reactions.webhook_failures import queue_failure_mail
from pinbase.services.reactions.webhook_sender import WebhookSender
from pinbase.services.reactions.webhook_triggers import RenderLimits, WebhookTriggers
from pinbase.services.reactions.webhooks import Webhooks
from pinbase.services.reports import Reports
from pinbase.services.retention import Retention
from pinbase.services.segments import Segments
from pinbase.services.shipments import Shipments
from pinbase.services.state import CachedState
from pinbase.services.telemetry import Telemetry
from pinbase.services.templates import Templates
from pinbase.services.unknown_tokens import UnknownTokens
from pinbase.services.uploads import Uploads
from pinbase.services.users import Users
from pinbase.settings import Settings
from pinbase.storage.availability import ensure_reachable, prepare_data_folder
from pinbase.storage.data_folder import (
    DEMO,
    FIRMWARE,
    REPORTS,
    UPLOADS,
    VAPID_KEY,
    read_or_create_secret,
    secure_data_folder,
)
from pinbase.storage.engines import create_engine, database_url, sqlite_file
from pinbase.storage.migrate import migrate
from pinbase.storage.postgres import PostgresStore
from pinbase.storage.sql import SqlStore
from pinbase.storage.sqlite import SqliteStore
from pinbase.transports.heartbeat import NodeHeartbeat
from pinbase.transports.listening import tls_context
from pinbase.transports.login_guard import LoginGuard, login_throttle
from pinbase.transports.mqtt import MqttListeners
from pinbase.transports.mqtt_websocket import MqttWebSocket
from pinbase.transports.ports import ensure_port_free
from pinbase.transports.redis_broker import RedisBroker
from pinbase.transports.redis_counters import RedisCounters
from pinbase.transports.tcp import DeviceListeners

logger = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_S = 1.0
REDIS_TIMEOUT_S = 2.0
"""Longest wait of a heartbeat or a counter flush on Redis: in a network partition the call
fails (logged once per outage) and is retried at the next beat or flush, instead of hanging its
task until TCP gives up."""
TLS_PORTS = frozenset({"hardware_tls_port", "mqtt_tls_port", "mqtt_wss_port"})
"""The ``Settings.listening_ports`` that need the certificate and key."""
GC_THRESHOLDS = (50_000, 20, 100)
"""Young-generation threshold raised from 700: the hot path allocates many short-lived objects,
and with the defaults the collector took a third of the loop thread's time under load
(py-spy, bench/device_http.py)."""


async def open_store(settings: Settings) -> SqlStore:
    """Make the data folder private (``storage.data_folder``), open and migrate the database.

    Every command that uses the data folder opens the store first, so an install made before
    the folder was private is tightened on its first start.

    Raises:
        DataFolderUnusable: the data folder cannot be created or written.
        DatabaseUnavailable: the database refuses a connection.
    """
    prepare_data_folder(settings.data_dir)
    secure_data_folder(settings.data_dir, sqlite=not settings.database_url)
    engine = create_engine(
        database_url(settings.data_dir, settings.database_url),
        synchronous=settings.sqlite_synchronous,
    )
    try:
        await ensure_reachable(engine)
    except BaseException:
        await engine.dispose()
        raise
    await migrate(engine)
    if engine.dialect.name == "sqlite":
        return SqliteStore(engine, synchronous=settings.sqlite_synchronous)
    return PostgresStore(engine)


def webhook_limits(settings: Settings) -> RenderLimits:
    """The request limits webhooks are rendered with (automations.md §5.6 settings)."""
    return RenderLimits(
        legacy_placeholders=settings.webhooks_legacy_placeholders,
        max_body_bytes=settings.webhooks_max_body_bytes,
        max_url_chars=settings.webhooks_max_url_chars,
        rate_per_minute=settings.webhooks_rate_per_minute,
    )


def broker_for(settings: Settings) -> Broker:
    """The broker linking this node to the others of its installation: a lone ``LocalBroker``
    without ``broker_url`` (one process, nothing sent), else Redis."""
    if settings.broker_url is None:
        return LocalBroker()
    return RedisBroker(settings.broker_url)


def rate_limiter(
    clock: Clock,
    *,
    limit: int,
    window_ms: int,
    name: str,
    counters: SharedCounters | None,
) -> RateLimiter[Any]:
    """One limit of http-api.md §1.11: counted in this process alone, or, with ``counters``
    (several nodes), across the installation."""
    if counters is None:
        return RateLimiter(clock, limit=limit, window_ms=window_ms)
    return SharedRateLimiter(clock, limit=limit, window_ms=window_ms, name=name, counters=counters)


def prepare(settings: Settings) -> None:
    """Make the data folder private and migrate the database, then close it: what the parent
    of ``serve --workers N`` does once before it starts the workers.

    Raises:
        DataFolderUnusable, DatabaseUnavailable: see ``open_store``.
    """

    async def migrated() -> None:
        store = await open_store(settings)
        await store.close()

    asyncio.run(migrated())


POSTGRES_GROUPS_IN_FLIGHT = 2
"""Group commits a node keeps in flight on PostgreSQL. With one, a node waited for each commit's
round trip and fsync with its core partly idle (issue #11: 77 % of a core, 36 % of the machine
idle); SQLite's single writer stays at one."""


def groups_in_flight(store: SqlStore) -> int:
    """How many group commits of points may run at once on ``store``'s database."""
    return POSTGRES_GROUPS_IN_FLIGHT if store.dialect == "postgresql" else 1


def ota_base_url(settings: Settings) -> str:
    """Where devices download Blynk.Air files: ``ota_base_url``, else ``public_url``, else this
    server's own HTTP address (device-lifecycle.md §1.7)."""
    if settings.ota_base_url:
        return settings.ota_base_url.rstrip("/")
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return f"http://{settings.host}:{settings.http_port}"


def data_folder(settings: Settings) -> DataFolder | None:
    """What a backup of this configuration copies, or None when the database is not SQLite."""
    database = sqlite_file(settings.data_dir, settings.database_url)
    if database is None:
        return None
    return DataFolder(
        root=settings.data_dir,
        database=database,
        kept=(UPLOADS, FIRMWARE, DEMO, VAPID_KEY),
        derived=(REPORTS,),
    )


@asynccontextmanager
async def running_services(
    settings: Settings, *, clock: Clock = system_clock, broker: Broker | None = None
) -> AsyncIterator[Services]:
    """Open storage, load the hot state and run the writer for the duration of the block.

    ``broker`` links these services to other nodes (tests: ``LocalBroker`` on a
    ``LocalNetwork``); by default the settings choose it (``broker_for``)."""
    store = await open_store(settings)
    # Heartbeats and shared counters (issue #11) use the broker's Redis, on a client of their own.
    redis = (
        aioredis.from_url(
            settings.broker_url,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
        )
        if settings.broker_url
        else None
    )
    try:
        bus = Bus(broker if broker is not None else broker_for(settings))
        counters = RedisCounters(redis) if redis is not None else None
        directory = Directory(
            store,
            unknown=UnknownTokens(
                clock,
                capacity=settings.unknown_tokens_cached,
                ttl_ms=round(settings.unknown_token_ttl_s * 1000),
            ),
        )
        writer = HistoryWriter(store, groups_in_flight=groups_in_flight(store))
        outbox = Outbox(store, clock)
        limits = webhook_limits(settings)
        # The trigger index reads current values from Telemetry, which asks it on every write:
        # the lambdas bind the two once both exist.
        webhook_triggers = WebhookTriggers(
            bus,
            directory,
            clock,
            current=lambda device_id, datastream: telemetry.effective(device_id, datastream),
            report=lambda entry: webhooks.report(entry),
            limits=limits,
        )
        telemetry = Telemetry(
            writer,
            bus,
            clock,
            import_points_per_day=settings.import_points_per_day,
            import_quota=rate_limiter(
                clock,
                limit=settings.import_points_per_day,
                window_ms=DAY_MS,
                name="import",
                counters=counters,
            ),
            triggers=webhook_triggers,
            wake_outbox=outbox.wake,
        )
        properties = Properties(store, bus, clock)
        async with store.transaction() as tx:
            directory.load(await tx.load_catalog())
            telemetry.load(await tx.load_current_values())
            properties.load(await tx.load_all_properties())
            webhook_triggers.load(stored.webhook for stored in await tx.list_webhooks(None))
        outbound = OutboundHttp(
            allowed_networks=settings.outbound_allowed_networks,
            allowed_hosts=settings.outbound_allowed_hosts,
            connect_timeout_s=settings.outbound_connect_timeout_s,
            total_timeout_s=settings.outbound_total_timeout_s,
        )
        webhook_sender = WebhookSender(
            store,
            bus,
            clock,
            outbound,
            find=webhook_triggers.webhook,
            # Notifications is built below; the lambda binds it when a failure happens.
            failure_mail=lambda tx, notice: queue_failure_mail(
                notifications, tx, notice, console_url=settings.public_url or ""
            ),
            disable_after_failures=settings.webhooks_disable_after_failures,
            wake_outbox=outbox.wake,
        )
        outbox.register(DeliveryKind.WEBHOOK, webhook_sender.send, on_final=webhook_sender.on_final)
        webhooks = Webhooks(
            store,
            directory,
            bus,
            clock,
            sender=webhook_sender,
            current=telemetry.effective,
            limits=limits,
            max_per_org=settings.webhooks_max_per_org,
            enterprise_triggers=settings.webhooks_enterprise_triggers,
        )
        writer.start()
        presence = Presence(bus, clock)
        actions = ActionsLog(store, presence, clock)
        actions.start()
        # Counted across the nodes like the limits below (issue #11, "daily quotas").
        report_quota = rate_limiter(
            clock,
            limit=settings.reports_per_day,
            window_ms=DAY_MS,
            name="report",
            counters=counters,
        )
        reports = Reports(
            store,
            clock,
            folder=settings.data_dir / REPORTS,
            per_day=settings.reports_per_day,
            ttl_ms=round(settings.report_ttl_days * DAY_MS),
            quota=report_quota,
        )
        oauth = OAuth(
            store,
            directory,
            clock,
            bus=bus,
            access_ttl_s=settings.access_token_ttl_s,
            refresh_ttl_s=settings.refresh_token_ttl_s,
            recheck_ms=round(settings.access_token_recheck_s * 1000),
        )
        # The one owner of the caches above: every announced change goes through it.
        state = CachedState(
            bus, directory=directory, telemetry=telemetry, properties=properties, oauth=oauth
        )
        if isinstance(bus.broker, RedisBroker):

            async def resynchronise() -> None:
                # Whatever other nodes announced while this one was not subscribed is reloaded,
                # and the nodes tell each other which devices they hold (services.presence).
                await state.reload(store)
                presence.sync()

            bus.broker.on_reconnect = resynchronise
        live = LiveHub(
            bus,
            directory=directory,
            telemetry=telemetry,
            properties=properties,
            presence=presence,
        )
        retention = Retention(
            store,
            clock,
            points_ms=round(settings.history_retention_days * DAY_MS),
            minutes_ms=round(settings.aggregate_retention_days * DAY_MS),
            deliveries_ms=round(settings.outbox_retention_days * DAY_MS),
        )
        console_throttle = login_throttle(settings, clock=clock, name="console", counters=counters)
        console_sessions = ConsoleSessions(
            store,
            directory,
            clock,
            # The device listeners' rule, with counts of its own (a console sign-in is not a
            # device login; ``LoginGuard`` holds those).
            throttle=console_throttle,
            ttl_ms=round(settings.console_session_days * DAY_MS),
        )
        vapid = VapidKeys.from_pem(
            read_or_create_secret(settings.data_dir / VAPID_KEY, new_vapid_pem),
            subject=settings.vapid_subject(),
        )
        push_subscriptions = PushSubscriptions(store, clock, vapid=vapid)
        await push_subscriptions.load()
        notifications = Notifications(
            store,
            directory,
            clock,
            push_targets=push_subscriptions,
            # Without an SMTP host or an SMS gateway, e-mails or SMS are logged
            # CHANNEL_DISABLED (automations.md §2.1, §2.4).
            channels=(PUSH,)
            + ((EMAIL,) if settings.smtp_host else ())
            + ((SMS,) if settings.sms_gateway_url else ()),
            min_interval_ms=round(settings.notification_min_interval_s * 1000),
            messages_per_hour=settings.automation_messages_per_hour,
            console_url=settings.public_url or "",
            log_retention_ms=round(settings.notification_log_days * DAY_MS),
        )
        events = EventLog(
            store,
            clock,
            bus=bus,
            per_day=settings.events_per_day,
            max_description_chars=settings.max_event_description_chars,
            notifications=notifications,
            wake=outbox.wake,
            shared_gap=None
            if counters is None
            else SharedGate(clock, counters, name="event", window_ms=SECOND_MS),
        )
        lifecycle = Lifecycle(
            store,
            directory,
            bus,
            notifications,
            wake=outbox.wake,
            offline_delay_ms=round(settings.offline_notification_delay_s * 1000),
        )
        lifecycle.start()
        metadata = Metadata(store, directory, bus)
        uploads = Uploads(
            store,
            clock,
            root=settings.data_dir / UPLOADS,
            max_bytes=settings.max_upload_bytes,
            kept_per_device=settings.kept_uploads_per_device,
            per_day=settings.uploads_per_day,
        )
        firmware = FirmwareStore(
            store,
            directory,
            clock,
            root=settings.data_dir / FIRMWARE,
            max_bytes=settings.max_firmware_bytes,
        )
        shipments = Shipments(
            store,
            clock,
            bus=bus,
            directory=directory,
            presence=presence,
            events=events,
            firmware=firmware,
            download_base=ota_base_url(settings),
        )
        shipments.start()
        console_devices = ConsoleDevices(store, directory, telemetry, presence)
        segments = Segments(store, directory, clock, devices=console_devices)
        runner = AutomationRunner(
            segments=segments,
            store=store,
            directory=directory,
            telemetry=telemetry,
            events=events,
            clock=clock,
            notifications=notifications,
            wake_outbox=outbox.wake,
            actions=actions,
        )
        automations = Automations(
            store=store,
            directory=directory,
            engine=AutomationEngine(
                store=store,
                bus=bus,
                directory=directory,
                telemetry=telemetry,
                runner=runner,
                clock=clock,
                catchup_window_ms=settings.automations_catchup_window_s * 1000,
                log_retention_ms=round(settings.automation_log_days * DAY_MS),
                leading=False,
            ),
            runner=runner,
            segments=segments,
            clock=clock,
            max_per_org=settings.automations_max_per_org,
            max_actions=settings.automations_max_actions,
        )
        await automations.start()
        loop = asyncio.get_running_loop()
        # Every node keeps its own caches fresh; what must run once per installation is the
        # leader's (services.leadership): sweeps of what expired, and the time rules.
        upkeep = [
            loop.create_task(_checkpoints(store), name="checkpoints"),
            loop.create_task(push_subscriptions.refresh_forever(), name="push_refresh"),
        ]
        limiters = {
            name: rate_limiter(
                clock, limit=limit, window_ms=window_ms, name=name, counters=counters
            )
            for name, limit, window_ms in (
                ("platform", settings.platform_requests_per_minute, MINUTE_MS),
                ("device", settings.device_requests_per_second, SECOND_MS),
                ("update", settings.updates_per_day, DAY_MS),
            )
        }
        upkeep += [
            loop.create_task(limiter.run(), name=f"rate_flush_{name}")
            for name, limiter in (
                *limiters.items(),
                ("report", reports.quota),
                ("import", telemetry.import_quota),
            )
            if isinstance(limiter, SharedRateLimiter)
        ]
        if isinstance(console_throttle, SharedLoginThrottle):
            upkeep.append(loop.create_task(console_throttle.run(), name="console_throttle_flush"))
        leadership = Leadership(store.leader_lease(), node_id=bus.broker.node_id)
        leadership.add("report_sweep", reports.sweep_forever)
        leadership.add("retention_sweep", retention.sweep_forever)
        leadership.add("notification_sweep", notifications.sweep_forever)
        leadership.add("webhook_log_sweep", webhooks.sweep_forever)
        leadership.add("automation_scheduler", automations.lead)
        leadership.add("ota_windows", shipments.windows_forever)
        upkeep += _register_channels(
            outbox,
            settings,
            outbound=outbound,
            push_subscriptions=push_subscriptions,
            vapid=vapid,
            clock=clock,
            on_final=notifications.on_final,
        )
        webhooks.start()
        webhook_triggers.start(store)
        webhook_events = None
        if settings.webhooks_enterprise_triggers:
            webhook_events = WebhookEvents(
                bus, store, directory, webhook_triggers, clock=clock, wake_outbox=outbox.wake
            )
            webhook_events.start()
        # After the writers, stopped before them: a continuation's send writes values.
        outbox.start()
        heartbeat: NodeHeartbeat | None = None
        device_commands: DeviceCommands | None = None
        try:
            # Every cache and subscriber exists: from now on other nodes' messages apply here.
            await bus.start()
            if redis is not None:
                heartbeat = NodeHeartbeat(
                    redis,
                    node_id=bus.broker.node_id,
                    ttl_s=settings.node_heartbeat_ttl_s,
                    on_dead=presence.reap,
                    on_rejoined=presence.rejoin,
                )
                await heartbeat.start()
            if not isinstance(bus.broker, RedisBroker):  # Redis's on_reconnect syncs at start
                presence.sync()
            # Last: the leader's jobs write (schedules), and what they write must reach the
            # other nodes.
            await leadership.start()
            device_commands = DeviceCommands(
                directory=directory, presence=presence, bus=bus, actions=actions
            )
            yield Services(
                store=store,
                clock=clock,
                bus=bus,
                directory=directory,
                writer=writer,
                telemetry=telemetry,
                presence=presence,
                properties=properties,
                events=events,
                actions=actions,
                live=live,
                metadata=metadata,
                reports=reports,
                charts=Charts(store, clock),
                uploads=uploads,
                oauth=oauth,
                organizations=Organizations(store, directory, bus, clock),
                users=Users(store, directory, bus, clock),
                device_admin=DeviceAdmin(
                    store=store, directory=directory, uploads=uploads, bus=bus, clock=clock
                ),
                templates=Templates(store, directory, bus, clock),
                device_lists=DeviceLists(
                    store=store,
                    directory=directory,
                    telemetry=telemetry,
                    presence=presence,
                    clock=clock,
                ),
                device_records=DeviceRecords(
                    store=store, directory=directory, metadata=metadata, events=events
                ),
                datastream_values=DatastreamValues(
                    store=store,
                    directory=directory,
                    telemetry=telemetry,
                    properties=properties,
                    actions=actions,
                    clock=clock,
                    max_import_points=settings.max_import_points,
                    import_window_ms=settings.import_window_ms,
                ),
                rate_limiter=limiters["platform"],
                device_limiter=limiters["device"],
                update_quota=limiters["update"],
                console_sessions=console_sessions,
                invitations=Invitations(
                    store,
                    console_sessions,
                    clock,
                    ttl_ms=round(settings.invitation_days * DAY_MS),
                    bus=bus,
                ),
                console_devices=console_devices,
                push_subscriptions=push_subscriptions,
                inbox=NotificationInbox(store),
                device_notifications=DeviceNotificationSettings(
                    store=store, directory=directory, clock=clock
                ),
                automations=automations,
                segments=segments,
                outbox=outbox,
                notifications=notifications,
                legacy_messages=LegacyMessages(store, directory, notifications, wake=outbox.wake),
                lifecycle=lifecycle,
                outbound=outbound,
                webhooks=webhooks,
                shared_counters=counters,
                leadership=leadership,
                device_commands=device_commands,
                firmware=firmware,
                shipments=shipments,
            )
        finally:
            # First: the lease goes to another node as early as possible.
            await leadership.stop()
            if heartbeat is not None:
                await heartbeat.stop()
            await bus.stop()
            await lifecycle.stop()
            await shipments.stop()
            await outbox.stop()
            if webhook_events is not None:
                await webhook_events.stop()
            await webhooks.stop()
            await webhook_triggers.stop()
            await outbound.close()
            await _cancel_all(upkeep)
            await automations.stop()
            if device_commands is not None:
                device_commands.close()
            live.close()
            state.close()
            presence.close()
            await actions.stop()
            await writer.stop()
    finally:
        if redis is not None:
            await redis.aclose()
        await store.close()


async def _cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel ``tasks`` and wait for them together: the shared limiters' last flushes (up to
    ``FINAL_FLUSH_TIMEOUT_S`` each with Redis away) overlap instead of adding up. A task that
    failed instead of ending on the cancellation raises its error here, as it would alone."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks)
    for task in tasks:
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error


def _register_channels(
    outbox: Outbox,
    settings: Settings,
    *,
    outbound: OutboundHttp,
    push_subscriptions: PushSubscriptions,
    vapid: VapidKeys,
    clock: Clock,
    on_final: FinalHook,
) -> list[asyncio.Task[None]]:
    """Register the e-mail sender (when ``smtp_host`` is set), the SMS sender (when
    ``sms_gateway_url`` is set) and the Web Push sender with the
    outbox (automations.md §5.2, §5.3), each delivery's end recorded in the notification log by
    ``on_final``; the start-up SMTP check's task, if any."""
    outbox.register(
        DeliveryKind.PUSH,
        WebPushSender(push_subscriptions, vapid=vapid, client=outbound, clock=clock).send,
        on_final=on_final,
    )
    if settings.sms_gateway_url:
        sms = HttpSmsSender(
            settings.sms_gateway_url, client=outbound, token=settings.sms_gateway_token
        )
        outbox.register(DeliveryKind.SMS, sms.send, on_final=on_final)
    else:
        logger.info("sms.off reason=no_gateway_url")
    smtp = SmtpConfig.from_settings(settings)
    if smtp is None:
        logger.info("smtp.off reason=no_smtp_host")
        return []
    sender = EmailSender(smtp, guard=outbound, clock=clock)
    outbox.register(DeliveryKind.EMAIL, sender.send, on_final=on_final)
    return [asyncio.get_running_loop().create_task(sender.check_connection(), name="smtp_check")]


async def _checkpoints(store: SqlStore) -> None:
    while True:
        await asyncio.sleep(CHECKPOINT_INTERVAL_S)
        try:
            await store.checkpoint()
        except Exception:
            logger.exception("storage.checkpoint_failed")


def tune_garbage_collector() -> None:
    """Freeze start-up objects out of the collector's sight and raise its thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def secure_socket_server(settings: Settings, mqtt_socket: MqttWebSocket, *, port: int) -> Server:
    """The MQTT-over-secure-WebSocket server (``mqtt_wss_port``, device-lifecycle.md §3): ``/mqtt``
    only, TLS 1.2 and newer with the device listeners' certificate, as granian serves TLS."""
    if settings.tls_cert is None or settings.tls_key is None:  # pragma: no cover - checked
        raise ValueError("the secure WebSocket port needs tls_cert and tls_key")
    return Server(
        MqttSocketOnly(mqtt_socket),
        address=settings.host,
        port=port,
        interface=Interfaces.ASGINL,
        backlog=2048,
        log_enabled=False,
        ssl_cert=settings.tls_cert,
        ssl_key=settings.tls_key,
        ssl_protocol_min=SSLProtocols.tls12,
    )


def check_listeners(settings: Settings) -> None:
    """Fail before the database opens if a listener could not start: a port is taken (no port
    is checked when ``reuse_port`` shares them on purpose: the workers of ``serve --workers``,
    whose parent checked them before starting any), or the TLS certificate and key cannot be
    loaded.

    Raises:
        PortUnavailable, TlsUnusable: see ``ensure_port_free`` and ``tls_context``.
    """
    ports = settings.listening_ports()
    if not settings.reuse_port:
        for port in ports.values():
            ensure_port_free(settings.host, port)
    if settings.tls_cert and settings.tls_key and ports.keys() & TLS_PORTS:
        tls_context(settings.tls_cert, settings.tls_key)


async def serve(settings: Settings) -> None:
    """Run the server until SIGINT or SIGTERM, then stop cleanly.

    The listeners are checked before anything else (``check_listeners``), so a second server on
    a busy port stops before it opens (and migrates) a database.

    Raises:
        PortUnavailable, TlsUnusable: see ``check_listeners``.
        DataFolderUnusable, DatabaseUnavailable: see ``open_store``.
    """
    check_listeners(settings)
    async with running_services(settings) as services:
        # Device listeners share the loop; they stop before the writer, so values are stored.
        # One failed-login count for every device listener, binary and MQTT (issue #8).
        guard = LoginGuard.for_settings(
            settings, clock=services.clock, counters=services.shared_counters
        )
        listeners = await DeviceListeners.start(services, settings, guard=guard)
        try:
            mqtt = await MqttListeners.start(
                services, settings, sessions=listeners.sessions, guard=guard
            )
        except BaseException:
            await listeners.stop()
            raise
        # MQTT over WebSocket is the MQTT listeners' sessions on the HTTP port (§3).
        mqtt_socket = (
            mqtt.websocket(origins=settings.mqtt_websocket_origins)
            if settings.mqtt_websocket
            else None
        )
        try:
            app = create_app(services, settings, mqtt_socket=mqtt_socket)
            server = Server(
                AccessLog(app) if settings.access_log else app,
                address=settings.host,
                port=settings.http_port,
                interface=Interfaces.ASGINL,
                backlog=2048,
                log_enabled=False,
            )
            wss_port = settings.listening_ports().get("mqtt_wss_port", 0)
            wss = (
                secure_socket_server(settings, mqtt_socket, port=wss_port)
                if mqtt_socket is not None and wss_port
                else None
            )
        except BaseException:
            await mqtt.stop()
            await listeners.stop()
            raise
        tune_garbage_collector()
        loop = asyncio.get_running_loop()
        throttle_flush = (
            loop.create_task(guard.throttle.run(), name="device_throttle_flush")
            if isinstance(guard.throttle, SharedLoginThrottle)
            else None
        )
        stopping: set[asyncio.Task[None]] = set()

        async def stop_http() -> None:
            # WebSocket clients get their close frame while the HTTP server can still send it.
            if mqtt_socket is not None:
                await mqtt_socket.stop()
            if wss is not None:
                wss.stop()  # type: ignore[no-untyped-call]  # granian declares no types here
            server.stop()  # type: ignore[no-untyped-call]

        def on_signal() -> None:
            if not stopping:
                stopping.add(loop.create_task(stop_http(), name="http_stop"))

        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, on_signal)
        wss_serving: asyncio.Task[None] | None = None
        if wss is not None:
            wss_serving = loop.create_task(wss.serve(), name="mqtt_wss")
            # A secure WebSocket server that ends by itself failed: the whole server stops.
            wss_serving.add_done_callback(lambda _: on_signal())
            logger.info("mqtt.wss_listening host=%s port=%d", settings.host, wss_port)
        logger.info("server.listening host=%s port=%d", settings.host, settings.http_port)
        try:
            await server.serve()
        finally:
            if wss is not None and wss_serving is not None:
                wss.stop()  # type: ignore[no-untyped-call]
                await asyncio.wait([wss_serving])  # its failure is raised once all has stopped
            await mqtt.stop()
            await listeners.stop()
            guard.log.flush()
            if throttle_flush is not None:
                throttle_flush.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await throttle_flush
        if wss_serving is not None and not wss_serving.cancelled():
            failure = wss_serving.exception()
            if failure is not None:
                raise failure
        logger.info("server.stopped")
