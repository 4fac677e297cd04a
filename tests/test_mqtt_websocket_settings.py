"""The MQTT-over-WebSocket settings (docs/mqtt.md, "MQTT over WebSocket"): on by default with
no Origin allow-list, origins comma-separated in the environment, a malformed one refused."""

from pathlib import Path

import pytest

from pinbase.settings import Settings, SettingsError, load_settings


def test_on_by_default_for_any_origin() -> None:
    """``/mqtt`` is served and any page may connect unless the operator says otherwise."""
    settings = Settings(data_dir=Path("d"))
    assert settings.mqtt_websocket is True
    assert settings.mqtt_websocket_origins == ()


def test_origins_are_comma_separated_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Comma-separated origins are split and trimmed."""
    monkeypatch.setenv(
        "PINBASE_MQTT_WEBSOCKET_ORIGINS", "https://panel.example.org, http://10.0.0.5:8000,"
    )
    settings = load_settings()
    assert settings.mqtt_websocket_origins == ("https://panel.example.org", "http://10.0.0.5:8000")


@pytest.mark.parametrize("origin", ["panel.example.org", "ftp://x.org", "https://x.org/page"])
def test_a_malformed_origin_is_refused(monkeypatch: pytest.MonkeyPatch, origin: str) -> None:
    """An origin is ``scheme://host[:port]``; anything else stops the load, naming the
    setting."""
    monkeypatch.setenv("PINBASE_MQTT_WEBSOCKET_ORIGINS", origin)
    with pytest.raises(SettingsError, match="PINBASE_MQTT_WEBSOCKET_ORIGINS"):
        load_settings()
