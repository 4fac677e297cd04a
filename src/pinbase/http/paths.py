"""The one table of URL families (http-api.md §1.1), so that none shadows another.

Each family answers errors in its own format; code that answers before any route runs (the
request-size rule) asks ``family_of`` which format that is.
"""

from enum import Enum

DEVICE_PREFIX = "/external/"
DEVICE_FILES_PREFIX = "/device_uploads/"
"""DEV-13 files served back; the DEV-08 exports (``/device_data_….zip``) have no second slash."""
OTA_PREFIX = "/static/ota/"
"""Blynk.Air firmware downloads (device-lifecycle.md §1.7), answered like the device API."""
PLATFORM_PREFIX = "/api/"
OAUTH_PREFIX = "/oauth2/"
CONSOLE_PATH = "/dashboard"
"""The web console (issue #9), Blynk.Console's own path; ``/`` redirects here."""
CONSOLE_PREFIX = "/dashboard/"
CONSOLE_API_PREFIX = "/dashboard/api/"
"""The console's JSON endpoints: their errors are JSON, the pages' are HTML."""
CONSOLE_SOCKET_PATH = "/dashboard/ws"
"""The console's live WebSocket (console.md §4)."""
MQTT_SOCKET_PATH = "/mqtt"
"""MQTT over WebSocket (device-lifecycle.md §3), Blynk.Cloud's path; MQTT.js needs it in the URL."""
MODERN_PREFIXES = (DEVICE_PREFIX, PLATFORM_PREFIX, OAUTH_PREFIX, CONSOLE_PREFIX, OTA_PREFIX)
"""Path prefixes of the device, Platform, OAuth and console families; a legacy token is never
one of them (http-api.md §1.1), so ``/dashboard/x`` is never taken for ``/{token}/pin``."""


class Family(Enum):
    """Who answers a path, and so in which error format."""

    DEVICE = "device"
    """``/external/…`` and the files it serves: Blynk's JSON error shape."""
    PLATFORM = "platform"
    """``/api/…``: Blynk's JSON error shape."""
    OAUTH = "oauth"
    """``/oauth2/…``: RFC 6749 error bodies."""
    CONSOLE = "console"
    """``/dashboard`` and its pages: HTML error pages."""
    CONSOLE_API = "console_api"
    """``/dashboard/api/…`` and ``/dashboard/ws``: the JSON error shape."""
    LEGACY = "legacy"
    """``/{token}/…``: plain text."""
    OTHER = "other"
    """``/healthz``, ``/docs``, ``/openapi.json`` and unknown paths: the JSON error shape."""


def family_of(path: str) -> Family:
    """The family serving ``path``, by prefix alone (no route lookup)."""
    if path.startswith((DEVICE_PREFIX, DEVICE_FILES_PREFIX, OTA_PREFIX)):
        return Family.DEVICE
    if path.startswith(PLATFORM_PREFIX):
        return Family.PLATFORM
    if path.startswith(OAUTH_PREFIX):
        return Family.OAUTH
    if is_console_path(path):
        if path.startswith(CONSOLE_API_PREFIX) or path == CONSOLE_SOCKET_PATH:
            return Family.CONSOLE_API
        return Family.CONSOLE
    return Family.LEGACY if is_legacy_path(path) else Family.OTHER


def is_console_path(path: str) -> bool:
    """Whether the web console serves ``path`` (``/dashboard`` and everything below it)."""
    return path == CONSOLE_PATH or path.startswith(CONSOLE_PREFIX)


def is_legacy_path(path: str) -> bool:
    """Whether a path belongs to the legacy token-in-path family (http-api.md §1.1)."""
    return path.count("/") >= 2 and not path.startswith(MODERN_PREFIXES)
