"""``pinbase serve`` with the plain binary listener only, e-mail through a test's SMTP server
and loopback allowed as an outbound target: the server the event-notification interop tests
drive a real device against."""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from interop_driver import InteropServer

from pinbase.testing import ServerProcess, free_port, provision


@contextmanager
def mailed_server(
    data_dir: Path,
    spec: dict[str, Any],
    *,
    smtp_port: int,
    from_address: str,
    env: Mapping[str, str] | None = None,
) -> Iterator[InteropServer]:
    """Provision ``spec`` into ``data_dir`` and run the server for the block.

    Args:
        data_dir: the server's data folder.
        spec: the provisioning file.
        smtp_port: the loopback SMTP server's port (no TLS, no login).
        from_address: ``PINBASE_SMTP_FROM_ADDRESS``.
        env: more environment settings.
    """
    created = provision(spec, data_dir=data_dir)
    port = free_port()
    options = [f"--hardware-port={port}", "--hardware-tls-port=0", "--mqtt-port=0"]
    options += ["--mqtt-tls-port=0"]
    settings = {
        "PINBASE_SMTP_HOST": "127.0.0.1",
        "PINBASE_SMTP_PORT": str(smtp_port),
        "PINBASE_SMTP_SECURITY": "none",
        "PINBASE_SMTP_FROM_ADDRESS": from_address,
        "PINBASE_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.1/32",
        **(env or {}),
    }
    with ServerProcess(data_dir, *options, env=settings) as process:
        yield InteropServer(
            process=process,
            hardware_port=port,
            tls_port=0,
            mqtt_port=0,
            mqtt_tls_port=0,
            cert=data_dir,
            devices=created["devices"],
        )
