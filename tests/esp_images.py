"""Synthetic Blynk.Edgent firmware images for the ``blnkopt`` tests (device-lifecycle.md §2.6):
ESP32 application images built, and checked, by esptool, Espressif's own tool."""

import io

from esptool.bin_image import ELFSection, ESP32FirmwareImage, LoadFirmwareImage

BLNKOPT_BLOCK = (
    b"blnkopt\x00ssid\x00"
    + b"Placeholder" * 24  # BLYNK_PARAM_PLACEHOLDER_64 four times: 264 characters
    + b"\x00host\x00blynk.cloud\x00port\x00443\x00"
    + b"\x00\x00"
)
"""The block as ``ConfigStore.h`` compiles it with the default server."""


def esp32_image(rodata: bytes, *, digest: bool = True) -> bytes:
    """An ESP32 application image whose flash-mapped data segment holds ``rodata``."""
    image = ESP32FirmwareImage(append_digest=digest)
    image.entrypoint = 0x40080000
    image.segments = [
        ELFSection(b".flash.rodata", 0x3F400020, rodata, 0),
        ELFSection(b".iram0.text", 0x40080000, b"\x90" * 300, 0),
    ]
    built: bytes = image.save(None)
    return built


def is_valid_esp32(data: bytes, *, digest: bool = True) -> bool:
    """esptool finds the checksum, and the SHA-256 when there is one, right."""
    image = ESP32FirmwareImage(io.BytesIO(data), append_digest=digest)
    if digest:
        image = LoadFirmwareImage("esp32", data)
    ok = image.checksum == image.calculate_checksum()
    return bool(ok and (not digest or image.stored_digest == image.calc_digest))
