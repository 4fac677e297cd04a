"""One MQTT device connection: a ``StreamSession`` around an ``MqttConnection``.

The socket side (worker, backpressure, closing) is ``stream_session``'s, shared with the binary
protocol. Consecutive ``ds/<name>`` publishes are stored as one batch (one commit wait, one bus
message) and their QoS 1/2 acknowledgements go out once stored.

The device is online from an accepted CONNECT until DISCONNECT, TCP close or keep-alive expiry
(1.5 x the keep-alive with no packet at all, MQTT 3.1.1 §3.1.2.10); a will fires, as if the
device had published it, right before the device is marked offline, unless it said DISCONNECT
(device-protocols.md §2.7).
"""

import asyncio
import logging

from pinbase.domain.pins import Pin
from pinbase.protocols.mqtt import (
    NEED_DATA,
    Ack,
    AckKind,
    ConnAck,
    Connect,
    ConnectCode,
    ConnectionClosed,
    Disconnect,
    Downlink,
    Event,
    MqttConnection,
    Outbound,
    PingReq,
    PingResp,
    ProtocolError,
    Publish,
    PubRel,
    State,
    SubAck,
    Subscribe,
    Undeliverable,
    UnsubAck,
    Unsubscribe,
    Will,
)
from pinbase.protocols.mqtt.topics import Subscriptions
from pinbase.protocols.mqtt.uplink import BadUplink, WriteDatastream, parse_uplink
from pinbase.services.bus import DeviceCommanded, PropertyChanged, ValuesChanged
from pinbase.services.device_gateway import device_texts
from pinbase.services.directory import BoundDevice
from pinbase.services.named_gateway import datastream_named
from pinbase.transports.commands import DIAG_TOPIC, PING_TOPIC, CommandRefused, mqtt_downlink
from pinbase.transports.login_guard import REFUSED
from pinbase.transports.mqtt_dispatch import EVENT_DIAG_INTERVAL_S, downlink_payload, handle
from pinbase.transports.mqtt_hub import MqttHub
from pinbase.transports.outbox import Outbox
from pinbase.transports.stream_session import StreamSession

logger = logging.getLogger(__name__)

ORIGIN = "device_mqtt"
"""The bus origin of values a device publishes over MQTT; never echoed back to it (§2.5)."""

USERNAME = "device"
"""The one username of the device API; the password is the device's token (§2.2)."""

MAX_CLIENT_ID_CHARS = 64
"""Longest client id accepted (§2.2)."""


class MqttSession(StreamSession):
    """The server's side of one MQTT device connection, over TCP or TLS."""

    KIND = "mqtt"

    __slots__ = (
        "_conn",
        "_event_diag_at",
        "_idle_timer",
        "_keep_alive",
        "_subscriptions",
        "_will",
    )

    def __init__(self, hub: MqttHub) -> None:
        self._conn = MqttConnection(max_packet_size=hub.options.max_packet)
        super().__init__(hub, self._conn)
        self._hub: MqttHub = hub
        self._subscriptions = Subscriptions()
        self._will: Will | None = None
        self._keep_alive = 0.0
        self._idle_timer: asyncio.TimerHandle | None = None
        self._event_diag_at: float | None = None

    def _new_outbox(self, transport: asyncio.Transport) -> Outbox:
        """Every packet goes out at once: MQTT clients parse a stream, nothing needs pacing."""
        return Outbox(
            transport,
            interval=0.0,
            on_overflow=self._overflow,
            max_buffer=self._hub.options.max_write_buffer,
        )

    def _opened(self, transport: asyncio.Transport) -> None:
        self._idle_timer = self._loop.call_later(
            self._hub.options.connect_timeout, self._connect_expired
        )

    # --- LiveSession -----------------------------------------------------------------------

    @property
    def origin(self) -> str:
        """Values this link records carry ``device_mqtt``."""
        return ORIGIN

    def push_values(self, change: ValuesChanged) -> None:
        """Publish values written elsewhere on ``downlink/ds/<name>`` (§2.5)."""
        for written in change.writes:
            payload = downlink_payload(device_texts(written.value))
            self.publish(f"downlink/ds/{written.label}", payload)

    def push_property(self, change: PropertyChanged) -> None:
        """Nothing: the MQTT API has no property downlink (§2.5)."""

    def send_command(self, command: DeviceCommanded) -> None:
        """Send a server command (device-lifecycle.md §1.4, §4) on its ``downlink/`` topic, as
        ``publish`` does: ``downlink/ota/json``, ``…/redirect`` and ``…/diag`` at QoS 0 whatever
        the device subscribed to, the others only when subscribed (§2.3); dropped when larger
        than its ``rxbuff`` (§2.6)."""
        if self._closed or self._conn.state is not State.CONNECTED:
            return
        downlink = mqtt_downlink(command)
        if isinstance(downlink, CommandRefused):
            logger.info(
                "mqtt.command_refused device_id=%s kind=%s reason=%s",
                self._device_id(),
                command.kind,
                downlink.reason,
            )
            return
        logger.info("mqtt.command device_id=%s kind=%s", self._device_id(), command.kind)
        self.publish(downlink.topic, downlink.payload)

    def replace(self) -> None:
        """A newer connection of the same device took over (one per token, §2.2); its will
        is dropped, as the device did not go away."""
        self._will = None
        self._close("replaced by a new connection")

    def shutdown(self) -> None:
        """Close at server stop, flushing what is written; the device did not go away, so
        its will does not fire."""
        self._will = None
        self._close("server stopping")

    def abort(self) -> None:
        """Drop the connection at once (server stop)."""
        self._will = None
        self._abort("server stopped")

    # --- mqtt_dispatch.Link ----------------------------------------------------------------

    def publish(self, topic: str, payload: bytes) -> None:
        """Send a downlink at the subscription's QoS (``downlink/ping`` always at QoS 1); a
        topic the device did not subscribe to is not sent (§2.3, §2.6)."""
        if self._closed or self._conn.state is not State.CONNECTED:
            return
        qos = self._subscriptions.qos_for(topic)
        if qos is None:
            return
        if topic == PING_TOPIC:
            qos = 1
        self.send(Downlink(topic=topic, payload=payload, qos=qos))

    def diag(self, text: str) -> None:
        """Tell the device on ``downlink/diag``; the server log says it too."""
        logger.info("mqtt.diag device_id=%s text=%r", self._device_id(), text)
        self.publish(DIAG_TOPIC, text.encode())

    def event_diag(self, text: str) -> None:
        """``diag`` for a refused event, at most one line per ``EVENT_DIAG_INTERVAL_S`` on this
        connection (a device has one at a time: a second login replaces the first)."""
        now = self._loop.time()
        if self._event_diag_at is not None and now - self._event_diag_at < EVENT_DIAG_INTERVAL_S:
            return
        self._event_diag_at = now
        self.diag(text)

    def limit_downlinks(self, rxbuff: int) -> None:
        """Downlinks larger than ``rxbuff`` bytes are dropped from now on (§2.6)."""
        self._conn.rxbuff = rxbuff

    # --- the worker ------------------------------------------------------------------------

    async def _drain(self) -> None:
        writes: list[tuple[Pin, tuple[str, ...]]] = []
        acks: list[Ack] = []
        try:
            while not self._closed:
                event = self._conn.next_event()
                if event is NEED_DATA:
                    break
                if isinstance(event, Publish) and self._taken(event, writes, acks):
                    continue
                await self._flush_writes(writes, acks)
                await self._handle(event)
            await self._flush_writes(writes, acks)
        except ProtocolError as error:
            await self._protocol_error(error)

    def _taken(
        self, publish: Publish, writes: list[tuple[Pin, tuple[str, ...]]], acks: list[Ack]
    ) -> bool:
        """True when a publish needs nothing more: dropped by flood control, or held for the
        batch of ``ds/<name>`` writes."""
        if self._bound is None:  # pragma: no cover - publishes come only once connected
            return False
        return not self._admit() or self._queue(self._bound, publish, writes, acks)

    def _flooding(self, msg_id: int) -> None:
        """The binary protocol's flood rule (§1.12), told on ``downlink/diag``."""
        self.diag("too many messages: dropping")

    def _queue(
        self,
        bound: BoundDevice,
        publish: Publish,
        writes: list[tuple[Pin, tuple[str, ...]]],
        acks: list[Ack],
    ) -> bool:
        """Hold a ``ds/<name>`` write for the batch; False for any other publish."""
        if publish.is_repeat or not publish.topic.startswith("ds/"):
            return False
        request = parse_uplink(publish.topic, publish.payload)
        if not isinstance(request, WriteDatastream):
            return False
        datastream = datastream_named(self._hub.named.gateway.current(bound), request.name)
        if datastream is None:
            return False  # handled one by one: the diag says which name is unknown
        writes.append((datastream.pin, request.values))
        ack = _ack_for(publish)
        if ack is not None:
            acks.append(ack)
        return True

    async def _flush_writes(
        self, writes: list[tuple[Pin, tuple[str, ...]]], acks: list[Ack]
    ) -> None:
        if not writes or self._bound is None:
            return
        gateway = self._hub.named.gateway
        bound = gateway.current(self._bound)
        stored = await gateway.record_writes(bound, writes, origin=ORIGIN, ts=None)
        if stored < len(writes):
            self.diag(f"{len(writes) - stored} of {len(writes)} values dropped: they do not fit")
        for ack in acks:
            self.send(ack)
        writes.clear()
        acks.clear()

    async def _handle(self, event: Event) -> None:
        match event:
            case Connect():
                await self._connect(event)
            case Publish():
                if not event.is_repeat:
                    await self._uplink(event.topic, event.payload)
                ack = _ack_for(event)
                if ack is not None:
                    self.send(ack)
            case PubRel(packet_id=packet_id):
                self.send(Ack(kind=AckKind.PUBCOMP, packet_id=packet_id))
            case Subscribe(packet_id=packet_id, topics=topics):
                granted = tuple(self._subscriptions.add(f, qos) for f, qos in topics)
                self.send(SubAck(packet_id=packet_id, granted=granted))
            case Unsubscribe(packet_id=packet_id, filters=filters):
                self._subscriptions.remove(filters)
                self.send(UnsubAck(packet_id=packet_id, count=len(filters)))
            case PingReq():
                self.send(PingResp())
            case Disconnect(with_will=with_will):
                if not with_will:
                    self._will = None
                self._close("disconnected by the device")
            case ConnectionClosed():
                self._close("closed by the device")
            case _:  # UnsupportedVersion; PubAck needs nothing (it proves the device alive)
                if self._conn.state is State.CONNECTING:
                    await self._refuse(ConnectCode.BAD_VERSION)

    async def _uplink(self, topic: str, payload: bytes) -> None:
        if self._bound is None:  # pragma: no cover - publishes come only once connected
            return
        request = parse_uplink(topic, payload)
        if isinstance(request, BadUplink):
            self.diag(request.reason)
            return
        named = self._hub.named
        await handle(self, named, named.gateway.current(self._bound), request)

    async def _connect(self, connect: Connect) -> None:
        hub = self._hub
        if connect.username != USERNAME:
            await self._refuse(ConnectCode.NOT_AUTHORIZED)
            return
        if len(connect.client_id) > MAX_CLIENT_ID_CHARS or (
            not connect.client_id and not connect.clean_session and connect.version == 4
        ):
            await self._refuse(ConnectCode.IDENTIFIER_REJECTED)  # MQTT 3.1.1 §3.1.3.1
            return
        try:
            token = (connect.password or b"").decode()
        except UnicodeDecodeError:
            token = ""
        bound = await hub.named.gateway.authenticate(token) if token else None
        if self._closed:
            return
        if bound is None:
            await self._refuse(ConnectCode.BAD_CREDENTIALS, token=token or None)
            return
        self._will = connect.will
        assigned = None if connect.client_id else f"pinbase-device-{bound.device.id}"
        self.send(ConnAck(code=ConnectCode.ACCEPTED, assigned_client_id=assigned))
        self._keep_alive = connect.keep_alive * hub.options.keep_alive_factor
        self._attach(bound)
        self._arm_idle()
        logger.info("mqtt.connect device_id=%d address=%s", bound.device.id, self._address)

    async def _refuse(self, code: ConnectCode, *, token: str | None = None) -> None:
        """Answer CONNACK ``code`` once the failed login's delay is over, then close."""
        if self._hub.guard.log.note(REFUSED, self._address):
            logger.info("mqtt.connect_refused address=%s code=%s", self._address, code.name)
        await self._fail_login(token)
        if self._closed:
            return
        self.send(ConnAck(code=code))
        self._close("connect refused")

    # --- writing ---------------------------------------------------------------------------

    def send(self, message: Outbound) -> None:
        """Queue ``message``; a downlink the device cannot take is dropped and logged."""
        try:
            data = self._conn.send(message)
        except Undeliverable as error:
            logger.info("mqtt.undeliverable device_id=%s reason=%s", self._device_id(), error)
            return
        if self._outbox is not None:
            self._outbox.put(data, paced=False)

    # --- timers and closing ----------------------------------------------------------------

    def _connect_expired(self) -> None:
        self._idle_timer = None
        if self._bound is None:
            self._close("no CONNECT in time")

    def _arm_idle(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if self._keep_alive > 0:
            deadline = self._last_inbound + self._keep_alive
            self._idle_timer = self._loop.call_at(deadline, self._check_idle)

    def _check_idle(self) -> None:
        self._idle_timer = None
        if self._loop.time() >= self._last_inbound + self._keep_alive:
            self._abort("keep-alive expired")
        else:
            self._arm_idle()

    def _end(self, reason: str) -> None:
        """Stop the timers; fire the will if one is pending, then go offline (§2.7)."""
        self._closed = True
        self._cancel_timers()
        will, self._will = self._will, None
        if will is None or not self._attached:
            self._detach(reason)
            return
        self._attached = False  # offline once the will is processed: ``_fire_will`` releases
        task = self._loop.create_task(self._fire_will(will, reason))
        self._hub.workers.add(task)
        task.add_done_callback(self._hub.workers.discard)

    def _cancel_timers(self) -> None:
        """The CONNECT deadline or keep-alive check stops with the connection."""
        super()._cancel_timers()
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    async def _fire_will(self, will: Will, reason: str) -> None:
        """Process the will as the device's own publish, then mark it offline (§2.7)."""
        try:
            request = parse_uplink(will.topic, will.payload)
            if not isinstance(request, BadUplink) and self._bound is not None:
                named = self._hub.named
                await handle(self, named, named.gateway.current(self._bound), request)
        except Exception:
            logger.exception("mqtt.will_failed device_id=%s", self._device_id())
        finally:
            self._release(reason)


def _ack_for(publish: Publish) -> Ack | None:
    """PUBACK for QoS 1, PUBREC for QoS 2, nothing for QoS 0 (§2.6)."""
    if publish.packet_id is None:
        return None
    kind = AckKind.PUBACK if publish.qos == 1 else AckKind.PUBREC
    return Ack(kind=kind, packet_id=publish.packet_id)
