"""What every device listener of a process shares about failed logins (issue #8 item 5).

One rule and one count (``LoginThrottle``), one tarpit and one log summary serve the binary
protocol and MQTT, plain and TLS alike, so a peer cannot double its attempts by switching
protocol or port: ``runtime`` builds the guard once and hands it to both listener families.
"""

import asyncio
import logging
from dataclasses import dataclass

from pinbase.services.clock import Clock
from pinbase.services.login_throttle import LoginThrottle
from pinbase.settings import Settings
from pinbase.transports.log_summary import LogSummary
from pinbase.transports.tarpit import Tarpit

logger = logging.getLogger(__name__)

REFUSED = "device.logins_refused"
"""The summary kind of refused logins (a wrong token, username or client id), both protocols."""
GARBAGE = "device.protocol_errors"
"""The summary kind of connections that broke the protocol before logging in."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginGuard:
    """The failed-login rule, its tarpit and its log summary, shared by every listener."""

    throttle: LoginThrottle
    tarpit: Tarpit
    log: LogSummary

    @classmethod
    def for_settings(cls, settings: Settings, *, clock: Clock) -> "LoginGuard":
        """The guard the settings describe, its summaries timed by the running loop."""
        loop = asyncio.get_running_loop()
        return cls(
            throttle=LoginThrottle(
                clock,
                free_failures=settings.login_failures_limit,
                window_s=settings.login_failures_window_s,
                max_delay_s=settings.login_delay_max_s,
            ),
            tarpit=Tarpit(),
            log=LogSummary(
                logger,
                interval_s=settings.refused_log_interval_s,
                clock=loop.time,
                schedule=loop.call_later,
            ),
        )
