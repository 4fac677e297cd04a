"""The server's VAPID identity for Web Push (RFC 8292, automations.md §5.3).

One P-256 key pair per installation, made at first start and kept in the data folder
(``storage.data_folder.VAPID_KEY``). Browsers subscribe with its public key as the
``applicationServerKey``; each push request then carries a JWT signed with the private key whose
``aud`` is the push service's origin, so the service knows the push comes from the server the
browser subscribed to.
"""

import base64
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

TOKEN_TTL_S = 12 * 3600
"""Lifetime of a VAPID JWT: RFC 8292 §2 allows at most 24 hours; half leaves room for clock skew
between this server and the push service."""


def new_vapid_pem() -> bytes:
    """A fresh P-256 private key as PKCS#8 PEM."""
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def b64url(raw: bytes) -> str:
    """Unpadded base64url, as Web Push writes keys."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of an endpoint: the VAPID ``aud`` (RFC 8292 §2)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True, slots=True)
class VapidKeys:
    """The key pair and the contact (``sub``) every push request is signed with."""

    signer: Vapid02
    subject: str

    @classmethod
    def from_pem(cls, pem: bytes, *, subject: str) -> "VapidKeys":
        """Load the private key written by ``new_vapid_pem``.

        Raises:
            ValueError: ``pem`` is not a P-256 private key.
        """
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("the VAPID key file does not hold a P-256 private key")
        return cls(Vapid02(private_key=key), subject)

    @property
    def public_key(self) -> str:
        """The uncompressed public point, base64url: the browser's ``applicationServerKey``."""
        point = self.signer.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    def authorization(self, endpoint: str, *, now_ms: int) -> str:
        """The ``Authorization: vapid t=…, k=…`` header value for a push to ``endpoint``."""
        claims = {
            "aud": origin_of(endpoint),
            "sub": self.subject,
            "exp": now_ms // 1000 + TOKEN_TTL_S,
        }
        header: str = self.signer.sign(claims)["Authorization"]
        return header
