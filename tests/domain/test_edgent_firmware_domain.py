"""Filling the ``blnkopt`` block of Edgent firmware (device-lifecycle.md §2.6), on synthetic
images; ESP32 images are built and checked by esptool, Espressif's own tool."""

import hashlib

import pytest

from esp_images import BLNKOPT_BLOCK as BLOCK
from esp_images import esp32_image, is_valid_esp32
from pinbase.domain.edgent_firmware import BLNKOPT, find_block, patch_firmware

TOKEN = "xw7ITVneg1DifRRQuPGcA7fJvV8-FAVl"
PLACEHOLDERS = b"Placeholder" * 24
VALUES = {"ssid": "HomeNet", "password": "hunter22", "token": TOKEN, "host": "pinbase.lan"}


def test_the_compiled_block_is_found() -> None:
    """Offset, the bytes the firmware reads, and the default host and port."""
    image = b"\x01" * 7 + BLOCK + b"\x02" * 5
    block = find_block(image)
    assert block.offset == 7
    assert block.capacity == len(BLOCK) - len(BLNKOPT) - 2
    assert block.values == {"ssid": PLACEHOLDERS.decode(), "host": "blynk.cloud", "port": "443"}


def test_patching_keeps_the_length_and_pads_with_nul() -> None:
    """ssid, pass, auth, host and port are written in order; the rest of the block is NUL."""
    image = b"\xaa" * 16 + BLOCK + b"\xbb" * 16
    patched = patch_firmware(image, port=8441, **VALUES)
    assert len(patched.image) == len(image)
    assert patched.image[:16] == image[:16]
    assert patched.image[-16:] == image[-16:]
    pairs = (
        b"ssid\x00HomeNet\x00pass\x00hunter22\x00auth\x00" + TOKEN.encode() + b"\x00"
        b"host\x00pinbase.lan\x00port\x008441\x00"
    )
    start = 16 + len(BLNKOPT)
    assert patched.image[start : start + len(pairs)] == pairs
    assert set(patched.image[start + len(pairs) : -16]) == {0}
    assert patched.esp32_image_at is None
    assert patched.block.values["host"] == "blynk.cloud"


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (b"\x00" * 64, "no blnkopt block"),
        (BLOCK + BLOCK, "more than one blnkopt block"),
        (BLNKOPT + b"ssid\x00" + PLACEHOLDERS, "not closed by two NULs"),
        (BLNKOPT + b"ssid\x00Placeholder\x00\x00x", "not closed by two NULs"),
        (BLNKOPT + b"ssid\x00Placeholder\x00port\x00\x00\x00", "key without a value"),
        (BLNKOPT + b"ssid\x00Placeholder\xff\x00\x00\x00", "not text"),
        (BLNKOPT + b"ssid\x00Home\x00auth\x00" + TOKEN.encode() + b"\x00\x00\x00", "already"),
        (BLNKOPT + b"host\x00blynk.cloud\x00\x00\x00", "already pre-provisioned"),
    ],
)
def test_unusable_blocks_are_refused(image: bytes, message: str) -> None:
    """No block, two, a malformed one or one patched before: a ValueError naming it."""
    with pytest.raises(ValueError, match=message):
        patch_firmware(image, port=443, **VALUES)


def test_values_the_device_cannot_keep_are_refused() -> None:
    """The limits of /config apply (§2.4): here a 34-character host."""
    with pytest.raises(ValueError, match="Edgent keeps only 33"):
        patch_firmware(BLOCK, port=443, **{**VALUES, "host": "h" * 34})


def test_values_longer_than_the_block_are_refused() -> None:
    """A block compiled with a short placeholder cannot take every value."""
    small = BLNKOPT + b"ssid\x00Placeholder\x00\x00\x00"
    with pytest.raises(ValueError, match="this firmware's blnkopt block holds 17"):
        patch_firmware(small, port=443, **VALUES)


def test_an_esp32_image_keeps_a_valid_checksum_and_digest() -> None:
    """esptool accepts the patched image: checksum and SHA-256 were computed again."""
    image = esp32_image(b"\x01" * 100 + BLOCK + b"\x02" * 57)
    assert is_valid_esp32(image)
    patched = patch_firmware(image, port=8441, **VALUES)
    assert patched.esp32_image_at == 0
    assert len(patched.image) == len(image)
    assert is_valid_esp32(patched.image)
    assert find_block(image).offset == patched.block.offset


def test_an_esp32_image_without_digest_keeps_a_valid_checksum() -> None:
    """An image built without the appended SHA-256 gets its checksum only."""
    image = esp32_image(BLOCK + b"\x02" * 3, digest=False)
    patched = patch_firmware(image, port=8441, **VALUES)
    assert patched.esp32_image_at == 0
    assert is_valid_esp32(patched.image, digest=False)


def test_the_application_inside_a_merged_flash_file_is_found() -> None:
    """Bootloader and partition table first, the application at 0x10000: that image is
    sealed again, the bytes before it are untouched."""
    application = esp32_image(b"\x03" * 40 + BLOCK)
    bootloader = esp32_image(b"\x04" * 64)
    merged = bootloader.ljust(0x10000, b"\xff") + application
    patched = patch_firmware(merged, port=8441, **VALUES)
    assert patched.esp32_image_at == 0x10000
    assert patched.image[:0x10000] == merged[:0x10000]
    assert is_valid_esp32(patched.image[0x10000:])


def test_images_that_only_look_like_esp32_are_left_as_they_are() -> None:
    """A magic byte with a broken header, truncated segments or a wrong checksum or digest is
    not sealed: only the block changes."""
    valid = esp32_image(BLOCK)
    wrong_digest = valid[:-1] + bytes([valid[-1] ^ 1])
    checksum_at = len(valid) - 33
    wrong_checksum = bytearray(valid)
    wrong_checksum[checksum_at] ^= 1
    wrong_checksum[-32:] = hashlib.sha256(wrong_checksum[:-32]).digest()
    cases = [
        wrong_digest,
        bytes(wrong_checksum),
        valid[:-20],  # the digest cut short
        bytes([0xE9, 0]) + valid[2:],  # no segments
        valid[:23] + b"\x07" + valid[24:],  # hash_appended neither 0 nor 1
        b"\xe9\x05" + bytes(22) + BLOCK,  # five segments the file cannot hold
        b"\xe9" + BLOCK,  # shorter than a header
    ]
    for image in cases:
        patched = patch_firmware(image, port=8441, **VALUES)
        assert patched.esp32_image_at is None


def test_an_empty_segment_and_a_segment_header_past_the_end() -> None:
    """A zero-length segment counts for nothing; a header cut by the end of the file is not
    an image."""
    header = bytearray(24)
    header[0], header[1] = 0xE9, 2
    empty_segment = (0x3F400020).to_bytes(4, "little") + (0).to_bytes(4, "little")
    assert patch_firmware(bytes(header) + empty_segment + BLOCK, port=1, **VALUES)
    segment = (0x3F400020).to_bytes(4, "little") + len(BLOCK).to_bytes(4, "little") + BLOCK
    cut = patch_firmware(bytes(header) + segment + b"\x00" * 3, port=1, **VALUES)
    assert cut.esp32_image_at is None
    header[1] = 1
    data = BLOCK.ljust(len(BLOCK) + 3, b"\x00")
    segment = (0x3F400020).to_bytes(4, "little") + len(data).to_bytes(4, "little") + data
    body = bytes(header) + segment
    checksum_at = len(body) + 15 - len(body) % 16
    image = bytearray(body.ljust(checksum_at + 1, b"\x00"))
    value = 0xEF
    for byte in data:
        value ^= byte
    image[checksum_at] = value
    patched = patch_firmware(bytes(image), port=8441, **VALUES)
    assert patched.esp32_image_at == 0
    assert is_valid_esp32(patched.image, digest=False)
