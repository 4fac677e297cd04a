"""Pre-provisioned Blynk.Edgent firmware: filling the ``blnkopt`` block of a firmware image
(device-lifecycle.md §2.6, §2.9).

Edgent compiles a constant ``"blnkopt\\0"`` followed by NUL-separated key/value pairs: ``ssid``
holding a 264-character ``Placeholder…`` value, ``host`` and ``port`` (the compiled defaults),
then two NULs. The firmware reads exactly as many bytes as the pairs took at compile time; at
boot, when no configuration is stored and the block has both ``ssid`` and ``auth``, it loads
``ssid``, ``pass``, ``auth``, ``host`` and ``port`` from it and connects (``ConfigStore.h``).
Patching writes new pairs into those bytes and pads them with NULs: the block keeps its length,
and so does the file.

An ESP32-family application image carries a checksum of its segments and, usually, a SHA-256 of
everything before it, which the bootloader verifies: ``patch_firmware`` updates both for the
image holding the block (at the start of the file or, in a merged flash image, at a 4 KB
boundary before the block).
"""

import hashlib
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from pinbase.domain.edgent import check_host, check_port, check_token, check_wifi

BLNKOPT = b"blnkopt\0"
PLACEHOLDER = "Placeholder"
"""How the unpatched ``ssid`` value starts (``BLYNK_PARAM_PLACEHOLDER_64``)."""
KEYS = ("ssid", "pass", "auth", "host", "port")
"""What the firmware reads, in the order written."""

ESP_IMAGE_MAGIC = 0xE9
ESP_CHECKSUM_MAGIC = 0xEF
ESP32_HEADER_BYTES = 24
"""Common header (8 bytes) plus ESP32's extended header (16); its last byte is hash_appended."""
ESP_SEGMENT_HEADER_BYTES = 8
MAX_ESP_SEGMENTS = 16
"""The ROM bootloader's limit (esptool refuses more)."""
ESP_IMAGE_ALIGN = 0x1000
"""Images inside a merged flash file start on flash-sector boundaries."""
SHA256_BYTES = 32


@dataclass(frozen=True, slots=True, kw_only=True)
class Block:
    """Where the ``blnkopt`` block is and what it holds."""

    offset: int
    """Of the ``blnkopt`` mark in the file."""
    capacity: int
    """Bytes of key/value pairs the firmware reads."""
    values: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Patched:
    """A patched firmware image."""

    image: bytes
    block: Block
    """The block as it was before patching."""
    esp32_image_at: int | None
    """Offset of the ESP32 application image whose checksum (and SHA-256) were updated; None
    when the block lies in no ESP32 image (another chip's format, left as it is)."""


def find_block(image: bytes) -> Block:
    """The unpatched ``blnkopt`` block of ``image``.

    Raises:
        ValueError: no block, several, a malformed one, or one already patched.
    """
    offset = image.find(BLNKOPT)
    if offset < 0:
        raise ValueError("no blnkopt block: is this Blynk.Edgent firmware?")
    if image.find(BLNKOPT, offset + 1) >= 0:
        raise ValueError("more than one blnkopt block in the image")
    start = offset + len(BLNKOPT)
    end = image.find(b"\0\0", start)
    if end < 0 or image[end + 2 : end + 3] != b"\0":
        raise ValueError("the blnkopt block is not closed by two NULs")
    pairs = image[start : end + 1].split(b"\0")[:-1]
    if len(pairs) % 2:
        raise ValueError("the blnkopt block has a key without a value")
    try:
        values = {pairs[i].decode(): pairs[i + 1].decode() for i in range(0, len(pairs), 2)}
    except UnicodeDecodeError:
        raise ValueError("the blnkopt block is not text") from None
    if "auth" in values or not values.get("ssid", "").startswith(PLACEHOLDER):
        raise ValueError("the firmware is already pre-provisioned: patch the original file")
    return Block(offset=offset, capacity=end + 1 - start, values=values)


def patch_firmware(
    image: bytes, *, ssid: str, password: str, token: str, host: str, port: int
) -> Patched:
    """``image`` with its ``blnkopt`` block holding these values (§2.6).

    Raises:
        ValueError: no usable block, a value the device cannot keep (§2.4), or values longer
            than the block.
    """
    check_wifi(ssid, password)
    check_token(token)
    check_host(host)
    check_port(port)
    block = find_block(image)
    values = (ssid, password, token, host, str(port))
    pairs = b"".join(
        key.encode() + b"\0" + value.encode() + b"\0"
        for key, value in zip(KEYS, values, strict=True)
    )
    if len(pairs) > block.capacity:
        raise ValueError(
            f"the values take {len(pairs)} bytes; this firmware's blnkopt block holds "
            f"{block.capacity}"
        )
    start = block.offset + len(BLNKOPT)
    patched = bytearray(image)
    patched[start : start + block.capacity] = pairs.ljust(block.capacity, b"\0")
    holding = _esp32_image_holding(image, start)
    if holding is not None:
        _seal(patched, *holding)
    return Patched(
        image=bytes(patched),
        block=block,
        esp32_image_at=holding[0] if holding is not None else None,
    )


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where an ESP32 image's segment data, checksum and digest are."""

    segments: tuple[tuple[int, int], ...]
    """``(offset, length)`` of each segment's data in the file."""
    checksum_at: int
    digest: bool


def _esp32_layout(image: bytes | bytearray, at: int) -> _Layout | None:
    """The layout of a well-formed ESP32 image starting at ``at``, or None."""
    if len(image) < at + ESP32_HEADER_BYTES or image[at] != ESP_IMAGE_MAGIC:
        return None
    count, digest = image[at + 1], image[at + ESP32_HEADER_BYTES - 1]
    if not 1 <= count <= MAX_ESP_SEGMENTS or digest not in (0, 1):
        return None
    position, segments = at + ESP32_HEADER_BYTES, []
    for _ in range(count):
        if position + ESP_SEGMENT_HEADER_BYTES > len(image):
            return None
        _, size = struct.unpack_from("<II", image, position)
        position += ESP_SEGMENT_HEADER_BYTES
        if position + size > len(image):
            return None
        segments.append((position, size))
        position += size
    checksum_at = position + 15 - (position - at) % 16  # the byte that ends a 16-byte row
    if checksum_at + 1 + (SHA256_BYTES if digest else 0) > len(image):
        return None
    return _Layout(tuple(segments), checksum_at, digest == 1)


def _checksum(image: bytes | bytearray, layout: _Layout) -> int:
    value = ESP_CHECKSUM_MAGIC
    for offset, size in layout.segments:
        folded = int.from_bytes(image[offset : offset + size], "little") if size else 0
        while folded > 0xFF:  # XOR of every byte, folded down a machine word at a time
            width = (folded.bit_length() + 15) // 16 * 8
            folded = (folded >> width) ^ (folded & ((1 << width) - 1))
        value ^= folded
    return value


def _is_sealed(image: bytes | bytearray, at: int, layout: _Layout) -> bool:
    """The stored checksum and digest match the image: it really is an ESP32 image."""
    if image[layout.checksum_at] != _checksum(image, layout):
        return False
    if not layout.digest:
        return True
    end = layout.checksum_at + 1
    return bytes(image[end : end + SHA256_BYTES]) == hashlib.sha256(image[at:end]).digest()


def _esp32_image_holding(image: bytes, offset: int) -> tuple[int, _Layout] | None:
    """The start and layout of the valid ESP32 image whose segments hold ``offset``, if any:
    at 0 or at a 4 KB boundary below it (merged flash files)."""
    for at in range(offset - offset % ESP_IMAGE_ALIGN, -1, -ESP_IMAGE_ALIGN):
        layout = _esp32_layout(image, at)
        if layout is None:
            continue
        holds = any(start <= offset < start + size for start, size in layout.segments)
        if holds and _is_sealed(image, at, layout):
            return at, layout
    return None


def _seal(image: bytearray, at: int, layout: _Layout) -> None:
    """Store the checksum and, if the image has one, the SHA-256 of the patched image (the
    patch changed segment bytes only, so the layout is the same)."""
    image[layout.checksum_at] = _checksum(image, layout)
    if layout.digest:
        end = layout.checksum_at + 1
        image[end : end + SHA256_BYTES] = hashlib.sha256(image[at:end]).digest()
