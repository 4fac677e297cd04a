"""The outbound allow-list settings (docs/outbound.md): empty by default, comma-separated in the
environment, lists in a config file, and a malformed network refused at load."""

from pathlib import Path

import pytest

from pinbase.settings import Settings, SettingsError, load_settings


def test_nothing_private_is_allowed_by_default() -> None:
    """No network and no host is allowed unless the operator names it."""
    settings = Settings(data_dir=Path("d"))
    assert (settings.outbound_allowed_networks, settings.outbound_allowed_hosts) == ((), ())
    assert (settings.outbound_connect_timeout_s, settings.outbound_total_timeout_s) == (5, 10)
    assert settings.outbox_retention_days == 7


def test_the_environment_takes_comma_separated_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    """Comma-separated values are split and trimmed; host names are lower-cased without the
    final dot."""
    monkeypatch.setenv("PINBASE_OUTBOUND_ALLOWED_NETWORKS", "127.0.0.1/32, 192.168.1.0/24,")
    monkeypatch.setenv("PINBASE_OUTBOUND_ALLOWED_HOSTS", "Mail.LAN., ha.lan")
    settings = load_settings()
    assert settings.outbound_allowed_networks == ("127.0.0.1/32", "192.168.1.0/24")
    assert settings.outbound_allowed_hosts == ("mail.lan", "ha.lan")


def test_a_config_file_takes_lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A TOML list works as well."""
    config = tmp_path / "pinbase.toml"
    config.write_text('outbound_allowed_networks = ["10.0.0.5/32"]\n')
    monkeypatch.setenv("PINBASE_CONFIG", str(config))
    assert load_settings().outbound_allowed_networks == ("10.0.0.5/32",)


def test_a_malformed_network_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value that is no CIDR stops the load with a message naming the setting."""
    monkeypatch.setenv("PINBASE_OUTBOUND_ALLOWED_NETWORKS", "192.168.1.0/24,lan")
    with pytest.raises(SettingsError, match="PINBASE_OUTBOUND_ALLOWED_NETWORKS"):
        load_settings()
