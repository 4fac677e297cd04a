"""Webhooks: an HTTP request Pinbase makes when something happens (automations.md §4).

A ``Webhook`` is the saved configuration: what triggers it (§4.2), where and how the request
goes (§4.1, §4.3), how it authenticates (§4.4) and whom to tell when it keeps failing (§4.8).
Every rule of §4.1 is checked here, on construction, so an invalid webhook cannot exist; the
request itself is built by ``domain.webhook_requests``.

Secrets (a Basic password, an OAuth 2.0 client secret) are write-only: they are kept here and
used by the sender, but every answer shows ``SECRET_MASK`` instead (``masked``).
"""

import re
from dataclasses import dataclass, replace
from enum import StrEnum

from pinbase.domain.errors import InvalidDefinition
from pinbase.domain.ids import DatastreamId, DeviceId, OrgId, TemplateId

MAX_NAME_CHARS = 80
"""Webhook Name (create-new-webhook.md)."""
MAX_URL_CHARS = 1024
"""Webhook URL, checked on save and after substitution (limits.md)."""
MAX_KEY_CHARS = 100
"""Web Form, query and header keys (create-new-webhook.md)."""
MAX_VALUE_CHARS = 1024
"""A form, query or header value template: a URL's worth; Blynk states no number."""
MAX_BODY_TEMPLATE_CHARS = 5120
"""A Custom JSON or Plain text template; the rendered body has the same 5 KB cap (§4.7)."""
MAX_ROWS = 50
"""Form rows, query rows or headers of one webhook; Blynk states no number."""
MAX_FAILURE_RECIPIENTS = 50
"""Users e-mailed when the webhook fails; Blynk states no number."""
MAX_FAILURE_THRESHOLD = 1000
"""The largest "send failure email after this number of failures"."""
MAX_SECRET_CHARS = 512
"""A username, password, client id or client secret."""
SECRET_MASK = "••••••"  # noqa: S105 - the mask itself, not a password
"""What every API answer shows instead of a secret (§4.4: secrets are write-only)."""

NAME = r"^[A-Za-z0-9\-' ]*[A-Za-z0-9\-'][A-Za-z0-9\-' ]*$"
"""Letters, digits, ``-``, ``'`` and spaces (§4.1), not only spaces."""
HEADER_KEY = r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$"
"""An HTTP field name: an RFC 9110 token."""
HEADER_VALUE = r"^(?:[A-Za-z0-9 /_:;.\-]|\{[A-Za-z0-9_]+(?:\[[0-9]+\])?\})*$"
"""§4.1's characters (letters, digits, spaces, ``/ _ : ; . -``) plus whole ``{placeholder}``
tokens, which §4.3 substitutes in headers (docs/decisions.md)."""

_NAME = re.compile(NAME)
_HEADER_KEY = re.compile(HEADER_KEY)
_HEADER_VALUE = re.compile(HEADER_VALUE)


class TriggerKind(StrEnum):
    """What fires a webhook (§4.2); all but the first two need ``webhooks.enterprise_triggers``."""

    TEMPLATE_DATASTREAM = "TEMPLATE_DATASTREAM"
    DEVICE_DATASTREAM = "DEVICE_DATASTREAM"
    DEVICE_FIRST_CONNECTED = "DEVICE_FIRST_CONNECTED"
    DEVICE_ACTIVATED = "DEVICE_ACTIVATED"
    PRODUCT_LOG_EVENT = "PRODUCT_LOG_EVENT"
    USER_ADDED = "USER_ADDED"
    USER_DELETED = "USER_DELETED"
    USER_METADATA_UPDATED = "USER_METADATA_UPDATED"
    USER_SIGNED_UP = "USER_SIGNED_UP"
    ORGANIZATION_CREATED = "ORGANIZATION_CREATED"

    @property
    def is_datastream(self) -> bool:
        """True for the two datastream-update triggers, which every plan has."""
        return self in (TriggerKind.TEMPLATE_DATASTREAM, TriggerKind.DEVICE_DATASTREAM)

    @property
    def is_user(self) -> bool:
        """True for the triggers about a user."""
        return self.name.startswith("USER_")

    @property
    def has_user(self) -> bool:
        """True for the triggers with ``user_*`` placeholders: the user triggers and device
        activation, whose user is the one who activated the device (§4.5)."""
        return self.is_user or self is TriggerKind.DEVICE_ACTIVATED


class Method(StrEnum):
    """Request Type (§4.1)."""

    POST = "POST"
    GET = "GET"
    PUT = "PUT"
    DELETE = "DELETE"


class ContentType(StrEnum):
    """Content Type (§4.1) and the ``Content-Type`` each sends by default (§4.3)."""

    WEB_FORM = "WEB_FORM"
    JSON = "JSON"
    PLAIN_TEXT = "PLAIN_TEXT"

    @property
    def media_type(self) -> str:
        """The default ``Content-Type`` header (§4.3); a user-set header wins."""
        return _MEDIA_TYPES[self]


_MEDIA_TYPES = {
    ContentType.WEB_FORM: "application/x-www-form-urlencoded",
    ContentType.JSON: "application/json",
    ContentType.PLAIN_TEXT: "text/plain; charset=utf-8",
}


class AuthKind(StrEnum):
    """Authorization Method (§4.1, §4.4)."""

    NONE = "NONE"
    BASIC = "BASIC"
    OAUTH2 = "OAUTH2"


class Status(StrEnum):
    """Whether the webhook fires (webhooks.md)."""

    ENABLED = "ENABLED"
    DISABLED = "DISABLED"


@dataclass(frozen=True, slots=True, kw_only=True)
class Trigger:
    """What fires the webhook, and its scope.

    Datastream triggers name a datastream and either a template (any device of it) or one
    device. ``PRODUCT_LOG_EVENT`` may name a template to narrow it; other kinds name nothing.
    """

    kind: TriggerKind
    template_id: TemplateId | None = None
    device_id: DeviceId | None = None
    datastream_id: DatastreamId | None = None

    def __post_init__(self) -> None:
        kind = self.kind
        if kind is TriggerKind.TEMPLATE_DATASTREAM:
            _require(self.template_id is not None and self.device_id is None, "templateId")
        elif kind is TriggerKind.DEVICE_DATASTREAM:
            _require(self.device_id is not None and self.template_id is None, "deviceId")
        elif kind is TriggerKind.PRODUCT_LOG_EVENT:
            _require(self.device_id is None, "no deviceId")
        else:
            _require(self.template_id is None and self.device_id is None, "no templateId")
        if kind.is_datastream:
            _require(self.datastream_id is not None, "dataStreamId")
        else:
            _require(self.datastream_id is None, "no dataStreamId")


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise InvalidDefinition(f"this trigger kind needs {what}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Field:
    """A key and a value template: a Web Form row, a query row or an HTTP header."""

    key: str
    value: str

    def __post_init__(self) -> None:
        if not 1 <= len(self.key) <= MAX_KEY_CHARS:
            raise InvalidDefinition(f"a key has 1..{MAX_KEY_CHARS} characters")
        if len(self.value) > MAX_VALUE_CHARS or _has_control(self.value):
            raise InvalidDefinition(
                f"a value has at most {MAX_VALUE_CHARS} characters and no control characters"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class Auth:
    """How the request authenticates (§4.4). Unused secrets are empty."""

    kind: AuthKind = AuthKind.NONE
    username: str = ""
    password: str = ""
    client_id: str = ""
    client_secret: str = ""
    token_url: str = ""

    def __post_init__(self) -> None:
        for text in (self.username, self.password, self.client_id, self.client_secret):
            if len(text) > MAX_SECRET_CHARS or _has_control(text):
                raise InvalidDefinition(
                    f"credentials have at most {MAX_SECRET_CHARS} characters and no control "
                    "characters"
                )
        if self.kind is AuthKind.BASIC:
            if not self.username or ":" in self.username:
                raise InvalidDefinition("Basic auth needs a username without ':' (RFC 7617)")
            _require_empty(self.client_id, self.client_secret, self.token_url)
        elif self.kind is AuthKind.OAUTH2:
            if not self.client_id or not self.client_secret:
                raise InvalidDefinition("OAuth 2.0 needs a client id and a client secret")
            check_url(self.token_url, what="token URL")
            _require_empty(self.username, self.password)
        else:
            _require_empty(self.username, self.password, self.client_id, self.client_secret)
            _require_empty(self.token_url)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The texts a log line or an answer must never show."""
        return tuple(text for text in (self.password, self.client_secret) if text)

    def masked(self) -> "Auth":
        """This auth with every secret replaced by ``SECRET_MASK`` (API answers)."""
        return replace(
            self,
            password=SECRET_MASK if self.password else "",
            client_secret=SECRET_MASK if self.client_secret else "",
        )

    def keeping_secrets(self, previous: "Auth") -> "Auth":
        """This auth with a secret sent back as ``SECRET_MASK`` (or left empty) taken from
        ``previous`` of the same kind: an edit that does not retype a password keeps it."""
        if previous.kind is not self.kind:
            return self
        password = self.password
        if password in ("", SECRET_MASK):
            password = previous.password
        secret = self.client_secret
        if secret in ("", SECRET_MASK):
            secret = previous.client_secret
        return replace(self, password=password, client_secret=secret)


def _require_empty(*texts: str) -> None:
    if any(texts):
        raise InvalidDefinition("credentials given for another authorization method")


def check_url(url: str, *, what: str = "URL") -> None:
    """An ``http://`` or ``https://`` URL of at most ``MAX_URL_CHARS`` (§4.1, §5.5).

    Placeholders may sit anywhere but in the scheme and host, which must be literal, so the
    target a save shows is the target a request reaches (§5.5 checks it again at send time).

    Raises:
        InvalidDefinition: the URL is too long, has no http(s) scheme or host, or holds spaces
            or control characters.
    """
    if len(url) > MAX_URL_CHARS:
        raise InvalidDefinition(f"the {what} has at most {MAX_URL_CHARS} characters")
    match = re.match(r"^https?://([^/?#]+)", url, re.IGNORECASE)
    if match is None or any(c in match.group(1) for c in "{}") or "@" in match.group(1):
        raise InvalidDefinition(f"the {what} starts with http:// or https:// and a literal host")
    if _has_control(url) or " " in url:
        raise InvalidDefinition(f"the {what} holds no spaces or control characters")


def _has_control(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookSpec:
    """Everything a user sets on a webhook (§4.1): what create and update take."""

    name: str
    trigger: Trigger
    url: str
    method: Method = Method.POST
    content_type: ContentType = ContentType.JSON
    body: str = ""
    form: tuple[Field, ...] = ()
    query: tuple[Field, ...] = ()
    headers: tuple[Field, ...] = ()
    auth: Auth = Auth()
    failure_recipients: tuple[int, ...] = ()
    failure_threshold: int = 1
    status: Status = Status.ENABLED
    legacy_response_to_pin: bool = False
    """Blynk 1.0's behaviour (§4.6): a successful answer's body is written to the triggering
    datastream's pin of the device, not stored. Datastream triggers only."""

    def __post_init__(self) -> None:
        if len(self.name) > MAX_NAME_CHARS or not _NAME.fullmatch(self.name):
            raise InvalidDefinition(
                f"a webhook name has 1..{MAX_NAME_CHARS} letters, digits, '-', \"'\" or spaces"
            )
        check_url(self.url)
        if len(self.body) > MAX_BODY_TEMPLATE_CHARS or "\0" in self.body:
            raise InvalidDefinition(f"the body has at most {MAX_BODY_TEMPLATE_CHARS} characters")
        if self.body and self.content_type is ContentType.WEB_FORM:
            raise InvalidDefinition("a Web Form webhook sends form rows, not a body")
        if self.form and self.content_type is not ContentType.WEB_FORM:
            raise InvalidDefinition("form rows need the Web Form content type")
        for rows in (self.form, self.query, self.headers):
            if len(rows) > MAX_ROWS:
                raise InvalidDefinition(f"at most {MAX_ROWS} form rows, query rows or headers")
        for header in self.headers:
            if not _HEADER_KEY.fullmatch(header.key):
                raise InvalidDefinition("a header key is an HTTP token")
            if not _HEADER_VALUE.fullmatch(header.value):
                raise InvalidDefinition(
                    "a header value holds only letters, digits, spaces, '/', '_', ':', ';', "
                    "'.', '-' and {placeholders}"
                )
        if len(self.failure_recipients) > MAX_FAILURE_RECIPIENTS:
            raise InvalidDefinition(f"at most {MAX_FAILURE_RECIPIENTS} failure recipients")
        if not 1 <= self.failure_threshold <= MAX_FAILURE_THRESHOLD:
            raise InvalidDefinition(f"the failure threshold is 1..{MAX_FAILURE_THRESHOLD}")
        if self.legacy_response_to_pin and not self.trigger.kind.is_datastream:
            raise InvalidDefinition(
                "legacyResponseToPin needs a datastream trigger: the answer goes to its pin"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class Webhook:
    """A saved webhook of one organization. ``version`` goes up on every edit (§4.9)."""

    id: int
    org_id: OrgId
    spec: WebhookSpec
    version: int = 1
    created_at: int = 0
    updated_at: int = 0

    @property
    def is_enabled(self) -> bool:
        """Whether triggers fire it."""
        return self.spec.status is Status.ENABLED

    def masked(self) -> "Webhook":
        """This webhook with its secrets replaced by ``SECRET_MASK``."""
        return replace(self, spec=replace(self.spec, auth=self.spec.auth.masked()))


def mask_secrets(text: str, secrets: tuple[str, ...], *, mask: str = SECRET_MASK) -> str:
    """``text`` with every occurrence of each non-empty secret replaced by ``mask`` (a logged
    URL, an error message), longest first so a secret inside another goes whole."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, mask)
    return text
