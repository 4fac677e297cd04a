"""What every device listener of a process shares about failed logins (issue #8 item 5).

One rule and one count (``LoginThrottle``), one tarpit and one log summary serve the binary
protocol and MQTT, plain and TLS alike, so a peer cannot double its attempts by switching
protocol or port: ``runtime`` builds the guard once and hands it to both listener families.
"""

import asyncio
import logging
from dataclasses import dataclass

from pinbase.services.clock import Clock
from pinbase.services.login_throttle import LoginThrottle, SharedLoginThrottle
from pinbase.services.rate_limit import SharedCounters
from pinbase.settings import Settings
from pinbase.transports.log_summary import LogSummary
from pinbase.transports.tarpit import Tarpit

logger = logging.getLogger(__name__)

REFUSED = "device.logins_refused"
"""The summary kind of refused logins (a wrong token, username or client id), both protocols."""
GARBAGE = "device.protocol_errors"
"""The summary kind of connections that broke the protocol before logging in."""


def login_throttle(
    settings: Settings, *, clock: Clock, name: str, counters: SharedCounters | None
) -> LoginThrottle:
    """The failed-login rule the settings describe: this process's own count, or with
    ``counters`` the installation's, under ``name``."""
    free, window_s = settings.login_failures_limit, settings.login_failures_window_s
    max_delay_s = settings.login_delay_max_s
    if counters is None:
        return LoginThrottle(clock, free_failures=free, window_s=window_s, max_delay_s=max_delay_s)
    return SharedLoginThrottle(
        clock,
        free_failures=free,
        window_s=window_s,
        max_delay_s=max_delay_s,
        name=name,
        counters=counters,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginGuard:
    """The failed-login rule, its tarpit and its log summary, shared by every listener."""

    throttle: LoginThrottle
    tarpit: Tarpit
    log: LogSummary

    @classmethod
    def for_settings(
        cls, settings: Settings, *, clock: Clock, counters: SharedCounters | None = None
    ) -> "LoginGuard":
        """The guard the settings describe, its summaries timed by the running loop; with
        ``counters`` (several nodes) failures count across the installation (the caller runs
        the throttle's ``run``)."""
        loop = asyncio.get_running_loop()
        return cls(
            throttle=login_throttle(settings, clock=clock, name="device", counters=counters),
            tarpit=Tarpit(),
            log=LogSummary(
                logger,
                interval_s=settings.refused_log_interval_s,
                clock=loop.time,
                schedule=loop.call_later,
            ),
        )
