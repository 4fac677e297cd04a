"""Blynk.Air shipments: the use cases (create, start, pause, cancel, delete, read statuses) and
the evaluation that sends a firmware file to devices (device-lifecycle.md §1.6, §1.7).

Theory of operation. A device is evaluated at the points of §1.7: when it reports its firmware
(``DeviceInfoReported``, from the binary info message, MQTT ``info/mcu`` or DEV-12), when a
shipment starts or resumes (its online devices), and when a user asks to update one device. The
rules are pure (``domain.shipments``): ``conclude`` reads the report against an update under
way, ``decide`` says whether the file goes out. Sending is one ``DeviceCommanded`` of kind
``ota`` on the bus; the device's session, wherever it is connected, writes the binary INTERNAL
``ota`` or MQTT ``downlink/ota/json``.

Reports are evaluated by a task of their own (a queue), never inside a device's login, and only
on the node that received them (``DeviceInfoReported`` is subscribed local-only): once per
installation. Evaluations run one at a time (a lock), so a report and a shipment start never
interleave on one device's row. Downloads (``static/ota``) move the row to *New Firmware
Requested* at the GET and to *Firmware Downloaded* when the last byte is written, or to *Upload
failure* when the transfer broke off.
"""

import asyncio
import logging
import secrets
from dataclasses import dataclass, replace

from pinbase.domain.devices import HardwareInfo
from pinbase.domain.errors import PinbaseError
from pinbase.domain.ids import DeviceId, OrgId
from pinbase.domain.notifications import SYSTEM_OTA
from pinbase.domain.shipments import (
    DEFAULT_ATTEMPTS_LIMIT,
    DEFAULT_ATTEMPTS_RESET_S,
    Condition,
    DeviceShipment,
    DeviceStatus,
    Firmware,
    PreferredTime,
    ReportedFirmware,
    Send,
    Shipment,
    ShipmentState,
    TargetKind,
    conclude,
    decide,
)
from pinbase.domain.templates import SYSTEM_EVENTS
from pinbase.services.bus import Bus, DeviceCommanded, DeviceInfoReported, Unsubscribe
from pinbase.services.clock import Clock
from pinbase.services.directory import BoundDevice, Directory
from pinbase.services.events import EventLog, EventRejected
from pinbase.services.firmware import FirmwareNotFound, FirmwareStore
from pinbase.services.presence import Presence
from pinbase.services.queued_work import QueuedWork
from pinbase.services.scope import Scoped, device_in_scope, template_in_scope
from pinbase.storage.base import Store, Transaction

logger = logging.getLogger(__name__)

DOWNLOAD_TOKEN_BYTES = 24
"""24 random bytes are 32 URL-safe characters, the download token of §1.7."""
MAX_QUEUED = 100_000
"""Reports waiting for the evaluation task; past it a report is dropped (the device is
evaluated again at its next connect), so memory stays bounded when the database stalls."""
WINDOW_CHECK_S = 60.0
"""How often the leader looks for preferred-time windows that are open (§1.7: the start of each
window is an evaluation point); a device waits at most this long after its window opens."""
MAX_TARGET_DEVICES = 10_000
"""Devices a shipment may list by id; a larger fleet is shipped by template or tag."""


class ShipmentNotFound(PinbaseError):
    """No such shipment in the caller's scope; ``args[0]`` is the id asked for."""


class ShipmentRefused(PinbaseError):
    """A shipment request breaks a rule; ``args[0]`` says which, in words for the caller."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentRequest:
    """What a caller asks for when creating a shipment."""

    name: str
    template_id: int
    firmware_id: int
    target: TargetKind = TargetKind.TEMPLATE
    device_ids: tuple[int, ...] = ()
    tag_id: int | None = None
    condition: Condition = Condition.LOWER_VERSION
    preferred_time: PreferredTime = PreferredTime.ANY
    attempts_limit: int = DEFAULT_ATTEMPTS_LIMIT
    attempts_reset_s: int = DEFAULT_ATTEMPTS_RESET_S
    confirm_without_info: bool = False
    """A file without firmware info ships only with condition ``any`` and this confirmation."""
    start: bool = False
    """Start at once (otherwise the shipment waits as a draft)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceProgress:
    """One device's line in a shipment's status table."""

    device_id: DeviceId
    name: str
    row: DeviceShipment
    online: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Download:
    """A download a token authorised: the file to send and the row to update."""

    firmware: Firmware
    row: DeviceShipment


@dataclass(slots=True)
class _Outcome:
    commands: list[DeviceCommanded]
    events: list[tuple[DeviceId, str]]


class Shipments:
    """Blynk.Air shipments of every organization."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        bus: Bus,
        directory: Directory,
        presence: Presence,
        events: EventLog,
        firmware: FirmwareStore,
        download_base: str,
    ) -> None:
        """``download_base``: the scheme, host and port devices download from (§1.7)."""
        self._store = store
        self._clock = clock
        self._bus = bus
        self._directory = directory
        self._presence = presence
        self._events = events
        self.firmware = firmware
        self._base = download_base.rstrip("/")
        self._lock = asyncio.Lock()
        self._work = QueuedWork(
            self.handle_report, name="shipments", limit=MAX_QUEUED, describe=_describe
        )
        self._unsubscribe: Unsubscribe | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Evaluate firmware reports of devices connected to this node from now on."""
        self._unsubscribe = self._bus.subscribe(DeviceInfoReported, self._work.put)
        self._work.start()

    async def stop(self) -> None:
        """Evaluate what is queued, then end the task."""
        if self._unsubscribe is not None:
            self._unsubscribe()
        await self._work.stop()

    async def drain(self) -> None:
        """Wait until every queued report is evaluated (tests)."""
        await self._work.drain()

    # -- use cases -------------------------------------------------------------------------

    async def create(self, caller: Scoped, request: ShipmentRequest) -> Shipment:
        """A new shipment (a draft, or live with ``request.start``).

        Raises:
            TemplateNotFound, DeviceNotFound: outside the caller's scope.
            FirmwareNotFound: the firmware is missing or another organization's.
            ShipmentRefused: a rule is broken (name taken or invalid, devices of another
                template, a file without firmware info and no confirmation…).
        """
        template = await template_in_scope(self._directory, caller, request.template_id)
        firmware = await self.firmware.get(caller, request.firmware_id)
        if firmware.org_id != template.org_id:
            raise FirmwareNotFound(request.firmware_id)
        if firmware.tag is None and not (
            request.confirm_without_info and request.condition is Condition.ANY
        ):
            raise ShipmentRefused(
                "The file has no firmware info: ship it only with condition 'any' and "
                "confirmWithoutInfo set."
            )
        device_ids: tuple[DeviceId, ...] = ()
        if request.target is TargetKind.DEVICES:
            if len(request.device_ids) > MAX_TARGET_DEVICES:
                raise ShipmentRefused(f"A shipment lists at most {MAX_TARGET_DEVICES} devices.")
            for device_id in dict.fromkeys(request.device_ids):
                bound = await device_in_scope(self._directory, caller, device_id)
                if bound.device.template_id != template.id:
                    raise ShipmentRefused(f"Device {device_id} does not use the template.")
            device_ids = tuple(DeviceId(item) for item in dict.fromkeys(request.device_ids))
        now = self._clock()
        async with self._store.transaction() as tx:
            if request.target is TargetKind.TAG and not await self._tag_visible(
                tx, template.org_id, request.tag_id
            ):
                raise ShipmentRefused(f"Tag {request.tag_id} is not found.")
            if await tx.shipment_named(template.org_id, request.name) is not None:
                raise ShipmentRefused(f"A shipment named '{request.name}' exists already.")
            if not await tx.hold_firmware(firmware.id):  # deleted since it was read
                raise FirmwareNotFound(firmware.id)
            try:
                shipment = Shipment(
                    id=0,
                    org_id=template.org_id,
                    name=request.name,
                    template_id=template.id,
                    firmware_id=firmware.id,
                    state=ShipmentState.LIVE if request.start else ShipmentState.DRAFT,
                    target=request.target,
                    device_ids=device_ids,
                    tag_id=request.tag_id if request.target is TargetKind.TAG else None,
                    condition=request.condition,
                    preferred_time=request.preferred_time,
                    attempts_limit=request.attempts_limit,
                    attempts_reset_s=request.attempts_reset_s,
                    created_at=now,
                    started_at=now if request.start else None,
                )
            except ValueError as error:
                raise ShipmentRefused(str(error).capitalize() + ".") from None
            shipment = await tx.add_shipment(shipment)
        logger.info("shipment.created shipment_id=%d org_id=%d", shipment.id, shipment.org_id)
        if request.start:
            await self._evaluate_shipment(shipment)
        return shipment

    async def listing(self, caller: Scoped) -> list[Shipment]:
        """The shipments of the caller's own organization, newest first."""
        async with self._store.transaction() as tx:
            return await tx.list_shipments(caller.org_id)

    async def get(self, caller: Scoped, shipment_id: int) -> Shipment:
        """One shipment of the caller's scope.

        Raises:
            ShipmentNotFound: missing or outside the caller's scope.
        """
        async with self._store.transaction() as tx:
            shipment = await tx.get_shipment(shipment_id)
        if shipment is None or not caller.can_see(shipment.org_id):
            raise ShipmentNotFound(shipment_id)
        return shipment

    async def start_shipment(self, caller: Scoped, shipment_id: int) -> Shipment:
        """Start a draft or resume a paused shipment; its online devices are evaluated now.

        Raises:
            ShipmentNotFound, ShipmentRefused (a cancelled shipment cannot start again).
        """
        shipment = await self.get(caller, shipment_id)
        if shipment.state is ShipmentState.CANCELLED:
            raise ShipmentRefused("A cancelled shipment cannot start again.")
        if shipment.state is not ShipmentState.LIVE:
            now = self._clock()
            started = shipment.started_at if shipment.started_at is not None else now
            async with self._store.transaction() as tx:
                await tx.set_shipment_state(shipment.id, ShipmentState.LIVE, started_at=started)
            shipment = replace(shipment, state=ShipmentState.LIVE, started_at=started)
            logger.info("shipment.started shipment_id=%d", shipment.id)
        await self._evaluate_shipment(shipment)
        return shipment

    async def pause(self, caller: Scoped, shipment_id: int) -> Shipment:
        """Stop sending a live shipment's file until it resumes (downloads under way finish).

        Raises:
            ShipmentNotFound, ShipmentRefused (only a live shipment pauses).
        """
        return await self._move(caller, shipment_id, ShipmentState.PAUSED, {ShipmentState.LIVE})

    async def cancel(self, caller: Scoped, shipment_id: int) -> Shipment:
        """End a shipment for good; its download links stop working.

        Raises:
            ShipmentNotFound, ShipmentRefused (a cancelled one stays so).
        """
        allowed = {ShipmentState.DRAFT, ShipmentState.LIVE, ShipmentState.PAUSED}
        return await self._move(caller, shipment_id, ShipmentState.CANCELLED, allowed)

    async def delete(self, caller: Scoped, shipment_id: int) -> None:
        """Delete a shipment that is not live, with its devices' statuses.

        Raises:
            ShipmentNotFound, ShipmentRefused (a live shipment is cancelled or paused first).
        """
        shipment = await self.get(caller, shipment_id)
        if shipment.state is ShipmentState.LIVE:
            raise ShipmentRefused("A live shipment cannot be deleted: cancel it first.")
        async with self._lock, self._store.transaction() as tx:
            await tx.delete_shipment(shipment.id)
        logger.info("shipment.deleted shipment_id=%d", shipment.id)

    async def progress(self, caller: Scoped, shipment_id: int) -> list[DeviceProgress]:
        """Every targeted device with its status (*Pending* until first evaluated), by id.

        Raises:
            ShipmentNotFound: missing or outside the caller's scope.
        """
        shipment = await self.get(caller, shipment_id)
        async with self._store.transaction() as tx:
            rows = {row.device_id: row for row in await tx.list_device_shipments(shipment.id)}
            targeted = await self._targeted_ids(tx, shipment)
        lines = []
        for device_id in sorted(set(rows) | set(targeted)):
            bound = self._directory.by_id(device_id)
            if bound is None:
                continue
            row = rows.get(device_id) or DeviceShipment(
                shipment_id=shipment.id, device_id=device_id
            )
            lines.append(
                DeviceProgress(
                    device_id=device_id,
                    name=bound.device.name,
                    row=row,
                    online=self._presence.is_online(device_id),
                )
            )
        return lines

    async def update_device(self, caller: Scoped, shipment_id: int, device_id: int) -> None:
        """A user's "Update Firmware" on one device of a live shipment: its failed attempts are
        forgotten and it is evaluated at once (or when it next connects, if offline).

        Raises:
            ShipmentNotFound, DeviceNotFound, ShipmentRefused (not live, or not targeted).
        """
        shipment = await self.get(caller, shipment_id)
        bound = await device_in_scope(self._directory, caller, device_id)
        if shipment.state is not ShipmentState.LIVE:
            raise ShipmentRefused("Only a live shipment updates devices.")
        async with self._store.transaction() as tx:
            if not await self._targets(tx, shipment, bound):
                raise ShipmentRefused(f"Device {device_id} is not part of the shipment.")
            row = await tx.get_device_shipment(shipment.id, bound.device.id)
            if row is not None and not row.status.in_flight:
                reset = replace(row, attempts=0, attempts_since=None)
                if row.status is not DeviceStatus.SUCCESS:
                    reset = replace(reset, status=DeviceStatus.PENDING, reason=None)
                await tx.save_device_shipment(reset)
        await self._evaluate_device(bound, _reported(bound), report=False, only=shipment.id)

    async def open_windows(self) -> int:
        """Evaluate, in every live shipment with a preferred time whose window is open now, the
        online targeted devices still *Pending*; how many were evaluated. The leader runs it
        (``windows_forever``), so once per installation."""
        now = self._clock()
        evaluated = 0
        async with self._store.transaction() as tx:
            shipments = [
                shipment
                for shipment in await tx.live_shipments()
                if shipment.preferred_time is not PreferredTime.ANY
                and shipment.preferred_time.allows(now)
            ]
            waiting: list[tuple[Shipment, DeviceId]] = []
            for shipment in shipments:
                rows = {row.device_id: row for row in await tx.list_device_shipments(shipment.id)}
                for device_id in await self._targeted_ids(tx, shipment):
                    row = rows.get(device_id)
                    if row is None or row.status is DeviceStatus.PENDING:
                        waiting.append((shipment, device_id))
        for shipment, device_id in waiting:
            bound = self._directory.by_id(device_id)
            if bound is None or not self._presence.is_online(device_id):
                continue
            await self._evaluate_device(bound, _reported(bound), report=False, only=shipment.id)
            evaluated += 1
        return evaluated

    async def windows_forever(self) -> None:
        """``open_windows`` every ``WINDOW_CHECK_S`` until cancelled (a leader job)."""
        while True:
            try:
                await self.open_windows()
            except Exception:
                logger.exception("shipments.windows_failed")
            await asyncio.sleep(WINDOW_CHECK_S)

    # -- evaluation ------------------------------------------------------------------------

    async def handle_report(self, report: DeviceInfoReported) -> None:
        """Evaluate the live shipments of a device that reported its firmware."""
        bound = self._directory.by_id(report.device_id)
        if bound is None:
            return
        reported = ReportedFirmware(
            version=report.version,
            build=report.build,
            fw_type=report.fw_type,
            library_version=report.library_version,
        )
        await self._evaluate_device(
            bound, reported, report=True, fw_type=report.fw_type or report.template_code
        )

    async def _evaluate_shipment(self, shipment: Shipment) -> None:
        async with self._store.transaction() as tx:
            targeted = await self._targeted_ids(tx, shipment)
        for device_id in targeted:
            bound = self._directory.by_id(device_id)
            if bound is None or not self._presence.is_online(device_id):
                continue
            await self._evaluate_device(bound, _reported(bound), report=False, only=shipment.id)

    async def _evaluate_device(
        self,
        bound: BoundDevice,
        reported: ReportedFirmware,
        *,
        report: bool,
        only: int | None = None,
        fw_type: str | None = None,
    ) -> None:
        device = bound.device
        info = device.hardware_info
        device_fw_type = fw_type or reported.fw_type or info.template_code or bound.template.code
        outcome = _Outcome(commands=[], events=[])
        async with self._lock:
            now = self._clock()
            online = self._presence.is_online(device.id)
            async with self._store.transaction() as tx:
                shipments = await tx.list_shipments(device.org_id, state=ShipmentState.LIVE)
                busy = False
                for shipment in sorted(shipments, key=lambda item: item.id):
                    if only is not None and shipment.id != only:
                        continue
                    if not await self._targets(tx, shipment, bound):
                        continue
                    firmware = await tx.get_firmware(shipment.firmware_id)
                    if firmware is None:
                        continue
                    stored = await tx.get_device_shipment(shipment.id, device.id)
                    row = stored or DeviceShipment(
                        shipment_id=shipment.id, device_id=device.id, updated_at=now
                    )
                    concluded = conclude(row, reported, firmware, now=now) if report else row
                    self._note_conclusion(row, concluded, shipment, outcome)
                    if online and not busy and not concluded.status.in_flight:
                        verdict = decide(
                            shipment,
                            firmware,
                            concluded,
                            reported,
                            device_fw_type=device_fw_type,
                            now=now,
                            after_failure=concluded.status is not row.status
                            and concluded.status is DeviceStatus.UPLOAD_FAILURE,
                        )
                        concluded = verdict.row
                        if isinstance(verdict, Send):
                            concluded = self._sent(concluded, firmware, outcome)
                            outcome.events.append((device.id, f"OTA started: {shipment.name}"))
                    busy = busy or concluded.status.in_flight
                    if concluded != row or stored is None:
                        await tx.save_device_shipment(concluded)
        for command in outcome.commands:
            self._bus.publish(command)
        await self._log_events(bound, outcome.events)

    def _note_conclusion(
        self,
        before: DeviceShipment,
        after: DeviceShipment,
        shipment: Shipment,
        outcome: _Outcome,
    ) -> None:
        if after.status is before.status:
            return
        if after.status is DeviceStatus.SUCCESS:
            text = f"OTA success: {shipment.name}"
        elif after.status is DeviceStatus.ROLLBACK:
            text = f"OTA rollback: {shipment.name}"
        else:
            text = f"OTA failed: {shipment.name}: {after.reason}"
        outcome.events.append((after.device_id, text))
        logger.info(
            "shipment.device shipment_id=%d device_id=%d status=%s",
            shipment.id,
            after.device_id,
            after.status.value,
        )

    def _sent(self, row: DeviceShipment, firmware: Firmware, outcome: _Outcome) -> DeviceShipment:
        token = row.download_token or secrets.token_urlsafe(DOWNLOAD_TOKEN_BYTES)
        url = f"{self._base}/static/ota/{firmware.id}.{firmware.extension}?token={token}"
        tag = firmware.tag
        args = (
            url,
            str(firmware.size),
            (tag.fw_type if tag else None) or "",
            (tag.version if tag else None) or "",
            (tag.build if tag else None) or "",
        )
        outcome.commands.append(DeviceCommanded(device_id=row.device_id, kind="ota", args=args))
        logger.info("shipment.sent shipment_id=%d device_id=%d", row.shipment_id, row.device_id)
        return replace(row, download_token=token)

    async def _log_events(self, bound: BoundDevice, events: list[tuple[DeviceId, str]]) -> None:
        definition = SYSTEM_EVENTS[SYSTEM_OTA]
        for _device_id, description in events:
            try:
                await self._events.log(bound.device, definition, description[:300])
            except EventRejected as refused:
                logger.info(
                    "shipment.event_dropped device_id=%d reason=%s", bound.device.id, refused
                )

    async def _targets(self, tx: Transaction, shipment: Shipment, bound: BoundDevice) -> bool:
        device = bound.device
        if device.template_id != shipment.template_id or device.org_id != shipment.org_id:
            return False
        if shipment.target is TargetKind.DEVICES:
            return device.id in shipment.device_ids
        if shipment.target is TargetKind.TAG and shipment.tag_id is not None:
            return device.id in await tx.tagged_device_ids(shipment.tag_id)
        return True

    async def _targeted_ids(self, tx: Transaction, shipment: Shipment) -> list[DeviceId]:
        if shipment.target is TargetKind.DEVICES:
            return list(shipment.device_ids)
        if shipment.target is TargetKind.TAG and shipment.tag_id is not None:
            tagged = set(await tx.tagged_device_ids(shipment.tag_id))
        else:
            tagged = None
        return [
            bound.device.id
            for bound in self._directory.devices_of_template(shipment.template_id)
            if tagged is None or bound.device.id in tagged
        ]

    async def _tag_visible(self, tx: Transaction, org_id: OrgId, tag_id: int | None) -> bool:
        if tag_id is None:
            return False
        tags = await tx.list_tags(org_id)
        return any(tag.id == tag_id for tag in tags)

    async def _move(
        self,
        caller: Scoped,
        shipment_id: int,
        state: ShipmentState,
        allowed: set[ShipmentState],
    ) -> Shipment:
        shipment = await self.get(caller, shipment_id)
        if shipment.state is state:
            return shipment
        if shipment.state not in allowed:
            raise ShipmentRefused(f"A {shipment.state.value} shipment cannot become {state.value}.")
        async with self._store.transaction() as tx:
            await tx.set_shipment_state(shipment.id, state)
        logger.info("shipment.%s shipment_id=%d", state.value, shipment.id)
        return replace(shipment, state=state)

    # -- downloads -------------------------------------------------------------------------

    async def begin_download(
        self, firmware_id: int, token: str, *, mark: bool = True
    ) -> Download | None:
        """The file a download token authorises (None: unknown token, another file, or a
        cancelled or deleted shipment); with ``mark``, the row of a device whose update is
        under way moves to *New Firmware Requested*."""
        async with self._lock, self._store.transaction() as tx:
            row = await tx.device_shipment_by_token(token)
            if row is None:
                return None
            shipment = await tx.get_shipment(row.shipment_id)
            if (
                shipment is None
                or shipment.firmware_id != firmware_id
                or shipment.state is ShipmentState.CANCELLED
            ):
                return None
            firmware = await tx.get_firmware(firmware_id)
            if firmware is None:
                return None
            if mark and row.status.in_flight:
                row = replace(
                    row,
                    status=DeviceStatus.FIRMWARE_REQUESTED,
                    reason=None,
                    updated_at=self._clock(),
                )
                await tx.save_device_shipment(row)
        logger.info("shipment.download shipment_id=%d device_id=%d", row.shipment_id, row.device_id)
        return Download(firmware=firmware, row=row)

    async def end_download(
        self, download: Download, *, sent: int, start: int = 0, end: int | None = None
    ) -> None:
        """Record how a download ended: the whole file written (*Firmware Downloaded*) or not
        (*Upload failure*, one failed attempt more).

        A ``Range`` request (bytes ``start`` to ``end`` exclusive, ``sent`` of them written) that
        ends at the file's end completes it when written whole; one that ends before is a part
        the device asks for on purpose, and changes nothing unless it broke off."""
        firmware, key = download.firmware, download.row
        outcome = _Outcome(commands=[], events=[])
        async with self._lock, self._store.transaction() as tx:
            row = await tx.get_device_shipment(key.shipment_id, key.device_id)
            shipment = await tx.get_shipment(key.shipment_id)
            if row is None or shipment is None or row.status is not DeviceStatus.FIRMWARE_REQUESTED:
                return
            now = self._clock()
            end = firmware.size if end is None else end
            if start + sent >= firmware.size:
                changed = replace(row, status=DeviceStatus.FIRMWARE_DOWNLOADED, updated_at=now)
            elif start + sent >= end:
                return  # a whole part that stops short of the end: the device asks for more
            else:
                changed = replace(
                    row,
                    status=DeviceStatus.UPLOAD_FAILURE,
                    reason=f"the download broke off after {start + sent} of {firmware.size} bytes",
                    attempts=row.attempts + 1,
                    attempts_since=row.attempts_since if row.attempts_since is not None else now,
                    updated_at=now,
                )
                self._note_conclusion(row, changed, shipment, outcome)
            await tx.save_device_shipment(changed)
        bound = self._directory.by_id(key.device_id)
        if bound is not None:
            await self._log_events(bound, outcome.events)


def _reported(bound: BoundDevice) -> ReportedFirmware:
    info: HardwareInfo = bound.device.hardware_info
    return ReportedFirmware(
        version=info.version,
        build=info.build,
        fw_type=info.fw_type,
        library_version=info.blynk_version,
    )


def _describe(report: DeviceInfoReported) -> str:
    return f"device_id={report.device_id}"
