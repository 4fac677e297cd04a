"""A stand-in for a browser's push subscription (RFC 8291): what ``PushManager.subscribe``
makes (a P-256 key pair and a 16-byte auth secret), its ``toJSON()``, and decrypting what a push
service hands it. The Web Push tests play the browser with it (automations.md §5.7)."""

import base64
import os
from dataclasses import dataclass
from typing import Any

import http_ece
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

PUSH_MESSAGE: dict[str, Any] = {
    "v": 1,
    "kind": "event",
    "title": "Freezer",
    "body": "Too warm: 12 °C",
    "severity": "CRITICAL",
    "alert": True,
    "tag": "d7-e3",
    "url": "/devices/7/timeline?entry=981",
    "ts": 1717000000000,
}
"""A rendered push payload (automations.md §5.7), as the outbox carries it minus ``userId``."""


def b64url(raw: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """Base64url with or without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """A browser's push subscription keys."""

    key: ec.EllipticCurvePrivateKey
    auth: bytes

    @classmethod
    def new(cls) -> "Browser":
        """Fresh keys, as a new subscription has."""
        return cls(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    def subscription(self, endpoint: str) -> dict[str, Any]:
        """``PushSubscription.toJSON()``."""
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": endpoint, "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> Any:
        """The JSON a push carried (``aes128gcm``)."""
        return orjson.loads(
            http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm")
        )
