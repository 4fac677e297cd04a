"""The ``blnkinf`` firmware info tag and version/build comparison (device-lifecycle.md §1.2)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pinbase.domain.firmware_tags import (
    MAX_TAG_PAIRS,
    MAX_TAG_TEXT,
    FirmwareTag,
    build_key,
    find_tag,
    is_earlier_build,
    is_lower_version,
    is_other_build,
    normalise_build,
    version_key,
)

ARDUINO_BLOCK = (
    b"blnkinf\x00mcu\x001.0.1\x00fw-type\x00TMPL12345\x00build\x00Mar  5 2024 18:29:27\x00"
    b"blynk\x001.3.2\x00h-beat\x0045\x00buff-in\x001024\x00dev\x00ESP32\x00\x00"
)


def test_tag_is_found_anywhere_in_the_file_with_its_pairs_in_order() -> None:
    """The tag inside a binary yields every pair, unknown keys included, in file order."""
    tag = find_tag(b"\x7fELF\x00\x01garbage" + ARDUINO_BLOCK + b"\xff\xfe tail")
    assert tag is not None
    assert tag.pairs[0] == ("mcu", "1.0.1")
    assert ("h-beat", "45") in tag.pairs
    assert tag.get("dev") == "ESP32"
    assert tag.version == "1.0.1"
    assert tag.fw_type == "TMPL12345"
    assert tag.library_version == "1.3.2"
    assert tag.build == "Mar 05 2024 18:29:27"


def test_file_without_tag_has_none() -> None:
    """No marker, or a marker without the closing double NUL: no tag."""
    assert find_tag(b"just bytes") is None
    assert find_tag(b"blnkinf\x00mcu\x001.0\x00\xff") is None


def test_ncp_and_ver_keys_stand_in_for_mcu_and_blynk() -> None:
    """NCP builds carry ``ncp``; old and Linux builds ``ver`` for the library."""
    tag = find_tag(b"blnkinf\x00ncp\x002.0.0\x00ver\x000.6.1\x00\x00")
    assert tag is not None
    assert tag.version == "2.0.0"
    assert tag.library_version == "0.6.1"
    assert tag.fw_type is None
    assert tag.build is None
    assert tag.get("missing") is None


def test_pairs_are_bounded_in_number_and_length() -> None:
    """A huge matching block keeps at most MAX_TAG_PAIRS pairs of MAX_TAG_TEXT characters."""
    block = b"".join(b"k%d\x00%s\x00" % (i, b"v" * 300) for i in range(MAX_TAG_PAIRS + 5))
    tag = find_tag(b"blnkinf\x00" + block + b"\x00")
    assert tag is not None
    assert len(tag.pairs) == MAX_TAG_PAIRS
    assert len(tag.pairs[0][1]) == MAX_TAG_TEXT
    with pytest.raises(ValueError, match="at most"):
        FirmwareTag(pairs=(("a", "b"),) * (MAX_TAG_PAIRS + 1))


def test_empty_key_ends_the_pairs() -> None:
    """A pair with an empty key closes the tag early (what follows is not pairs)."""
    tag = find_tag(b"blnkinf\x00mcu\x001\x00\x00\x00")
    assert tag is not None
    assert tag.pairs == (("mcu", "1"),)
    dangling = find_tag(b"blnkinf\x00key\x00\x00")
    assert dangling is not None
    assert dangling.pairs == (("key", ""),)


@given(st.binary(max_size=512))
def test_random_bytes_never_break_the_parser(data: bytes) -> None:
    """Any bytes give a tag or None, never an exception."""
    found = find_tag(data)
    assert found is None or isinstance(found, FirmwareTag)


def test_build_normalisation_pads_the_day() -> None:
    """C's space-padded day and the docs' zero-padded day are one build."""
    assert normalise_build("Mar  5 2024 18:29:27") == "Mar 05 2024 18:29:27"
    assert normalise_build("Mar 05 2024") == "Mar 05 2024"
    assert normalise_build("  build 7 ") == "build 7"


def test_build_key_orders_dates_and_rejects_other_text() -> None:
    """Build dates sort by time; a month name that is not one, or free text, has no key."""
    assert build_key("Mar  5 2024 18:29:27") == (2024, 3, 5, 18, 29, 27)
    assert build_key("Dec 31 2023") == (2023, 12, 31, 0, 0, 0)
    assert build_key("Xyz 05 2024") is None
    assert build_key("yesterday") is None


def test_semantic_versions_compare_numerically_with_suffixes_lower() -> None:
    """1.10 > 1.9; missing parts are 0; a suffix sorts below the release; text sorts lowest."""
    assert version_key("1.10.0") > version_key("1.9.9")
    assert version_key("1.2") == version_key("1.2.0")
    assert version_key("1.2.0-rc1") < version_key("1.2.0")
    assert version_key("v2") == version_key("2.0.0")
    assert version_key("beta") < version_key("0.0.0")


def test_conditions_compare_device_and_file() -> None:
    """Lower version, earlier build and another build, with a device that reported nothing."""
    assert is_lower_version("1.0.0", "1.0.1")
    assert not is_lower_version("1.0.1", "1.0.1")
    assert is_lower_version(None, "0.0.1")
    assert not is_lower_version("1.0.0", None)
    assert is_earlier_build("Mar  5 2024 10:00:00", "Mar 05 2024 11:00:00")
    assert not is_earlier_build("Mar 06 2024", "Mar 05 2024")
    assert is_earlier_build(None, "Mar 05 2024")
    assert is_earlier_build("garbage", "Mar 05 2024")
    assert not is_earlier_build("Mar 05 2024", None)
    assert not is_earlier_build("Mar 05 2024", "soon")
    assert is_other_build("Mar 04 2024", "Mar 05 2024")
    assert not is_other_build("Mar  5 2024", "Mar 05 2024")
    assert is_other_build(None, "Mar 05 2024")
    assert not is_other_build("Mar 05 2024", None)
