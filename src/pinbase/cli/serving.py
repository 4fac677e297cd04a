"""Running a server in this process: its logging and the one-line report of a failure; shared
by ``serve`` and each worker of ``serve --workers N`` (``cli.workers``)."""

import logging

import uvloop

from pinbase import runtime
from pinbase.cli.startup import failures_reported
from pinbase.settings import Settings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
WORKERS_LOG_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s %(message)s"
"""With several workers, each line names its process: the workers and their parent write to
the same output."""


def configure_logging(settings: Settings) -> None:
    """Log at the settings' level, each line naming its process when there are workers."""
    many = settings.workers > 1
    logging.basicConfig(
        level=settings.log_level.upper(), format=WORKERS_LOG_FORMAT if many else LOG_FORMAT
    )
    # httpx logs every outbound request's full URL at INFO: a webhook's query may carry a device
    # token or a secret, a Web Push endpoint is a capability. Webhook logs mask them instead.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def run_server(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM (``runtime.serve``) on uvloop; a failure is one line on
    stderr and ``SystemExit``."""
    with failures_reported(settings, debug=settings.log_level == "debug"):
        uvloop.run(runtime.serve(settings))
