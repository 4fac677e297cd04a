"""One frozen ``Settings``, loaded once by the CLI and passed down.

Sources, strongest first: command-line options, ``PINBASE_*`` environment variables, a TOML file
(``--config FILE`` or ``PINBASE_CONFIG``), then the defaults below.
"""

import difflib
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

MB = 1024 * 1024
ENV_PREFIX = "PINBASE_"
CONFIG_ENV = "PINBASE_CONFIG"
"""Names the TOML file; the one ``PINBASE_*`` variable that is not a setting."""
DATABASE_SCHEMES = ("postgresql+asyncpg", "sqlite+aiosqlite")
"""The drivers Pinbase ships: an URL naming another one fails at start-up, not on first use."""
BROKER_SCHEMES = ("redis", "rediss", "unix")
"""The broker URLs Pinbase understands (redis-py's ``from_url``)."""
SECRET_SETTINGS = frozenset({"database_url", "smtp_password", "broker_url", "sms_gateway_token"})
"""Settings whose value an error message never repeats (an URL may hold a password)."""
MAP_TILE_PLACES = ("{z}", "{x}", "{y}")
"""What a tile URL template must hold (Leaflet's ``L.tileLayer`` syntax)."""
LogLevel = Literal["debug", "info", "warning", "error"]
SmtpSecurity = Literal["starttls", "tls", "none"]
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
"""Where ``smtp_security = "none"`` may send: mail and a password in clear never leave the host
(automations.md §5.2). Other ``127.*`` addresses count as well."""
DEFAULT_VAPID_SUBJECT = "mailto:pinbase@localhost"
"""The VAPID ``sub`` claim when neither ``push_vapid_subject`` nor ``smtp_from_address`` is set
(docs/notifications.md): a push service may use it to reach the operator."""


class SettingsError(ValueError):
    """The settings cannot be loaded; the message is one line naming the setting and its source."""


class Settings(BaseSettings):
    """Everything an operator can tune; every limit of http-api.md §1.11 is here."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid")

    data_dir: Path = Path("data")
    database_url: str | None = None
    broker_url: str | None = None
    """``redis://host:port/db``: the Redis that links the nodes of one installation (issue #11,
    docs/scaling.md). Unset: one process, nothing shared. Needs PostgreSQL (``database_url``)."""
    node_heartbeat_ttl_s: float = Field(default=10.0, ge=1, le=3600)
    """With a broker: a node that stops refreshing its heartbeat for this long is dead, and the
    other nodes mark the devices it held offline (issue #11, docs/scaling.md)."""
    host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    reuse_port: bool = False
    """Let several processes listen on the HTTP, binary and MQTT ports together (SO_REUSEPORT,
    the kernel balancing connections): off, so that a second server on a busy port refuses to
    start instead of taking half its connections. ``workers`` sets it for its workers."""
    workers: int = 1
    """Processes serving this machine's ports together (``serve --workers N``, issue #11); more
    than 1 needs PostgreSQL (``database_url``) and a broker (``broker_url``). About one per
    core: each is one event loop."""
    log_level: LogLevel = "info"
    """``debug`` also prints the traceback of a start-up failure."""
    access_log: bool = False
    """One INFO line per HTTP request (method, path without query, status, duration)."""
    public_url: str | None = None
    """Base URL for links the server hands out (report files, uploads); default from the request."""
    map_tile_url: str = ""
    """Tile URL template of the console's Map widget (``{z}``, ``{x}``, ``{y}``; ``{s}`` for a
    subdomain), e.g. OpenStreetMap's ``https://tile.openstreetmap.org/{z}/{x}/{y}.png``. Empty
    (the default): no tiles, as this server may have no internet; markers and tracks still show.
    Browsers then load tiles from that host: it learns which areas the console looks at."""

    sqlite_synchronous: str = "FULL"
    max_request_bytes: int = 2 * MB
    max_import_points: int = 10_000
    import_points_per_day: int = 10_000
    import_window_ms: int = 31 * 86_400_000
    events_per_day: int = 100
    max_event_description_chars: int = 300
    automations_max_per_org: int = Field(default=50, ge=0)
    """Automations per organization (automations.md §3.8; Blynk's PRO plan allows 50)."""
    automations_max_actions: int = Field(default=50, ge=1)
    """Actions per automation (§3.8)."""
    automations_catchup_window_s: int = Field(default=0, ge=0)
    """Schedule and sun runs missed while the server was down run at start when they were due
    within this many seconds; older ones are skipped (§3.3). 0: none is caught up."""
    automation_log_days: float = Field(default=90, gt=0, le=3650)
    """How long the automation run log is kept (§5.6)."""
    notification_min_interval_s: float = Field(default=5.0, ge=0, le=3600)
    """Minimum gap between notification messages of one device on one channel (automations.md
    §1.7); a message inside it is logged ``MIN_INTERVAL`` and dropped."""
    automation_messages_per_hour: int = Field(default=20, ge=0)
    """Automation e-mails and pushes per organization per rolling hour (§1.7)."""
    offline_notification_delay_s: float = Field(default=60.0, ge=0, le=86_400)
    """How long a device stays disconnected before its Offline notification goes out; a
    reconnect within it cancels both Offline and Online notifications (§1.6)."""
    notification_log_days: float = Field(default=30, gt=0, le=3650)
    """How long notification-log rows are kept (§5.4)."""
    max_upload_bytes: int = 5 * MB
    max_firmware_bytes: int = Field(default=32 * MB, ge=1024)
    """Largest Blynk.Air firmware file accepted (device-lifecycle.md §1.7): ESP32 images are up
    to a few MB, Raspberry Pi packages (``.tar.gz``) more."""
    ota_base_url: str | None = None
    """Scheme, host and port of the Blynk.Air download links sent to devices
    (``http://host:port``, docs/firmware-updates.md); default ``public_url``, else
    ``http://<host>:<http_port>``. Plain ``http://`` by default: Wio firmware downloads only over
    HTTP, and an HTTPS link works only if the certificate chains to a root the firmware trusts."""
    kept_uploads_per_device: int = 10
    uploads_per_day: int = 1_000
    reports_per_day: int = 10
    report_ttl_days: float = Field(default=45, gt=0, le=36_500)
    """How long a DEV-08 report file can be downloaded before it is deleted (Blynk: 45 days,
    data-model.md §2.7); a fraction of a day is allowed (``0.5``: 12 hours)."""

    history_retention_days: float = Field(default=93, ge=0, le=36_500)
    """How long raw history points are kept (0: forever). Three months: every DEV-08 report
    period, ``THREE_MONTHS`` included, can still be read point by point (docs/decisions.md)."""
    aggregate_retention_days: float = Field(default=400, ge=0, le=36_500)
    """How long per-minute aggregates are kept (0: forever): a year of charts and aggregated
    reports, plus a month. Never shorter than ``history_retention_days``."""

    access_token_ttl_s: int = Field(default=300, ge=1)
    """Lifetime of a Platform API access token: ``expires_in`` of AUTH-01 (300 s in Blynk's
    examples)."""
    refresh_token_ttl_s: int = Field(default=30 * 86_400, ge=1)
    """Lifetime of a refresh token; Blynk documents none, so a month of unattended integrations."""
    access_token_recheck_s: float = Field(default=5.0, ge=0, le=300)
    """How long the server trusts a cached access token before reading it from the database
    again: the longest a token revoked by another process (``pinbase oauth delete-client``)
    keeps working. Deletions through the server itself revoke at once; 0 reads every time."""
    platform_requests_per_minute: int = Field(default=10_000, ge=1)
    """Platform API requests per organization per minute before ``429`` (http-api.md §1.11)."""
    max_page_size: int = Field(default=1000, ge=1)
    """Largest ``size`` of a Platform API page (http-api.md OP-06)."""
    device_requests_per_second: int = Field(default=50, ge=0)
    """Device and legacy API requests per device per second before ``429`` (§1.11); 0: no limit."""
    updates_per_day: int = Field(default=500_000, ge=0)
    """``/external/api/update`` calls per device per UTC day (§1.11); 0: no limit."""
    unknown_tokens_cached: int = Field(default=10_000, ge=0)
    """Unknown device tokens remembered so their repeats skip the database; 0: none."""
    unknown_token_ttl_s: float = Field(default=5.0, ge=0, le=3600)
    """How long an unknown token is remembered: the delay before a device provisioned by another
    process (``pinbase provision``) answers the HTTP APIs."""

    hardware_port: int = Field(default=8442, ge=0, le=65535)
    """Blynk binary protocol over plain TCP (device-protocols.md §1.1); 0 turns it off."""
    hardware_tls_port: int = Field(default=8441, ge=0, le=65535)
    """The same over TLS 1.2+, opened when ``tls_cert`` and ``tls_key`` are set; 0 turns it off."""
    tls_cert: Path | None = None
    """PEM certificate chain of the TLS device listeners (binary and MQTT)."""
    tls_key: Path | None = None
    """PEM private key of the TLS device listeners (binary and MQTT)."""
    proxy_protocol: bool = False
    """The device ports (binary and MQTT, plain and TLS) read a PROXY protocol header (v1 or v2,
    HAProxy's ``send-proxy-v2``) before each connection's own bytes, and count and log its
    logins under the address it names (docs/scaling.md). A connection without one is closed:
    only for ports that nothing but the balancer reaches."""
    heartbeat_factor: float = Field(default=2.3, gt=0, le=100)
    """A silent device is dropped after ceil(factor x its h-beat) seconds (§1.9)."""
    login_failures_limit: int = Field(default=5, ge=0)
    """Failed device logins (binary and MQTT together) per address, and per token, answered at
    once; each further one is answered after a delay, 1 s doubling up to ``login_delay_max_s``.
    A valid token always logs in at once. 0 turns the delay off."""
    login_failures_window_s: int = Field(default=600, ge=1)
    """An address or token with no failed login for this long starts its count over."""
    login_delay_max_s: float = Field(default=30.0, ge=0, le=600)
    """The longest a failed device login's answer waits."""
    console_session_days: float = Field(default=30, gt=0, le=3650)
    """How long a web console session stays valid unused; each use moves its expiry (sliding).
    Console sign-ins are throttled by the ``login_*`` rule above, counted apart from devices'."""
    invitation_days: float = Field(default=30, gt=0, le=3650)
    """How long an invitation link (set a password, web console) stays valid (console.md §1.2)."""
    refused_log_interval_s: float = Field(default=60.0, gt=0, le=86_400)
    """Refused and garbage device connections write their first line in full, then one summary
    line per interval with their count."""
    device_message_rate: float = Field(default=20.0, gt=0)
    """Messages per second a connected device may sustain before the flood rule drops, warns
    and then disconnects it (device-protocols.md §1.12)."""
    device_message_burst: int = Field(default=100, ge=1)
    """Messages a connected device may send at once above that rate."""
    mqtt_port: int = Field(default=1883, ge=0, le=65535)
    """The Blynk MQTT device API over plain TCP (device-protocols.md §2.1); 0 turns it off."""
    mqtt_tls_port: int = Field(default=8883, ge=0, le=65535)
    """The same over TLS 1.2+, opened when ``tls_cert`` and ``tls_key`` are set; 0 turns it off."""
    mqtt_max_packet: int = Field(default=1024, ge=64, le=268_435_455)
    """Largest MQTT packet accepted from a device, header included (§2.6); larger closes it."""
    mqtt_websocket: bool = True
    """Serve the MQTT device API over WebSocket at ``/mqtt`` of the HTTP port (device-lifecycle.md
    §3), and over TLS on ``mqtt_wss_port``: the same sessions, rules and limits as
    ``mqtt_port``."""
    mqtt_wss_port: int = Field(default=9443, ge=0, le=65535)
    """MQTT over secure WebSocket (``wss://<host>:9443/mqtt``, device-lifecycle.md §3), TLS 1.2+,
    opened when ``tls_cert`` and ``tls_key`` are set and ``mqtt_websocket`` is on; it serves
    ``/mqtt`` only. 0 turns it off."""
    mqtt_websocket_origins: Annotated[tuple[str, ...], NoDecode] = ()
    """Web pages (``Origin``, e.g. ``https://panel.example.org``) whose scripts may open MQTT over
    WebSocket (comma-separated in the environment). Empty: any page, since the device token,
    not the page, authenticates."""

    smtp_host: str = ""
    """The SMTP server that sends e-mail notifications; empty (the default): no e-mail channel,
    messages are logged ``CHANNEL_DISABLED`` (automations.md §5.2)."""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: SmtpSecurity = "starttls"
    """``starttls`` (port 587), ``tls`` (implicit TLS, port 465) or ``none`` (plain, only to a
    loopback host: ``localhost``, ``127.*``, ``::1``)."""
    smtp_username: str = ""
    """Log in with this name when set (with ``smtp_password`` or ``smtp_password_file``)."""
    smtp_password: str = ""
    smtp_password_file: Path | None = None
    """A file holding the SMTP password (its first line), instead of ``smtp_password``."""
    smtp_from_address: str = ""
    """The envelope sender and ``From`` address; required when ``smtp_host`` is set."""
    smtp_from_name: str = ""
    """The ``From`` display name when a message names none (default: the organization's)."""
    smtp_reply_to: str = ""
    """A ``Reply-To`` address for every message; empty: none."""
    smtp_timeout_s: float = Field(default=10, gt=0, le=600)
    """Timeout of each SMTP command, connecting included."""
    smtp_validate_certs: bool = True
    """Check the SMTP server's TLS certificate and host name (off only for a private relay)."""
    smtp_max_per_minute: int = Field(default=60, ge=0)
    """Messages sent per minute at most, whatever their organization (relay protection);
    further ones wait for the next minute. 0: no limit."""
    sms_gateway_url: str = ""
    """The HTTP SMS gateway: each SMS is POSTed there as JSON ``{"to": …, "text": …}`` through
    the outbound-call guard (``outbound_*`` settings). Empty (the default): no SMS channel, SMS
    recipients are logged ``CHANNEL_DISABLED`` (automations.md §2.1; docs/sms.md)."""
    sms_gateway_token: str = ""
    """Sent as ``Authorization: Bearer …`` to the SMS gateway when set; never logged."""
    push_vapid_subject: str = ""
    """The contact a Web Push service sees in the VAPID ``sub`` claim (``mailto:…`` or
    ``https://…``); empty: ``mailto:`` + ``smtp_from_address``, else
    ``mailto:pinbase@localhost``."""

    @model_validator(mode="after")
    def _smtp_complete(self) -> Self:
        """Refuse SMTP settings that could only fail later, when a notification is due."""
        if not self.smtp_host:
            return self
        if not self.smtp_from_address or "@" not in self.smtp_from_address:
            raise ValueError(
                "smtp_from_address must be an e-mail address when smtp_host is set"
                " (the From of every notification)"
            )
        host = self.smtp_host.lower()
        if self.smtp_security == "none" and not (host in LOOPBACK_HOSTS or host.startswith("127.")):
            raise ValueError(
                "smtp_security none sends mail and password in clear: only to localhost;"
                " use starttls or tls for " + self.smtp_host
            )
        if self.smtp_password and self.smtp_password_file:
            raise ValueError("set smtp_password or smtp_password_file, not both")
        return self

    @field_validator("sms_gateway_url")
    @classmethod
    def _gateway_url(cls, url: str) -> str:
        url = url.strip()
        if url and not url.lower().startswith(("http://", "https://")):
            raise ValueError("sms_gateway_url must be an http:// or https:// URL")
        return url

    @field_validator("smtp_password_file")
    @classmethod
    def _readable_password(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError("no such file")
        return path

    @field_validator("push_vapid_subject")
    @classmethod
    def _vapid_contact(cls, subject: str) -> str:
        if subject and not subject.startswith(("mailto:", "https://")):
            raise ValueError("a VAPID subject is mailto:you@example.com or an https:// URL")
        return subject

    def smtp_secret(self) -> str:
        """The SMTP password: ``smtp_password``, or the first line of ``smtp_password_file``."""
        if self.smtp_password_file is None:
            return self.smtp_password
        lines = self.smtp_password_file.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""

    def vapid_subject(self) -> str:
        """The VAPID ``sub`` claim of Web Push requests (see ``push_vapid_subject``)."""
        if self.push_vapid_subject:
            return self.push_vapid_subject
        if self.smtp_from_address:
            return "mailto:" + self.smtp_from_address
        return DEFAULT_VAPID_SUBJECT

    # Webhooks (automations.md §4, §5.6; docs/webhooks.md).
    webhooks_max_per_org: int = Field(default=100, ge=0)
    """Webhooks one organization may have (limits.md: 100 on PRO)."""
    webhooks_rate_per_minute: int = Field(default=10, ge=0)
    """Requests per webhook per minute (token bucket); excess is dropped and logged
    ``RATE_LIMITED``. 0: no limit."""
    webhooks_max_body_bytes: int = Field(default=5120, ge=1, le=1_048_576)
    """Largest request body after substitution (``BODY_TOO_LARGE``)."""
    webhooks_max_url_chars: int = Field(default=1024, ge=16, le=8192)
    """Longest request URL after substitution (``URL_TOO_LONG``)."""
    webhooks_disable_after_failures: int = Field(default=0, ge=0)
    """Consecutive failed deliveries after which a webhook is disabled (its failure receivers
    are told); 0: never."""
    webhooks_legacy_placeholders: bool = True
    """Expand Blynk 1.0's ``/pin/``, ``/pin[N]/``, ``%s``, ``/datetime_iso/`` and
    ``device_owner_email`` next to the ``{…}`` placeholders (§4.6)."""
    webhooks_enterprise_triggers: bool = False
    """Offer the triggers beyond datastream updates (first connection, product log event, user
    and organization lifecycle; §4.2)."""
    outbox_retention_days: float = Field(default=7, ge=0, le=36_500)
    """How long outbox deliveries that ended (sent, failed, cancelled) are kept (0: forever);
    the notification and webhook logs keep their outcome longer (automations.md §5.6)."""
    outbound_allowed_networks: Annotated[tuple[str, ...], NoDecode] = ()
    """CIDRs that calls leaving Pinbase may reach although private, loopback or link-local
    (automations.md §5.5; comma-separated in the environment). Empty: none (docs/outbound.md)."""
    outbound_allowed_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    """Host names that calls leaving Pinbase may reach whatever their addresses resolve to
    (comma-separated in the environment). Empty: none."""
    outbound_connect_timeout_s: float = Field(default=5.0, gt=0, le=300)
    """How long a webhook, OAuth token or Web Push call may take to connect (§4.7)."""
    outbound_total_timeout_s: float = Field(default=10.0, gt=0, le=600)
    """How long such a call may take in all, connecting, sending and reading (§4.7)."""

    @model_validator(mode="after")
    def _aggregates_outlive_points(self) -> Self:
        """Refuse aggregates kept shorter than raw points: reports fold whole minutes from the
        aggregates, so a minute deleted there while its points remain would vanish from them."""
        points, minutes = self.history_retention_days, self.aggregate_retention_days
        if minutes and (not points or minutes < points):
            raise ValueError(
                "aggregate_retention_days must be at least history_retention_days"
                " (0 is forever: set both to 0 to keep everything)"
            )
        return self

    @field_validator("map_tile_url")
    @classmethod
    def _tile_template(cls, url: str) -> str:
        if url and not (
            url.startswith(("https://", "http://")) and all(p in url for p in MAP_TILE_PLACES)
        ):
            raise ValueError(
                "a tile URL is http(s)://… with {z}, {x} and {y}, "
                "e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png (empty: no tiles)"
            )
        return url

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, url: str | None) -> str | None:
        scheme = url.partition("://")[0] if url else None
        if scheme is not None and scheme not in DATABASE_SCHEMES:
            raise ValueError(
                f"unsupported database URL scheme {scheme!r}: use postgresql+asyncpg://… "
                "or leave it unset for SQLite in the data folder"
            )
        return url

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, url: str | None) -> str | None:
        scheme = url.partition("://")[0] if url else None
        if scheme is not None and scheme not in BROKER_SCHEMES:
            raise ValueError(f"unsupported broker URL scheme {scheme!r}: use redis://host:port")
        return url

    @model_validator(mode="after")
    def _broker_needs_a_shared_database(self) -> Self:
        if self.broker_url and not (self.database_url or "").startswith("postgresql"):
            raise ValueError(
                "a broker links nodes sharing one PostgreSQL database, and SQLite belongs to one "
                "process: set --database-url postgresql+asyncpg://… or unset --broker-url"
            )
        return self

    @field_validator("workers")
    @classmethod
    def _at_least_one_worker(cls, workers: int) -> int:
        if workers < 1:
            raise ValueError("at least 1 process must serve (1: this process alone)")
        return workers

    @model_validator(mode="after")
    def _workers_form_one_installation(self) -> Self:
        """Refuse several workers that could not act as one server (docs/scaling.md)."""
        if self.workers == 1:
            return self
        if not (self.database_url or "").startswith("postgresql"):
            raise ValueError(
                "several workers share one database, and SQLite belongs to one process: "
                "set --database-url postgresql+asyncpg://… or --workers 1"
            )
        if not self.broker_url:
            raise ValueError(
                "several workers are one installation only through a broker (a value written "
                "on one must reach devices on the others): set --broker-url redis://… "
                "or --workers 1"
            )
        if self.http_port == 0:
            raise ValueError(
                "several workers share fixed ports, and http_port 0 would give each its own: "
                "set --http-port"
            )
        return self

    @model_validator(mode="after")
    def _one_port_per_listener(self) -> Self:
        seen: dict[int, str] = {}
        for name, port in self.listening_ports().items():
            if port in seen:
                raise ValueError(f"{seen[port]} and {name} are both {port}: give each its own port")
            seen[port] = name
        return self

    def listening_ports(self) -> dict[str, int]:
        """The ports ``serve`` listens on, by setting name: those not turned off (0), the TLS
        ones only when a certificate and key are set."""
        tls = self.tls_cert is not None and self.tls_key is not None
        ports = {
            "http_port": self.http_port,
            "hardware_port": self.hardware_port,
            "hardware_tls_port": self.hardware_tls_port if tls else 0,
            "mqtt_port": self.mqtt_port,
            "mqtt_tls_port": self.mqtt_tls_port if tls else 0,
            "mqtt_wss_port": self.mqtt_wss_port if tls and self.mqtt_websocket else 0,
        }
        return {name: port for name, port in ports.items() if port}

    @field_validator(
        "outbound_allowed_networks",
        "outbound_allowed_hosts",
        "mqtt_websocket_origins",
        mode="before",
    )
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("outbound_allowed_networks")
    @classmethod
    def _networks(cls, networks: tuple[str, ...]) -> tuple[str, ...]:
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(
                    f"{network!r} is not a network: use CIDRs such as 192.168.1.0/24 or ::1/128"
                ) from None
        return networks

    @field_validator("mqtt_websocket_origins")
    @classmethod
    def _origins(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        for origin in origins:
            scheme, _, rest = origin.partition("://")
            if scheme.lower() not in ("http", "https") or not rest or "/" in rest.rstrip("/"):
                raise ValueError(
                    f"{origin!r} is not an origin: use scheme://host[:port], e.g."
                    " https://panel.example.org"
                )
        return origins

    @field_validator("outbound_allowed_hosts")
    @classmethod
    def _hosts(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(host.lower().rstrip(".") for host in hosts)

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_case(cls, level: object) -> object:
        return level.lower() if isinstance(level, str) else level

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Add the TOML file named by ``PINBASE_CONFIG`` below the environment."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_file = os.environ.get(CONFIG_ENV)
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_file)))
        return tuple(sources)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings; ``overrides`` are the options given on the command line.

    Raises:
        SettingsError: the config file is missing or not TOML, a ``PINBASE_*`` variable or a
            TOML key names no setting, or a value is invalid.
    """
    if config_file is not None:
        os.environ[CONFIG_ENV] = str(config_file)
    toml_file = os.environ.get(CONFIG_ENV)
    if toml_file and not Path(toml_file).is_file():
        raise SettingsError(f"config file {toml_file} does not exist; fix --config or {CONFIG_ENV}")
    _refuse_unknown_variables(os.environ)
    try:
        return Settings(**{key: value for key, value in overrides.items() if value is not None})
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"config file {toml_file} is not valid TOML: {error}") from error
    except OSError as error:
        raise SettingsError(f"cannot read config file {toml_file}: {error.strerror}") from error
    except ValidationError as error:
        raise SettingsError(_first_problem(error, toml_file, options=overrides)) from error


def _refuse_unknown_variables(environ: Mapping[str, str]) -> None:
    """A misspelt ``PINBASE_*`` variable would otherwise be ignored without a word."""
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields} | {CONFIG_ENV}
    for name in sorted(environ):
        upper = name.upper()
        if upper.startswith(ENV_PREFIX) and upper not in known:
            close = difflib.get_close_matches(upper, known - {CONFIG_ENV}, n=1, cutoff=0.8)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise SettingsError(f"unknown setting {name} in the environment{hint}; unset it")


def _first_problem(
    error: ValidationError, toml_file: str | None, *, options: Mapping[str, object]
) -> str:
    """One line for the first problem pydantic found, naming the setting and where it is set;
    ``options`` are the settings the running command takes as options."""
    problem = error.errors()[0]
    name = ".".join(str(part) for part in problem["loc"])
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    if problem["type"] == "extra_forbidden":
        close = difflib.get_close_matches(name, Settings.model_fields, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        return f"unknown setting {name!r} in config file {toml_file}{hint}; remove it{more}"
    message = problem["msg"].removeprefix("Value error, ")
    if not name:  # a rule over several settings names them itself
        return f"invalid settings: {message}{more}"
    value = "" if name in SECRET_SETTINGS else f" {problem['input']!r}"
    option = "--" + name.replace("_", "-") + ", " if name in options else ""
    return (
        f"invalid {name}{value}: {message}; change {option}"
        f"{ENV_PREFIX}{name.upper()} or {name} in the config file{more}"
    )
