"""The SMTP and Web Push settings (automations.md §5.2, §5.3): an incomplete or unsafe SMTP
configuration stops ``pinbase serve`` at start with one line and exit code 2, before a
notification could fail on it."""

from pathlib import Path

import pytest

from pinbase.settings import DEFAULT_VAPID_SUBJECT, SettingsError, load_settings
from pinbase.testing import run_cli

QUIET = ("--hardware-port", "0", "--mqtt-port", "0", "--mqtt-tls-port", "0", "--http-port", "0")


def test_smtp_host_without_from_address_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An SMTP host without a From address exits 2 with one line naming the setting."""
    monkeypatch.setenv("PINBASE_SMTP_HOST", "mail.example.com")
    done = run_cli("serve", "--data", str(tmp_path), *QUIET, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "pinbase: invalid settings: smtp_from_address must be an e-mail address when smtp_host"
        " is set (the From of every notification)"
    ]
    assert not tmp_path.joinpath("pinbase.db").exists()


def test_plain_smtp_only_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """``smtp_security = none`` is refused for a remote host and accepted for localhost."""
    monkeypatch.setenv("PINBASE_SMTP_FROM_ADDRESS", "pinbase@example.com")
    monkeypatch.setenv("PINBASE_SMTP_SECURITY", "none")
    monkeypatch.setenv("PINBASE_SMTP_HOST", "mail.example.com")
    with pytest.raises(SettingsError, match="only to localhost"):
        load_settings()
    for host in ("localhost", "127.0.0.2", "::1"):
        monkeypatch.setenv("PINBASE_SMTP_HOST", host)
        assert load_settings().smtp_host == host


def test_the_password_is_never_repeated_and_may_come_from_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error names ``smtp_password`` without its value; a password file's first line is the
    password."""
    monkeypatch.setenv("PINBASE_SMTP_PASSWORD", "hunter2")
    monkeypatch.setenv("PINBASE_SMTP_PORT", "99999")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert "hunter2" not in str(refused.value)
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\nignored\n")
    monkeypatch.delenv("PINBASE_SMTP_PORT")
    monkeypatch.delenv("PINBASE_SMTP_PASSWORD")
    monkeypatch.setenv("PINBASE_SMTP_PASSWORD_FILE", str(secret))
    assert load_settings().smtp_secret() == "s3cret"
    monkeypatch.setenv("PINBASE_SMTP_PASSWORD", "hunter2")
    with pytest.raises(SettingsError, match="not both"):
        load_settings(smtp_host="localhost", smtp_from_address="a@example.com")


def test_vapid_subject_defaults_to_the_from_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """The VAPID contact is the setting, else ``mailto:`` the From address, else a fixed one."""
    assert load_settings().vapid_subject() == DEFAULT_VAPID_SUBJECT
    monkeypatch.setenv("PINBASE_SMTP_FROM_ADDRESS", "ops@example.com")
    assert load_settings().vapid_subject() == "mailto:ops@example.com"
    monkeypatch.setenv("PINBASE_PUSH_VAPID_SUBJECT", "https://iot.example.com")
    assert load_settings().vapid_subject() == "https://iot.example.com"
    monkeypatch.setenv("PINBASE_PUSH_VAPID_SUBJECT", "ops@example.com")
    with pytest.raises(SettingsError, match="mailto:"):
        load_settings()
