"""What a connected device may ask of the server, whatever link it uses (binary TCP now, MQTT next).

A transport decodes a device's message into plain values (pins, texts, codes) and calls one
method here; the answer comes back as plain values too, so the rules live in one place: a write
goes through the one value pipeline (``Telemetry``) and a value that does not fit its datastream
is dropped silently (data-model.md §2.1 step 2: "native/MQTT: drop the value"); a sync answers
with effective values under the §2.12 scope; properties, events and metadata use the same
services and checks as the Device HTTPS API.
"""

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from enum import StrEnum

from pinbase.domain.datastreams import Datastream
from pinbase.domain.devices import HardwareInfo
from pinbase.domain.errors import PinbaseError, UnknownDatastream, ValueMismatch
from pinbase.domain.ids import Token
from pinbase.domain.pins import Pin, PinType
from pinbase.domain.value_types import Value
from pinbase.domain.values import MULTI_VALUE_SEPARATOR, parse_text, to_text
from pinbase.services.clock import Clock
from pinbase.services.directory import BoundDevice, Directory
from pinbase.services.events import EventDropped, EventLog, EventRejected
from pinbase.services.history_writer import StorageUnavailable
from pinbase.services.metadata import Metadata
from pinbase.services.properties import PROPERTY_NAME, Properties, check_property
from pinbase.services.reactions.legacy_messages import LegacyMessages
from pinbase.services.telemetry import Telemetry

logger = logging.getLogger(__name__)

MAX_INFO_CHARS = 64
"""Longest firmware fact kept from an info message (``ver``, ``build``…), as on DEV-12: real
values are a few characters, and the row is rewritten on every login that changes them."""

MAX_NOTIFICATION_CHARS = 255
"""The legacy server's push body limit, counted in UTF-16 units as Java counts a String."""

TimeAnswer = tuple[str, ...]
"""The values of an INTERNAL ``utc`` answer, after the echoed query (device-protocols §1.7.2)."""


def device_texts(value: Value) -> tuple[str, ...]:
    """A stored value as the text items a device receives: one, or several for a location or a
    multi-value string (items joined by NUL on the wire, data-model.md §2.11)."""
    return tuple(to_text(value).split(MULTI_VALUE_SEPARATOR))


class EventOutcome(StrEnum):
    """What became of an event a device logged (automations.md §1.9)."""

    LOGGED = "logged"
    UNKNOWN_CODE = "unknown code"
    """The device's template has no event with that code."""
    REFUSED = "refused"
    """The description is too long (or holds NUL)."""
    DROPPED = "dropped"
    """A limit dropped it (one per second per code, the daily quota)."""


class DeviceGateway:
    """The use cases of a logged-in device, shared by every device transport."""

    def __init__(
        self,
        *,
        directory: Directory,
        telemetry: Telemetry,
        properties: Properties,
        events: EventLog,
        metadata: Metadata,
        clock: Clock,
        group_window_ms: int,
        legacy: LegacyMessages | None = None,
    ) -> None:
        """Bind the services.

        Args:
            group_window_ms: how far from now a device's explicit group timestamp may lie; a
                timestamp outside the window is replaced by the receive time, so a device with
                a wrong clock cannot pin its current values in the far future.
        """
        self._directory = directory
        self._telemetry = telemetry
        self._properties = properties
        self._events = events
        self._metadata = metadata
        self._clock = clock
        self._group_window_ms = group_window_ms
        self._legacy = legacy

    async def authenticate(self, token: str) -> BoundDevice | None:
        """The device owning ``token``, or None for a token nobody owns."""
        return await self._directory.by_token(Token(token))

    def current(self, bound: BoundDevice) -> BoundDevice:
        """The directory's newest copy of a device (metadata and template changes replace it)."""
        return self._directory.by_id(bound.device.id) or bound

    async def record_write(
        self, bound: BoundDevice, pin: Pin, texts: Sequence[str], *, origin: str, ts: int | None
    ) -> bool:
        """Store a device's write of ``texts`` to ``pin``; False when it was dropped.

        A pin without datastream and a value that does not parse are dropped silently, as the
        spec asks of device links (data-model.md §2.1); so is a write the database refused.
        """
        return await self.record_writes(bound, [(pin, texts)], origin=origin, ts=ts) == 1

    async def record_writes(
        self,
        bound: BoundDevice,
        writes: Iterable[tuple[Pin, Sequence[str]]],
        *,
        origin: str,
        ts: int | None,
    ) -> int:
        """Store consecutive writes of one device as one batch; return how many were stored.

        Each write is dropped or kept as ``record_write`` decides, and the kept ones go to
        ``Telemetry`` in one call: one timestamp (the writes arrived together), one group-commit
        wait and one ``ValuesChanged`` in their order, instead of one of each per write; a
        streaming device no longer waits for a commit per write (issue 4, bench/README.md).
        """
        template = bound.template
        kept: list[tuple[Datastream, Value]] = []
        for pin, texts in writes:
            try:
                datastream = template.datastream_at(pin)
                kept.append((datastream, parse_text(datastream, texts)))
            except (UnknownDatastream, ValueMismatch):
                continue
        if not kept:
            return 0
        try:
            await self._telemetry.record(bound.device, kept, origin=origin, ts=ts)
        except StorageUnavailable:
            pins = ",".join(datastream.pin.name for datastream, _ in kept)
            logger.warning("device.write_lost device_id=%d pin=%s", bound.device.id, pins)
            return 0
        return len(kept)

    def sync_values(
        self, bound: BoundDevice, pins: Sequence[Pin] | None
    ) -> list[tuple[Pin, tuple[str, ...]]]:
        """What a sync answers: ``(pin, texts)`` per datastream that has an effective value.

        ``pins`` None is ``syncAll``: virtual datastreams flagged "sync with latest server
        value", plus every digital and analog pin (data-model.md §2.12). Listed pins are
        answered whatever the flag says; pins without datastream or value produce nothing.
        """
        template = bound.template
        datastreams: list[Datastream]
        if pins is None:
            datastreams = [
                ds
                for ds in template.datastreams
                if ds.sync_with_latest or ds.pin.type is not PinType.VIRTUAL
            ]
        else:
            datastreams = []
            for pin in pins:
                try:
                    datastreams.append(template.datastream_at(pin))
                except UnknownDatastream:
                    continue
        answer = []
        for datastream in datastreams:
            value = self._telemetry.effective(bound.device.id, datastream)
            if value is not None:
                answer.append((datastream.pin, device_texts(value)))
        return answer

    async def set_property(
        self, bound: BoundDevice, pins: Sequence[Pin], name: str, values: Sequence[str]
    ) -> bool:
        """Set property ``name`` on every pin's datastream; False, storing nothing, when a pin
        has no datastream or the name or value is malformed (answered ILLEGAL_COMMAND_BODY)."""
        if not PROPERTY_NAME.fullmatch(name):
            return False
        try:
            datastreams = [bound.template.datastream_at(pin) for pin in pins]
            value = check_property(name, list(values))
        except (UnknownDatastream, ValueMismatch):
            return False
        for datastream in datastreams:
            await self._properties.set(bound.device, datastream, {name: value})
        return True

    async def log_event(
        self, bound: BoundDevice, code: str, description: str | None
    ) -> EventOutcome:
        """Log an occurrence of the template event ``code``; what became of it, for the
        transport to answer as automations.md §1.9 says."""
        event = bound.template.event(code)
        if event is None:
            return EventOutcome.UNKNOWN_CODE
        try:
            await self._events.log(bound.device, event, description)
        except EventDropped as dropped:
            logger.info("device.event_dropped device_id=%d reason=%s", bound.device.id, dropped)
            return EventOutcome.DROPPED
        except EventRejected as rejected:
            logger.info("device.event_refused device_id=%d reason=%s", bound.device.id, rejected)
            return EventOutcome.REFUSED
        return EventOutcome.LOGGED

    async def accept_notification(self, bound: BoundDevice, text: str) -> bool:
        """A legacy NOTIFY: checked as the legacy server did, then a push to the device's owner
        through the notification planner (its 5 s rule applies; the answer is OK either way)."""
        if len(text.encode("utf-16-le")) // 2 > MAX_NOTIFICATION_CHARS:
            return False
        if self._legacy is not None:
            await self._legacy.notify(bound.device, text)
        return True

    async def accept_email(
        self, bound: BoundDevice, to: str | None, subject: str, body: str
    ) -> None:
        """A legacy EMAIL: an e-mail to ``to`` (the owner when None) through the planner."""
        if self._legacy is not None:
            await self._legacy.email(bound.device, to=to, subject=subject, body=body)

    async def record_info(self, bound: BoundDevice, fields: Sequence[tuple[str, str]]) -> None:
        """Keep what the info message tells about the firmware as the device's hardware info
        (device-protocols.md §1.7.1); nothing is written when it did not change. Every info
        is announced (``DeviceInfoReported``): Blynk.Air evaluates its shipments on it."""
        info = {key: value[:MAX_INFO_CHARS] for key, value in fields}
        reported = HardwareInfo(
            version=info.get("mcu") or info.get("fw") or info.get("ncp"),
            fw_type=info.get("fw-type"),
            blynk_version=info.get("blynk") or info.get("ver"),
            board_type=info.get("dev"),
            build=info.get("build"),
            template_code=info.get("tmpl"),
        )
        current = self.current(bound)
        if current.device.hardware_info != reported:
            await self._metadata.record_hardware(current, reported)
        self._metadata.announce_firmware(current, reported)

    def read_metadata(self, bound: BoundDevice, name: str) -> str | None:
        """``meta get``: the field's value as text ("" when unset), None when no field matches."""
        try:
            reading = self._metadata.read(self.current(bound), name)
        except PinbaseError:
            return None
        return "" if reading.value is None else str(reading.value)

    async def write_metadata(self, bound: BoundDevice, name: str, value: str) -> bool:
        """``meta set``: False when the field is unknown, read-only, or the value does not fit."""
        try:
            await self._metadata.write(self.current(bound), name, value)
        except PinbaseError:
            return False
        return True

    def group_timestamp(self, requested_ms: int | None) -> int:
        """The timestamp shared by a write group: the given one when plausible, else now."""
        now = self._clock()
        if requested_ms is None or abs(requested_ms - now) > self._group_window_ms:
            return now
        return requested_ms

    def rtc_seconds(self) -> int:
        """``rtc sync``: local wall-clock seconds; devices have no time zone here, so UTC."""
        return self._clock() // 1000

    def utc_answer(self, query: str) -> TimeAnswer | None:
        """The values answering ``utc <query>`` in UTC, or None for a query not supported
        (``dst_next``: UTC has no transitions to tell)."""
        now = self._clock()
        if query == "time":
            return (str(now),)
        if query == "iso":
            moment = datetime.fromtimestamp(now // 1000, tz=UTC)
            return (moment.isoformat(),)
        if query == "tz":
            return ("0", "0")
        if query == "tz_name":
            return ("UTC",)
        if query == "tz_rule":
            return ("UTC0",)
        return None
