"""Devices: an instance of a template with its own token (data-model.md §1.10)."""

import base64
import re
import secrets
from dataclasses import dataclass, field

from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.ids import DeviceId, OrgId, TemplateId, Token

TOKEN_BYTES = 24
"""24 random bytes encode to exactly 32 URL-safe Base64 characters, Blynk.Cloud's shape."""

MAX_DEVICE_NAME_CHARS = 50
"""Platform API rule for device names (data-model.md §5.22)."""

DEVICE_NAME = r"^[\w '-]*[\w'-][\w '-]*$"
"""Letters, digits, spaces, apostrophes, underscores, hyphens (http-api.md PLT-DEV-09); not
only spaces. The Platform API's schema and the console's New Device form both apply it."""
_DEVICE_NAME = re.compile(DEVICE_NAME)


def check_device_name(name: str) -> None:
    """A name given to a new or renamed device (PLT-DEV-09, PLT-DEV-10).

    Raises:
        InvalidDefinition: it breaks the rule of ``DEVICE_NAME`` or is longer than
            ``MAX_DEVICE_NAME_CHARS``.
    """
    if len(name) > MAX_DEVICE_NAME_CHARS or not _DEVICE_NAME.fullmatch(name):
        raise InvalidDefinition(
            f"a device name has 1..{MAX_DEVICE_NAME_CHARS} letters, digits, spaces, "
            "apostrophes, underscores or hyphens"
        )


def new_token() -> Token:
    """A fresh device token: URL-safe Base64 of 24 random bytes (http-api.md §1.3)."""
    return Token(base64.urlsafe_b64encode(secrets.token_bytes(TOKEN_BYTES)).decode())


@dataclass(frozen=True, slots=True, kw_only=True)
class HardwareInfo:
    """What the device reported about itself (provisioning, login info)."""

    version: str | None = None
    fw_type: str | None = None
    blynk_version: str | None = None
    board_type: str | None = None
    build: str | None = None
    template_code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    """A device. Mutable facts (values, connection) live in services, not here."""

    id: DeviceId
    org_id: OrgId
    template_id: TemplateId
    name: str
    token: Token
    created_at: int = 0
    owner_user_id: int | None = None
    hardware_info: HardwareInfo = field(default_factory=HardwareInfo)
    metafield_values: tuple[tuple[int, str], ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= len(self.name) <= MAX_DEVICE_NAME_CHARS:
            raise InvalidDefinition(f"device name must be 1..{MAX_DEVICE_NAME_CHARS} characters")
        if not self.token:
            raise InvalidDefinition("device token must not be empty")
