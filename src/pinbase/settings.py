"""One frozen ``Settings``, loaded once by the CLI and passed down.

Sources, strongest first: command-line options, ``PINBASE_*`` environment variables, a TOML file
(``--config FILE`` or ``PINBASE_CONFIG``), then the defaults below.
"""

import os
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

MB = 1024 * 1024


class Settings(BaseSettings):
    """Everything an operator can tune; every limit of http-api.md §1.11 is here."""

    model_config = SettingsConfigDict(env_prefix="PINBASE_", frozen=True, extra="forbid")

    data_dir: Path = Path("data")
    database_url: str | None = None
    host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    public_url: str | None = None
    """Base URL for links the server hands out (report files, uploads); default from the request."""

    sqlite_synchronous: str = "FULL"
    max_request_bytes: int = 2 * MB
    max_import_points: int = 10_000
    import_points_per_day: int = 10_000
    import_window_ms: int = 31 * 86_400_000
    events_per_day: int = 100
    max_event_description_chars: int = 300
    max_upload_bytes: int = 5 * MB
    kept_uploads_per_device: int = 10
    uploads_per_day: int = 1_000
    reports_per_day: int = 10
    report_ttl_days: float = Field(default=45, gt=0, le=36_500)
    """How long a DEV-08 report file can be downloaded before it is deleted (Blynk: 45 days,
    data-model.md §2.7); a fraction of a day is allowed (``0.5``: 12 hours)."""

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
    heartbeat_factor: float = Field(default=2.3, gt=0, le=100)
    """A silent device is dropped after ceil(factor x its h-beat) seconds (§1.9)."""
    login_failures_limit: int = Field(default=5, ge=0)
    """Failed device logins from one address before it is refused (0: never refused)."""
    login_block_s: int = Field(default=600, ge=1)
    """How long an address that failed too many device logins is refused."""
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
        toml_file = os.environ.get("PINBASE_CONFIG")
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(toml_file)))
        return tuple(sources)


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build the settings; ``overrides`` are the options given on the command line."""
    if config_file is not None:
        os.environ["PINBASE_CONFIG"] = str(config_file)
    return Settings(**{key: value for key, value in overrides.items() if value is not None})
