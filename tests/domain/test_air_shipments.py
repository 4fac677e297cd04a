"""Blynk.Air shipment rules: eligibility, transitions, rollback (device-lifecycle.md §1.6, §1.7)."""

from dataclasses import replace

import pytest

from pinbase.domain.firmware_tags import FirmwareTag
from pinbase.domain.ids import DeviceId, OrgId, TemplateId
from pinbase.domain.shipments import (
    Condition,
    DeviceShipment,
    DeviceStatus,
    Firmware,
    Hold,
    PreferredTime,
    ReportedFirmware,
    Send,
    Shipment,
    ShipmentState,
    TargetKind,
    check_filename,
    check_shipment_name,
    conclude,
    decide,
)

HOUR_MS = 3_600_000
TAG = FirmwareTag(
    pairs=(
        ("mcu", "1.0.1"),
        ("fw-type", "TMPL1"),
        ("build", "Mar  5 2024 18:29:27"),
        ("blynk", "1.3.2"),
    )
)
FIRMWARE = Firmware(
    id=7,
    org_id=OrgId(1),
    filename="sketch.ino.bin",
    size=1000,
    md5="0" * 32,
    sha256="x",
    tag=TAG,
    uploaded_at=0,
)
SHIPMENT = Shipment(
    id=3,
    org_id=OrgId(1),
    name="Spring update",
    template_id=TemplateId(2),
    firmware_id=7,
    state=ShipmentState.LIVE,
    target=TargetKind.TEMPLATE,
)
OLD = ReportedFirmware(version="1.0.0", build="Mar 01 2024 10:00:00", fw_type="TMPL1")
NEW = ReportedFirmware(version="1.0.1", build="Mar 05 2024 18:29:27", fw_type="TMPL1")
ROW = DeviceShipment(shipment_id=3, device_id=DeviceId(9))


def _decide(row: DeviceShipment = ROW, **changes: object) -> Send | Hold:
    shipment = replace(SHIPMENT, **changes)  # type: ignore[arg-type]
    return decide(shipment, FIRMWARE, row, OLD, device_fw_type="TMPL1", now=10 * HOUR_MS)


def test_an_older_device_of_the_right_type_is_sent_the_file() -> None:
    """Lower version, same type, no failures: Send, Request sent, old version remembered."""
    verdict = _decide()
    assert isinstance(verdict, Send)
    assert verdict.row.status is DeviceStatus.REQUEST_SENT
    assert verdict.row.from_version == "1.0.0"
    assert verdict.row.sent_at == 10 * HOUR_MS


def test_type_mismatch_and_version_mismatch_hold_with_a_reason() -> None:
    """Another firmware type, or a device already as new: held, with the status saying why."""
    other = decide(SHIPMENT, FIRMWARE, ROW, OLD, device_fw_type="TMPL9", now=0)
    assert isinstance(other, Hold)
    assert other.row.status is DeviceStatus.TYPE_MISMATCH
    assert "TMPL9" in (other.row.reason or "")
    same = decide(SHIPMENT, FIRMWARE, ROW, NEW, device_fw_type="TMPL1", now=0)
    assert same.row.status is DeviceStatus.VERSION_MISMATCH
    assert same.row.reason == "the device runs 1.0.1, the file is 1.0.1"
    again = decide(SHIPMENT, FIRMWARE, same.row, NEW, device_fw_type="TMPL1", now=5)
    assert again.row is same.row


@pytest.mark.parametrize(
    ("condition", "reported", "sent"),
    [
        (Condition.EARLIER_BUILD, OLD, True),
        (Condition.EARLIER_BUILD, NEW, False),
        (Condition.OTHER_BUILD, NEW, False),
        (Condition.OTHER_BUILD, OLD, True),
        (Condition.LOWER_LIBRARY, ReportedFirmware(library_version="1.0.0"), True),
        (Condition.LOWER_LIBRARY, ReportedFirmware(library_version="1.3.2"), False),
        (Condition.ANY, NEW, True),
    ],
)
def test_each_condition_decides(
    condition: Condition, reported: ReportedFirmware, sent: bool
) -> None:
    """Every "apply update if the device has" choice compares its own facts."""
    shipment = replace(SHIPMENT, condition=condition)
    verdict = decide(shipment, FIRMWARE, ROW, reported, device_fw_type="TMPL1", now=0)
    assert isinstance(verdict, Send) is sent
    if not sent:
        assert verdict.row.reason


def test_a_file_without_info_ships_only_with_condition_any() -> None:
    """No tag: no type check; only ``any`` holds, the others explain there is nothing to compare."""
    bare = replace(FIRMWARE, tag=None)
    verdict = decide(SHIPMENT, bare, ROW, OLD, device_fw_type=None, now=0)
    assert verdict.row.reason == "the file has no firmware info to compare with"
    anyway = decide(
        replace(SHIPMENT, condition=Condition.ANY), bare, ROW, OLD, device_fw_type=None, now=0
    )
    assert isinstance(anyway, Send)


def test_attempts_limit_holds_until_the_reset_period_passed() -> None:
    """Three failures within 24 h: Download limit reached; after the period: sent again."""
    failed = replace(
        ROW, status=DeviceStatus.UPLOAD_FAILURE, attempts=3, attempts_since=9 * HOUR_MS
    )
    held = _decide(failed)
    assert held.row.status is DeviceStatus.DOWNLOAD_LIMIT_REACHED
    later = decide(SHIPMENT, FIRMWARE, failed, OLD, device_fw_type="TMPL1", now=40 * HOUR_MS)
    assert isinstance(later, Send)
    assert later.row.attempts == 0


def test_preferred_time_windows_are_utc_quarters_of_the_day() -> None:
    """Night 00-06, Morning 06-12, Afternoon 12-18, Evening 18-24; Any always."""
    assert PreferredTime.NIGHT.allows(5 * HOUR_MS)
    assert not PreferredTime.NIGHT.allows(6 * HOUR_MS)
    assert PreferredTime.MORNING.allows(6 * HOUR_MS)
    assert PreferredTime.EVENING.allows(23 * HOUR_MS)
    assert PreferredTime.ANY.allows(0)
    held = _decide(preferred_time=PreferredTime.AFTERNOON)
    assert isinstance(held, Hold)
    assert held.row is ROW


def test_final_and_in_flight_rows_and_fresh_failures_are_not_sent_again() -> None:
    """Success, Rollback, an update under way, or a failure this very report concluded: Hold."""
    for status in (DeviceStatus.SUCCESS, DeviceStatus.ROLLBACK, DeviceStatus.REQUEST_SENT):
        assert isinstance(_decide(replace(ROW, status=status)), Hold)
    fresh = decide(SHIPMENT, FIRMWARE, ROW, OLD, device_fw_type="TMPL1", now=0, after_failure=True)
    assert isinstance(fresh, Hold)


def test_back_with_the_new_version_is_success() -> None:
    """In flight, then the tag's version and build (build padded either way): Success."""
    sent = replace(ROW, status=DeviceStatus.FIRMWARE_DOWNLOADED, from_version="1.0.0")
    done = conclude(sent, NEW, FIRMWARE, now=5)
    assert done.status is DeviceStatus.SUCCESS
    no_build = conclude(sent, replace(NEW, build=None), FIRMWARE, now=5)
    assert no_build.status is DeviceStatus.SUCCESS
    other_build = conclude(sent, replace(NEW, build="Jan 01 2020"), FIRMWARE, now=5)
    assert other_build.status is DeviceStatus.UPLOAD_FAILURE


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (DeviceStatus.REQUEST_SENT, "without downloading the file"),
        (DeviceStatus.FIRMWARE_REQUESTED, "the download did not complete"),
        (DeviceStatus.FIRMWARE_DOWNLOADED, "after downloading the file"),
    ],
)
def test_back_with_the_old_version_is_upload_failure(status: DeviceStatus, reason: str) -> None:
    """In flight, then the old version: Upload failure, one attempt more, reason by stage."""
    failed = conclude(replace(ROW, status=status), OLD, FIRMWARE, now=5)
    assert failed.status is DeviceStatus.UPLOAD_FAILURE
    assert failed.attempts == 1
    assert failed.attempts_since == 5
    assert reason in (failed.reason or "")


def test_rollback_after_success_and_nothing_otherwise() -> None:
    """Success, then the version it had before: Rollback; a pending row is unchanged."""
    done = replace(ROW, status=DeviceStatus.SUCCESS, from_version="1.0.0")
    assert conclude(done, OLD, FIRMWARE, now=5).status is DeviceStatus.ROLLBACK
    assert conclude(done, NEW, FIRMWARE, now=5) is done
    assert conclude(ROW, OLD, FIRMWARE, now=5) is ROW


def test_without_info_success_is_any_change_of_version_or_build() -> None:
    """A file without tag: back with another version or build than before is Success."""
    bare = replace(FIRMWARE, tag=None)
    sent = replace(
        ROW, status=DeviceStatus.REQUEST_SENT, from_version="1.0.0", from_build=OLD.build
    )
    assert conclude(sent, NEW, bare, now=1).status is DeviceStatus.SUCCESS
    assert conclude(sent, OLD, bare, now=1).status is DeviceStatus.UPLOAD_FAILURE


def test_values_validate_names_targets_and_limits() -> None:
    """Names ≤ 40 characters, devices or tag for those targets, bounded attempts."""
    assert check_shipment_name("x" * 40) == "x" * 40
    for bad in ("", " ", "x" * 41, "a\nb"):
        with pytest.raises(ValueError, match="shipment name"):
            check_shipment_name(bad)
    with pytest.raises(ValueError, match="at least one device"):
        replace(SHIPMENT, target=TargetKind.DEVICES)
    with pytest.raises(ValueError, match="needs the tag"):
        replace(SHIPMENT, target=TargetKind.TAG)
    with pytest.raises(ValueError, match="attempts limit"):
        replace(SHIPMENT, attempts_limit=0)
    with pytest.raises(ValueError, match="reset period"):
        replace(SHIPMENT, attempts_reset_s=1)


def test_file_names_and_extensions() -> None:
    """The last path part is kept; the URL's extension is the file's own, else ``bin``."""
    assert check_filename("C:\\build\\fw.tar.gz") == "fw.tar.gz"
    assert replace(FIRMWARE, filename="fw.TAR.GZ").extension == "tar.gz"
    assert replace(FIRMWARE, filename="firmware").extension == "bin"
    assert DeviceStatus.UPLOAD_FAILURE.label == "Upload failure"
    for bad in ("", "x" * 256, "a\x00b"):
        with pytest.raises(ValueError, match="file name"):
            check_filename(bad)
