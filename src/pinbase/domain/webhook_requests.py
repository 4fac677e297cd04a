"""Building a webhook's request from its template and the trigger's data (automations.md §4.3).

Theory of operation. A ``Placeholders`` value holds what a trigger knows: plain ``{name}``
values (``device_id``, ``timestamp_unix``, ``user_email`` …), the device's current datastream
values and metafields by id, and the items of the written value. ``substitute`` replaces every
``{name}`` token it knows, and with ``legacy`` also the Blynk 1.0 tokens of §4.6 (``/pin/``,
``/pin[N]/``, ``%s``, ``/datetime_iso/``, ``device_owner_email``), every occurrence, in one
left-to-right pass: a substituted value is never scanned again. An unknown ``{name}`` stays
literal, so a typo shows at the receiver (§4.5).

Each value is escaped for where it lands: percent-encoded in the URL, form-encoded in form and
query rows, JSON-escaped inside a JSON string literal (a small quote/backslash scanner tracks
whether the template is inside one), raw elsewhere. ``build_request`` then checks the §4.7 limits
after substitution and refuses with the reason the delivery log shows.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Final
from urllib.parse import quote, quote_plus

from pinbase.domain.errors import PinbaseError
from pinbase.domain.webhooks import ContentType, Method, WebhookSpec, mask_secrets

MAX_BODY_BYTES = 5120
"""Body after substitution (limits.md: 5 KB); more fails with ``BODY_TOO_LARGE``."""
MAX_URL_CHARS = 1024
"""URL after substitution (limits.md); more fails with ``URL_TOO_LONG``."""

_PLACEHOLDER = r"\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<index>[0-9]{1,3})\])?\}"
_LEGACY = (
    r"|(?P<pin>/pin/)|/pin\[(?P<pin_index>[0-9])\]/|(?P<percent_s>%s)"
    r"|(?P<datetime>/datetime_iso/)|(?P<owner>(?i:device_owner_email))"
)
_TOKENS = re.compile(_PLACEHOLDER)
_TOKENS_LEGACY = re.compile(_PLACEHOLDER + _LEGACY)
_DATASTREAM = re.compile(r"device_dataStream_([0-9]{1,9})")
_METADATA = re.compile(r"device_metadata_([0-9]{1,9})")


class Refusal(Enum):
    """Why a request could not be built; the name is the log's reason (§4.3, §4.8)."""

    BODY_TOO_LARGE = "the body is longer than 5 KB after substitution"
    URL_TOO_LONG = "the URL is longer than 1024 characters after substitution"
    INVALID_HEADER = "a header value holds a line break after substitution"


class RequestRefused(PinbaseError):
    """The request breaks a §4.7 limit after substitution; ``reason`` names which."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class Placeholders:
    """What a trigger fills placeholders with; every value is already text.

    ``values`` holds the plain ``{name}`` placeholders of §4.5 (timestamps and tags always
    present, ``user_*`` only for user triggers); ``datastreams`` and ``metadata`` key the
    device's current values and metafields by id; ``items`` are the written value's items (one
    for a single value). ``owner_email`` feeds §4.6's ``device_owner_email``.
    """

    values: Mapping[str, str] = field(default_factory=dict)
    datastreams: Mapping[int, str] = field(default_factory=dict)
    metadata: Mapping[int, str] = field(default_factory=dict)
    items: tuple[str, ...] = ()
    owner_email: str = ""

    @property
    def pin_value(self) -> str:
        """The whole written value, multi-value items joined by ``,`` (§4.5, §4.6)."""
        return ",".join(self.items)

    def item(self, index: int) -> str:
        """Item ``index`` of the written value; empty out of range (§4.5)."""
        return self.items[index] if index < len(self.items) else ""

    def lookup(self, name: str, index: str | None) -> str | None:
        """The value of ``{name}`` or ``{name[index]}``; None for an unknown placeholder."""
        if index is not None:
            return self.item(int(index)) if name == "device_pinValue" else None
        if name == "device_pinValue":
            return self.pin_value
        known = self.values.get(name)
        if known is not None:
            return known
        if match := _DATASTREAM.fullmatch(name):
            return self.datastreams.get(int(match.group(1)))
        if match := _METADATA.fullmatch(name):
            return self.metadata.get(int(match.group(1)))
        return None


def iso_timestamp(ts: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC with milliseconds and ``Z`` (§4.5, legacy §4.6)."""
    moment = datetime.fromtimestamp(ts / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts % 1000:03d}Z"


def substitute(
    template: str,
    data: Placeholders,
    *,
    legacy: bool,
    escape: Callable[[str], str] = str,
) -> str:
    """``template`` with every known placeholder replaced by ``escape(value)``.

    Args:
        template: text holding ``{name}`` tokens (and §4.6 tokens when ``legacy``).
        data: the values.
        legacy: also expand the Blynk 1.0 tokens, every occurrence.
        escape: how a value is written where it lands (identity: raw).
    """
    pattern = _TOKENS_LEGACY if legacy else _TOKENS

    def replace(match: re.Match[str]) -> str:
        value = _value_of(match, data)
        return match.group(0) if value is None else escape(value)

    return pattern.sub(replace, template)


def substitute_json(template: str, data: Placeholders, *, legacy: bool) -> str:
    """``template`` as Custom JSON: a value inside a string literal is JSON-escaped (without
    quotes), a value outside one goes raw (§4.3)."""
    pattern = _TOKENS_LEGACY if legacy else _TOKENS
    parts: list[str] = []
    scanner = _StringScanner()
    position = 0
    for match in pattern.finditer(template):
        literal = template[position : match.start()]
        scanner.feed(literal)
        parts.append(literal)
        value = _value_of(match, data)
        if value is None:
            # An unknown token stays literal, and is scanned as the literal text it is.
            scanner.feed(match.group(0))
            parts.append(match.group(0))
        else:
            parts.append(_json_escape(value) if scanner.in_string else value)
        position = match.end()
    parts.append(template[position:])
    return "".join(parts)


class _StringScanner:
    """Tracks whether JSON text read so far ends inside a string literal."""

    __slots__ = ("escaped", "in_string")

    def __init__(self) -> None:
        self.in_string = False
        self.escaped = False

    def feed(self, text: str) -> None:
        for char in text:
            if self.escaped:
                self.escaped = False
            elif self.in_string and char == "\\":
                self.escaped = True
            elif char == '"':
                self.in_string = not self.in_string


_JSON_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def _json_escape(text: str) -> str:
    """``text`` as the inside of a JSON string literal (RFC 8259 §7)."""
    out: list[str] = []
    for char in text:
        escaped = _JSON_ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def _value_of(match: re.Match[str], data: Placeholders) -> str | None:
    name = match.group("name")
    if name is not None:
        return data.lookup(name, match.group("index"))
    if match.group("pin_index") is not None:
        return data.item(int(match.group("pin_index")))
    if match.group("owner") is not None:
        return data.owner_email
    if match.group("datetime") is not None:
        return data.values.get("timestamp_iso8601", "")
    # /pin/ and %s: the whole value.
    return data.pin_value


def _url_escape(value: str) -> str:
    return quote(value, safe="")


def _form_pairs(rows: tuple[tuple[str, str], ...]) -> str:
    return "&".join(f"{quote_plus(key)}={quote_plus(value)}" for key, value in rows)


@dataclass(frozen=True, slots=True, kw_only=True)
class BuiltRequest:
    """A request ready to send: a JSON-serializable value for the outbox's payload.

    ``masked_url`` is ``url`` with secrets (the device token, credentials) replaced, the form
    the delivery log keeps (§4.4). Auth headers, ``User-Agent`` and ``X-Pinbase-Delivery``
    are added by the sender.
    """

    method: str
    url: str
    masked_url: str
    headers: tuple[tuple[str, str], ...]
    body: str

    def payload(self) -> dict[str, object]:
        """The JSON form the outbox stores."""
        return {
            "method": self.method,
            "url": self.url,
            "maskedUrl": self.masked_url,
            "headers": [[key, value] for key, value in self.headers],
            "body": self.body,
        }


def build_request(
    spec: WebhookSpec,
    data: Placeholders,
    *,
    legacy: bool,
    secrets: tuple[str, ...] = (),
    max_body_bytes: int = MAX_BODY_BYTES,
    max_url_chars: int = MAX_URL_CHARS,
) -> BuiltRequest:
    """The request ``spec`` makes for one trigger (§4.3).

    Args:
        spec: the webhook.
        data: the trigger's placeholder values.
        legacy: expand the §4.6 tokens too (``webhooks.legacy_placeholders``).
        secrets: texts the masked URL must not show (the device token, credentials).
        max_body_bytes: the body cap after substitution.
        max_url_chars: the URL cap after substitution.

    Raises:
        RequestRefused: a limit is broken after substitution.
    """
    url = substitute(spec.url, data, legacy=legacy, escape=_url_escape)
    if spec.query:
        rows = tuple((row.key, substitute(row.value, data, legacy=legacy)) for row in spec.query)
        url += ("&" if "?" in url else "?") + _form_pairs(rows)
    if len(url) > max_url_chars:
        raise RequestRefused(Refusal.URL_TOO_LONG)
    if spec.content_type is ContentType.WEB_FORM:
        rows = tuple((row.key, substitute(row.value, data, legacy=legacy)) for row in spec.form)
        body = _form_pairs(rows)
    elif spec.content_type is ContentType.JSON:
        body = substitute_json(spec.body, data, legacy=legacy)
    else:
        body = substitute(spec.body, data, legacy=legacy)
    if len(body.encode()) > max_body_bytes:
        raise RequestRefused(Refusal.BODY_TOO_LARGE)
    headers: list[tuple[str, str]] = []
    for header in spec.headers:
        value = substitute(header.value, data, legacy=legacy)
        if "\r" in value or "\n" in value:
            raise RequestRefused(Refusal.INVALID_HEADER)
        headers.append((header.key, value))
    if not any(key.lower() == "content-type" for key, _ in headers):
        headers.append(("Content-Type", spec.content_type.media_type))
    return BuiltRequest(
        method=Method(spec.method).value,
        url=url,
        masked_url=mask_url(url, secrets),
        headers=tuple(headers),
        body=body,
    )


def mask_url(url: str, secrets: tuple[str, ...]) -> str:
    """``url`` with each secret masked, raw and percent-encoded (a token in a path or query)."""
    return mask_secrets(url, secrets + tuple(_url_escape(s) for s in secrets))
