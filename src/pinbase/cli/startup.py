"""Start-up failures as one plain line on stderr and an exit code (docs/cli.md, "Exit codes").

A failure names its cause and the setting to change; the traceback is printed only under
``--log-level debug``. Exit code 2 means the settings cannot be loaded (the file, a variable or a
value is wrong, like a wrong command-line option in click); 1 means everything else: a port, the
data folder, the database, a TLS file, or an unexpected error.
"""

import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from pinbase.settings import Settings, SettingsError
from pinbase.storage.availability import DatabaseUnavailable, DataFolderUnusable
from pinbase.transports.listening import TlsUnusable
from pinbase.transports.ports import PortUnavailable
from pinbase.transports.redis_broker import BrokerUnavailable

EXIT_FAILURE = 1
EXIT_CONFIGURATION = 2

KNOWN_FAILURES = (
    SettingsError,
    DataFolderUnusable,
    DatabaseUnavailable,
    PortUnavailable,
    TlsUnusable,
    BrokerUnavailable,
)
"""Failures every command explains in one line; ``serve`` explains any failure."""


@contextmanager
def failures_reported(
    settings: Settings | None = None, *, debug: bool = False, unexpected: bool = True
) -> Iterator[None]:
    """Turn an exception of the block into ``pinbase: …`` on stderr and ``SystemExit``.

    Args:
        settings: the loaded settings, to name the option of a busy port.
        debug: print the traceback first.
        unexpected: explain any exception, not only ``KNOWN_FAILURES``.
    """
    try:
        yield
    except Exception as error:
        if not unexpected and not isinstance(error, KNOWN_FAILURES):
            raise
        if debug:
            traceback.print_exc()
        line, code = explain(error, settings)
        typer.echo(f"pinbase: {line}", err=True)
        raise SystemExit(code) from None


def explain(error: Exception, settings: Settings | None) -> tuple[str, int]:
    """The one line (without the ``pinbase:`` prefix) and the exit code for ``error``."""
    match error:
        case SettingsError():
            return str(error), EXIT_CONFIGURATION
        case PortUnavailable():
            return _port_line(error, settings), EXIT_FAILURE
        case DataFolderUnusable():
            return f"{error}; choose another --data or make it writable", EXIT_FAILURE
        case DatabaseUnavailable(embedded=True):
            return f"{error}; check the file or choose another --data", EXIT_FAILURE
        case DatabaseUnavailable():
            return f"{error}; start the database or fix --database-url", EXIT_FAILURE
        case TlsUnusable():
            return f"{error}; fix --tls-cert and --tls-key", EXIT_FAILURE
        case BrokerUnavailable():
            return f"{error}; start Redis or fix --broker-url", EXIT_FAILURE
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return (
        f"stopped by an unexpected error: {type(error).__name__}: {first} "
        "(run with --log-level debug for the traceback)",
        EXIT_FAILURE,
    )


def _port_line(error: PortUnavailable, settings: Settings | None) -> str:
    ports = settings.listening_ports() if settings else {}
    names = [name for name, port in ports.items() if port == error.port]
    options = " / ".join("--" + name.replace("_", "-") for name in names) or "the port setting"
    if error.in_use:
        advice = f"choose another {options} or stop the other server"
    elif error.denied:
        advice = f"choose a port above 1023 with {options}"
    else:
        advice = f"check --host and {options}"
    return f"{error}; {advice}"
