"""Listening ports that cannot be had: one error type for the HTTP and the device listeners.

The HTTP server (granian) binds with SO_REUSEPORT, so a second Pinbase on the same port would
bind it too and take half the requests into another database. ``ensure_port_free`` binds once
without SO_REUSEPORT before granian starts: the kernel then refuses the port while any listener
holds it. SO_REUSEADDR is set as every server sets it, so connections of a server just stopped
(TIME_WAIT) do not keep its successor from starting.
"""

import errno
import os
import socket


class PortUnavailable(OSError):
    """``host:port`` cannot be listened on; ``reason`` says why in a few words."""

    def __init__(self, host: str, port: int, reason: str, *, code: int | None = None) -> None:
        super().__init__(f"cannot listen on {host}:{port} ({reason})")
        self.host = host
        self.port = port
        self.reason = reason
        self.in_use = code == errno.EADDRINUSE
        """Another listener holds the port."""
        self.denied = code == errno.EACCES
        """A port below 1024 and no privilege to bind it."""


def unavailable(host: str, port: int, error: OSError) -> PortUnavailable:
    """The ``PortUnavailable`` an ``OSError`` of name resolution or ``bind`` means."""
    if isinstance(error, socket.gaierror):
        return PortUnavailable(host, port, f"unknown host: {error.strerror}")
    reason = os.strerror(error.errno).lower() if error.errno else str(error)
    return PortUnavailable(host, port, reason, code=error.errno)


def ensure_port_free(host: str, port: int) -> None:
    """Raise ``PortUnavailable`` when a listener (of any process) holds ``host:port``.

    Port 0 asks for any free port, so it is always free. A race with a process that binds the
    port between this check and granian's bind is still possible, and only at start-up.
    """
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise unavailable(host, port, error) from error
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                raise unavailable(host, port, error) from error
