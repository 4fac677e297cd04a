"""Blynk.Air shipments: firmware files, shipments and each device's status in one, and the rules
that move a device from one status to the next (device-lifecycle.md §1.6, §1.7).

Theory of operation. A shipment is evaluated for one device at the evaluation points of §1.7
(the device reported its firmware; the shipment started or resumed; a user asked). ``conclude``
first reads what the report says about an update already under way (success, failure,
rollback); ``decide`` then says whether the file goes out now, or which status explains why
not. Both are pure: the service (``services.shipments``) stores what they return and sends the
command.
"""

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from pinbase.domain.firmware_tags import (
    FirmwareTag,
    is_earlier_build,
    is_lower_version,
    is_other_build,
    normalise_build,
)
from pinbase.domain.ids import DeviceId, OrgId, TemplateId

MAX_SHIPMENT_NAME_CHARS = 40
"""Shipment names are unique per organization and at most 40 characters (§1.6)."""
MAX_FILENAME_CHARS = 255
DEFAULT_ATTEMPTS_LIMIT = 3
"""Failed attempts before *Download limit reached* (§1.6: 3 per 24 h)."""
DEFAULT_ATTEMPTS_RESET_S = 86_400
MAX_ATTEMPTS_LIMIT = 100
MAX_ATTEMPTS_RESET_S = 31 * 86_400
REQUEST_TIMEOUT_MS = 10 * 60_000
"""No GET within 10 min of *Request sent*: the file goes out again at the next connect (§1.7)."""

_EXTENSION = re.compile(r"\.(tar\.gz|tgz|bin|tar|ya?ml|gz|zip|hex|elf|ota)$", re.IGNORECASE)


class ShipmentState(StrEnum):
    """Where a shipment is in its life (§1.6: Live → Cancel, Pause; Canceled → Delete)."""

    DRAFT = "draft"
    LIVE = "live"
    PAUSED = "paused"
    CANCELLED = "cancelled"


class DeviceStatus(StrEnum):
    """A device's status in one shipment (§1.6 table, §1.7 Transitions)."""

    PENDING = "pending"
    STARTED = "started"
    REQUEST_SENT = "request_sent"
    FIRMWARE_REQUESTED = "firmware_requested"
    FIRMWARE_DOWNLOADED = "firmware_downloaded"
    SUCCESS = "success"
    UPLOAD_FAILURE = "upload_failure"
    DOWNLOAD_LIMIT_REACHED = "download_limit_reached"
    ROLLBACK = "rollback"
    TYPE_MISMATCH = "type_mismatch"
    VERSION_MISMATCH = "version_mismatch"

    @property
    def label(self) -> str:
        """The console's wording (``AIR/device-shipment-statues.md``)."""
        return STATUS_LABELS[self]

    @property
    def in_flight(self) -> bool:
        """The file went out and the device has not come back yet."""
        return self in IN_FLIGHT


STATUS_LABELS = {
    DeviceStatus.PENDING: "Pending",
    DeviceStatus.STARTED: "Firmware Shipment Process Started",
    DeviceStatus.REQUEST_SENT: "Request sent",
    DeviceStatus.FIRMWARE_REQUESTED: "New Firmware Requested",
    DeviceStatus.FIRMWARE_DOWNLOADED: "Firmware Downloaded",
    DeviceStatus.SUCCESS: "Success",
    DeviceStatus.UPLOAD_FAILURE: "Upload failure",
    DeviceStatus.DOWNLOAD_LIMIT_REACHED: "Download limit reached",
    DeviceStatus.ROLLBACK: "Rollback",
    DeviceStatus.TYPE_MISMATCH: "Firmware type mismatch",
    DeviceStatus.VERSION_MISMATCH: "Firmware version mismatch",
}
IN_FLIGHT = frozenset(
    {
        DeviceStatus.STARTED,
        DeviceStatus.REQUEST_SENT,
        DeviceStatus.FIRMWARE_REQUESTED,
        DeviceStatus.FIRMWARE_DOWNLOADED,
    }
)


class Condition(StrEnum):
    """ "Apply update if the device has" (§1.6)."""

    LOWER_VERSION = "lower_version"
    EARLIER_BUILD = "earlier_build"
    OTHER_BUILD = "other_build"
    LOWER_LIBRARY = "lower_library"
    ANY = "any"
    """Pinbase's own: every device, for a file without firmware info (§1.2 Recommendation);
    the shipment needs an explicit confirmation."""


class PreferredTime(StrEnum):
    """When devices are updated (§1.6), in UTC: Pinbase devices have no time zone yet."""

    ANY = "any"
    NIGHT = "night"
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"

    def allows(self, ts_ms: int) -> bool:
        """Whether the moment ``ts_ms`` lies inside the window."""
        if self is PreferredTime.ANY:
            return True
        start = _WINDOW_START[self]
        hour = datetime.fromtimestamp(ts_ms / 1000, tz=UTC).hour
        return start <= hour < start + 6


_WINDOW_START = {
    PreferredTime.NIGHT: 0,
    PreferredTime.MORNING: 6,
    PreferredTime.AFTERNOON: 12,
    PreferredTime.EVENING: 18,
}


class TargetKind(StrEnum):
    """Which devices a shipment reaches: every device of its template (also those added
    later), the listed devices, or the devices carrying a tag."""

    TEMPLATE = "template"
    DEVICES = "devices"
    TAG = "tag"


@dataclass(frozen=True, slots=True, kw_only=True)
class Firmware:
    """An uploaded firmware file; the bytes live in the data folder (§1.7 Firmware store)."""

    id: int
    org_id: OrgId
    filename: str
    size: int
    md5: str
    """Lower-case hex, as the ``x-md5`` header."""
    sha256: str
    """Base64, as the ``x-sha256`` header."""
    tag: FirmwareTag | None
    uploaded_at: int

    @property
    def extension(self) -> str:
        """The download URL's extension: the file's own when known, else ``bin``."""
        found = _EXTENSION.search(self.filename)
        return found.group(1).lower() if found else "bin"


def check_filename(filename: str) -> str:
    """The name kept for an upload: its last path part, trimmed.

    Raises:
        ValueError: empty, too long, or holding control characters.
    """
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or len(name) > MAX_FILENAME_CHARS:
        raise ValueError(f"file name must be 1..{MAX_FILENAME_CHARS} characters")
    if any(ord(char) < 32 for char in name):
        raise ValueError("file name must not contain control characters")
    return name


@dataclass(frozen=True, slots=True, kw_only=True)
class Shipment:
    """A shipment of one firmware file to devices of one template."""

    id: int
    org_id: OrgId
    name: str
    template_id: TemplateId
    firmware_id: int
    state: ShipmentState
    target: TargetKind
    device_ids: tuple[DeviceId, ...] = ()
    tag_id: int | None = None
    condition: Condition = Condition.LOWER_VERSION
    preferred_time: PreferredTime = PreferredTime.ANY
    attempts_limit: int = DEFAULT_ATTEMPTS_LIMIT
    attempts_reset_s: int = DEFAULT_ATTEMPTS_RESET_S
    created_at: int = 0
    started_at: int | None = None

    def __post_init__(self) -> None:
        check_shipment_name(self.name)
        if not 1 <= self.attempts_limit <= MAX_ATTEMPTS_LIMIT:
            raise ValueError(f"attempts limit must be 1..{MAX_ATTEMPTS_LIMIT}")
        if not 60 <= self.attempts_reset_s <= MAX_ATTEMPTS_RESET_S:
            raise ValueError(f"attempts reset period must be 60..{MAX_ATTEMPTS_RESET_S} seconds")
        if self.target is TargetKind.DEVICES and not self.device_ids:
            raise ValueError("a shipment to chosen devices needs at least one device")
        if self.target is TargetKind.TAG and self.tag_id is None:
            raise ValueError("a shipment to a tag needs the tag")


def check_shipment_name(name: str) -> str:
    """``name`` when it is a valid shipment name.

    Raises:
        ValueError: empty, longer than 40 characters, or holding control characters.
    """
    if not name.strip() or len(name) > MAX_SHIPMENT_NAME_CHARS:
        raise ValueError(f"shipment name must be 1..{MAX_SHIPMENT_NAME_CHARS} characters")
    if any(ord(char) < 32 for char in name):
        raise ValueError("shipment name must not contain control characters")
    return name


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceShipment:
    """One device's progress in one shipment.

    ``attempts`` counts failed attempts since ``attempts_since``; ``from_version`` and
    ``from_build`` are what the device ran when the file went out (for success without a tag
    and for rollback); ``download_token`` authorises the download (§1.7 Download URL).
    """

    shipment_id: int
    device_id: DeviceId
    status: DeviceStatus = DeviceStatus.PENDING
    reason: str | None = None
    download_token: str | None = None
    attempts: int = 0
    attempts_since: int | None = None
    sent_at: int | None = None
    updated_at: int = 0
    from_version: str | None = None
    from_build: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportedFirmware:
    """What a device said about its firmware (info message, ``info/mcu``, DEV-12)."""

    version: str | None = None
    build: str | None = None
    fw_type: str | None = None
    library_version: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Send:
    """``decide``'s answer: send the file now; ``row`` is the device's row to store with it."""

    row: DeviceShipment


@dataclass(frozen=True, slots=True, kw_only=True)
class Hold:
    """``decide``'s answer: do not send; store ``row`` (unchanged when nothing is to say)."""

    row: DeviceShipment


def conclude(
    row: DeviceShipment, reported: ReportedFirmware, firmware: Firmware, *, now: int
) -> DeviceShipment:
    """What a device's firmware report means for an update under way (§1.7 Transitions).

    In flight and back with the file's version (and build, when both are known): *Success*.
    In flight and back with anything else: *Upload failure* with the reason, one attempt more.
    After *Success*, back with the version it had before: *Rollback*. Otherwise unchanged.
    """
    if row.status.in_flight:
        if _runs_shipped(reported, firmware, row):
            return replace(row, status=DeviceStatus.SUCCESS, reason=None, updated_at=now)
        since = row.attempts_since if row.attempts_since is not None else now
        return replace(
            row,
            status=DeviceStatus.UPLOAD_FAILURE,
            reason=_failure_reason(row, reported),
            attempts=row.attempts + 1,
            attempts_since=since,
            updated_at=now,
        )
    if (
        row.status is DeviceStatus.SUCCESS
        and row.from_version is not None
        and reported.version == row.from_version
        and not _runs_shipped(reported, firmware, row)
    ):
        return replace(
            row,
            status=DeviceStatus.ROLLBACK,
            reason=f"the device went back to version {row.from_version}",
            updated_at=now,
        )
    return row


def decide(
    shipment: Shipment,
    firmware: Firmware,
    row: DeviceShipment,
    reported: ReportedFirmware,
    *,
    device_fw_type: str | None,
    now: int,
    after_failure: bool = False,
) -> Send | Hold:
    """Whether the file goes out to a device now (§1.7 Eligibility); the device is online.

    ``after_failure``: this very report concluded a failed attempt, which is retried at the
    next evaluation, not at once, so that the failure stays visible until then.
    """
    if row.status in (DeviceStatus.SUCCESS, DeviceStatus.ROLLBACK) or row.status.in_flight:
        return Hold(row=row)
    if after_failure or not shipment.preferred_time.allows(now):
        return Hold(row=row)
    tag = firmware.tag
    if tag is not None and tag.fw_type is not None and device_fw_type != tag.fw_type:
        return Hold(
            row=_with(
                row,
                DeviceStatus.TYPE_MISMATCH,
                f"the file is for {tag.fw_type}, the device runs {device_fw_type or 'no type'}",
                now,
            )
        )
    if not _condition_holds(shipment.condition, tag, reported):
        return Hold(
            row=_with(
                row, DeviceStatus.VERSION_MISMATCH, _mismatch_reason(shipment, tag, reported), now
            )
        )
    attempts, since = row.attempts, row.attempts_since
    if since is not None and now - since >= shipment.attempts_reset_s * 1000:
        attempts, since = 0, None
    if attempts >= shipment.attempts_limit:
        return Hold(
            row=_with(
                replace(row, attempts=attempts, attempts_since=since),
                DeviceStatus.DOWNLOAD_LIMIT_REACHED,
                f"{attempts} failed attempts; the next try is after the reset period",
                now,
            )
        )
    sent = replace(
        row,
        status=DeviceStatus.REQUEST_SENT,
        reason=None,
        attempts=attempts,
        attempts_since=since,
        sent_at=now,
        updated_at=now,
        from_version=reported.version,
        from_build=reported.build,
    )
    return Send(row=sent)


def _with(row: DeviceShipment, status: DeviceStatus, reason: str, now: int) -> DeviceShipment:
    if row.status is status and row.reason == reason:
        return row
    return replace(row, status=status, reason=reason, updated_at=now)


def _condition_holds(
    condition: Condition, tag: FirmwareTag | None, reported: ReportedFirmware
) -> bool:
    if condition is Condition.ANY:
        return True
    if tag is None:
        return False
    if condition is Condition.LOWER_VERSION:
        return is_lower_version(reported.version, tag.version)
    if condition is Condition.EARLIER_BUILD:
        return is_earlier_build(reported.build, tag.build)
    if condition is Condition.OTHER_BUILD:
        return is_other_build(reported.build, tag.build)
    return is_lower_version(reported.library_version, tag.library_version)


def _mismatch_reason(
    shipment: Shipment, tag: FirmwareTag | None, reported: ReportedFirmware
) -> str:
    if tag is None:
        return "the file has no firmware info to compare with"
    if shipment.condition is Condition.LOWER_VERSION:
        return f"the device runs {reported.version or '0.0.0'}, the file is {tag.version}"
    if shipment.condition is Condition.LOWER_LIBRARY:
        return (
            f"the device's library is {reported.library_version or 'unknown'},"
            f" the file's is {tag.library_version}"
        )
    return f"the device's build is {reported.build or 'unknown'}, the file's is {tag.build}"


def _runs_shipped(reported: ReportedFirmware, firmware: Firmware, row: DeviceShipment) -> bool:
    tag = firmware.tag
    if tag is None or tag.version is None:
        # No firmware info: any other version or build than before counts as the new one.
        return (reported.version, reported.build) != (row.from_version, row.from_build)
    if reported.version != tag.version:
        return False
    if tag.build is None or reported.build is None:
        return True
    return normalise_build(reported.build) == tag.build


def _failure_reason(row: DeviceShipment, reported: ReportedFirmware) -> str:
    back = f"the device came back with version {reported.version or 'unknown'}"
    if row.status is DeviceStatus.FIRMWARE_DOWNLOADED:
        return f"{back} after downloading the file"
    if row.status is DeviceStatus.FIRMWARE_REQUESTED:
        return row.reason or f"{back}; the download did not complete"
    return f"{back} without downloading the file"
