"""Typer application: one function per command; the work happens in runtime and services."""

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from pinbase import __version__, runtime
from pinbase.cli.backup import backup_app
from pinbase.cli.edgent import edgent_app
from pinbase.cli.legacy import import_legacy_command
from pinbase.cli.oauth import oauth_app
from pinbase.cli.serving import configure_logging, run_server
from pinbase.cli.startup import failures_reported
from pinbase.cli.workers import Supervisor
from pinbase.services.clock import system_clock
from pinbase.services.demo import CONSOLE_EMAIL, demo_spec, new_console_password, usage_lines
from pinbase.services.provisioning import ProvisioningError, parse_spec, provision
from pinbase.settings import LogLevel, Settings, load_settings
from pinbase.storage.data_folder import DEMO, FILE_MODE

app = typer.Typer(help="Pinbase: a self-hosted IoT cloud compatible with Blynk's public APIs.")
app.add_typer(oauth_app, name="oauth")
app.add_typer(backup_app)  # backup, restore
app.add_typer(edgent_app, name="edgent")
app.command("import-legacy")(import_legacy_command)
err = Console(stderr=True)

DataOption = Annotated[Path, typer.Option("--data", help="Data folder (SQLite file, uploads).")]
DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", help="postgresql+asyncpg://… instead of embedded SQLite."),
]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="A TOML settings file.")]


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"pinbase {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Pinbase: a self-hosted IoT cloud compatible with Blynk's public APIs."""


@app.command()
def serve(
    data: DataOption = Path("data"),
    database_url: DatabaseOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    http_port: Annotated[int | None, typer.Option("--http-port", help="HTTP port.")] = None,
    config: ConfigOption = None,
    hardware_port: Annotated[
        int | None, typer.Option("--hardware-port", help="Blynk device port (TCP); 0: off.")
    ] = None,
    hardware_tls_port: Annotated[
        int | None,
        typer.Option("--hardware-tls-port", help="Blynk device port (TLS); 0: off."),
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="PEM certificate of the TLS ports.")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", help="PEM private key of the TLS ports.")
    ] = None,
    mqtt_port: Annotated[
        int | None, typer.Option("--mqtt-port", help="Blynk MQTT device port; 0: off.")
    ] = None,
    mqtt_tls_port: Annotated[
        int | None,
        typer.Option("--mqtt-tls-port", help="Blynk MQTT device port (TLS); 0: off."),
    ] = None,
    mqtt_wss_port: Annotated[
        int | None,
        typer.Option("--mqtt-wss-port", help="MQTT over secure WebSocket port (/mqtt); 0: off."),
    ] = None,
    log_level: Annotated[
        LogLevel | None,
        typer.Option("--log-level", help="debug, info, warning or error; debug adds tracebacks."),
    ] = None,
    access_log: Annotated[
        bool | None,
        typer.Option("--access-log/--no-access-log", help="Log one line per HTTP request."),
    ] = None,
    broker_url: Annotated[
        str | None,
        typer.Option("--broker-url", help="redis://… linking the nodes of one installation."),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", help="Processes sharing this machine's ports (PostgreSQL and a broker)."
        ),
    ] = None,
) -> None:
    """Run the server until interrupted; GET /healthz answers 200 once it is ready."""
    with failures_reported(debug=log_level == "debug"):
        settings = load_settings(
            config,
            data_dir=data,
            database_url=database_url,
            host=host,
            http_port=http_port,
            hardware_port=hardware_port,
            hardware_tls_port=hardware_tls_port,
            tls_cert=tls_cert,
            tls_key=tls_key,
            mqtt_port=mqtt_port,
            mqtt_tls_port=mqtt_tls_port,
            mqtt_wss_port=mqtt_wss_port,
            log_level=log_level,
            access_log=access_log,
            broker_url=broker_url,
            workers=workers,
        )
    configure_logging(settings)
    if settings.workers == 1:
        run_server(settings)
        return
    with failures_reported(settings, debug=settings.log_level == "debug"):
        code = Supervisor(settings).run()
    raise typer.Exit(code)


@app.command("provision")
def provision_command(
    file: Annotated[Path, typer.Argument(help="JSON file describing what to create.")],
    data: DataOption = Path("data"),
    database_url: DatabaseOption = None,
    config: ConfigOption = None,
) -> None:
    """Create an organization with OAuth clients, templates and devices; print them as JSON."""
    settings = load_settings(config, data_dir=data, database_url=database_url)
    try:
        spec = json.loads(file.read_text())
        parse_spec(spec)
    except (OSError, json.JSONDecodeError) as error:
        err.print(f"[red]cannot read {file}: {error}[/red]")
        raise typer.Exit(2) from None
    except ProvisioningError as error:
        err.print(f"[red]invalid provisioning file: {error}[/red]")
        raise typer.Exit(2) from None

    try:
        created = asyncio.run(_provision(settings, spec))
    except ProvisioningError as error:
        err.print(f"[red]nothing was created: {error}[/red]")
        raise typer.Exit(2) from None
    typer.echo(json.dumps(created, indent=2))


async def _provision(settings: Settings, spec: object) -> dict[str, Any]:
    """Open the database, create what ``spec`` describes, close the database."""
    store = await runtime.open_store(settings)
    try:
        return await provision(
            store,
            parse_spec(spec),
            clock=system_clock,
            max_actions=settings.automations_max_actions,
            user_triggers=runtime.webhook_limits(settings)
            if settings.webhooks_enterprise_triggers
            else None,
        )
    finally:
        await store.close()


@app.command()
def demo(
    data: DataOption = Path("data"),
    database_url: DatabaseOption = None,
    host: Annotated[str, typer.Option(help="Address the server listens on.")] = "127.0.0.1",
    http_port: Annotated[
        int, typer.Option("--http-port", help="Port used in the examples.")
    ] = 8080,
    hardware_port: Annotated[
        int, typer.Option("--hardware-port", help="Blynk device port devices are told.")
    ] = 8442,
    mqtt_port: Annotated[
        int, typer.Option("--mqtt-port", help="MQTT device port devices are told.")
    ] = 1883,
) -> None:
    """Provision the demo organization and its console Admin once (kept in DATA/demo.json) and
    print how to use them."""
    settings = load_settings(None, data_dir=data, database_url=database_url)
    record = data / DEMO
    if record.exists():
        created = json.loads(record.read_text())
    else:
        password = new_console_password()
        created = asyncio.run(_provision(settings, demo_spec(password)))
        created["console"] = {"email": CONSOLE_EMAIL, "password": password}
        record.touch(mode=FILE_MODE)  # open_store made the folder private
        record.write_text(json.dumps(created, indent=2))
    lines = usage_lines(
        created,
        host=host,
        http_port=http_port,
        hardware_port=hardware_port,
        mqtt_port=mqtt_port,
    )
    for line in lines:
        typer.echo(line)
