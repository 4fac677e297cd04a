"""``pinbase edgent``: Blynk.Edgent devices (device-lifecycle.md §2; docs/edgent-provisioning.md).

``provision`` runs ``services.edgent_provisioning`` on a laptop that talks to a Pinbase server
through the Platform API and to the device through its access point; this module parses the
options, shows each step with Rich and turns a failure into one line and exit code 1 (2 for
options that can never work). ``patch-firmware`` writes a copy of a firmware file whose
``blnkopt`` block ``domain.edgent_firmware`` filled (§2.6).
"""

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, NoReturn

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.prompt import Prompt
from rich.table import Table

from pinbase.cli.startup import EXIT_CONFIGURATION, EXIT_FAILURE, failures_reported
from pinbase.domain.edgent import WifiNetwork
from pinbase.domain.edgent_firmware import patch_firmware
from pinbase.services.clock import system_clock
from pinbase.services.edgent_clients import AccessPointClient, EdgentError, PlatformClient
from pinbase.services.edgent_provisioning import STEPS, ProvisionRequest, check_request, provision

edgent_app = typer.Typer(
    help="Blynk.Edgent devices: Wi-Fi provisioning, pre-provisioned firmware.",
    no_args_is_help=True,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

DEFAULT_AP_URL = "http://192.168.4.1"
"""Edgent's access point address (§2.2)."""
FALLBACK_AP_URL = "http://blynk.setup"
"""The name Edgent's DNS answers with its address (§2.2); tried after the default address."""
DEFAULT_DEVICE_PORT = 8441
"""Pinbase's binary-protocol TLS port (docs/tls.md); Edgent connects only over TLS (§2.8)."""
EXIT_INTERRUPTED = 130


@edgent_app.command("provision")
def provision_command(
    template: Annotated[
        str, typer.Option("--template", help="Template id (TMPL…) the device's firmware has.")
    ],
    server: Annotated[
        str,
        typer.Option(
            "--server", envvar="EDGENT_SERVER", help="Pinbase URL, e.g. https://pinbase.lan."
        ),
    ],
    client_id: Annotated[
        str,
        typer.Option("--client-id", envvar="EDGENT_CLIENT_ID", help="OAuth client id."),
    ],
    client_secret: Annotated[
        str,
        typer.Option("--client-secret", envvar="EDGENT_CLIENT_SECRET", help="OAuth client secret."),
    ],
    name: Annotated[str | None, typer.Option("--name", help="Name of the new device.")] = None,
    device: Annotated[
        int | None,
        typer.Option("--device", help="Id of an existing device to provision again instead."),
    ] = None,
    wifi_ssid: Annotated[
        str | None,
        typer.Option("--wifi-ssid", help="Wi-Fi network for the device; default: pick one."),
    ] = None,
    wifi_pass: Annotated[
        str | None,
        typer.Option(
            "--wifi-pass", envvar="EDGENT_WIFI_PASS", help="Its password; default: asked."
        ),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(
            "--host", help="Server name the device dials (≤ 33 chars); default: --server's."
        ),
    ] = None,
    port: Annotated[
        int, typer.Option("--port", help="Binary-protocol TLS port the device dials.")
    ] = DEFAULT_DEVICE_PORT,
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="Owner's e-mail or user id; default: the first Admin."),
    ] = None,
    ap_url: Annotated[
        str,
        typer.Option("--ap-url", help=f"The device's access point (then {FALLBACK_AP_URL})."),
    ] = DEFAULT_AP_URL,
    ap_timeout: Annotated[
        float, typer.Option("--ap-timeout", help="Seconds to wait for the access point.")
    ] = 300,
    online_timeout: Annotated[
        float, typer.Option("--online-timeout", help="Seconds to wait for the device online.")
    ] = 120,
) -> None:
    """Create a device from its template (or take --device) and send the board Wi-Fi, token and
    server (§2.9): start on the normal network, join the board's access point when told, then
    rejoin the normal network."""
    server_url = _http_url(server, "--server")
    ap_urls: tuple[str, ...] = (_http_url(ap_url, "--ap-url"),)
    if ap_url == DEFAULT_AP_URL:
        ap_urls += (FALLBACK_AP_URL,)
    request = ProvisionRequest(
        server_url=server_url,
        client_id=client_id,
        client_secret=client_secret,
        template=template,
        name=name,
        device_id=device,
        host=host if host is not None else httpx.URL(server_url).host,
        port=port,
        owner=owner,
        ssid=wifi_ssid,
        password=wifi_pass,
        ap_urls=ap_urls,
        ap_wait_s=max(ap_timeout, 0),
        online_wait_s=max(online_timeout, 0),
    )
    try:
        check_request(request)
    except EdgentError as error:
        _fail(str(error), EXIT_CONFIGURATION)
    platform = PlatformClient(server_url, client_id=client_id, client_secret=client_secret)
    access_point = AccessPointClient(ap_urls)
    with failures_reported():  # anything unforeseen is one line too, never a traceback
        try:
            provision(
                request,
                platform=platform,
                access_point=access_point,
                report=_RichReport(),
                clock=system_clock,
                sleep=time.sleep,
            )
        except EdgentError as error:
            _fail(str(error), EXIT_FAILURE)
        except KeyboardInterrupt:
            _fail("interrupted", EXIT_INTERRUPTED)
        finally:
            platform.close()
            access_point.close()


@edgent_app.command("patch-firmware")
def patch_firmware_command(
    firmware: Annotated[Path, typer.Argument(help="Edgent firmware image (.bin).")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The patched image to write (a new file).")
    ],
    token: Annotated[
        str, typer.Option("--token", envvar="EDGENT_TOKEN", help="The device's token.")
    ],
    wifi_ssid: Annotated[str, typer.Option("--wifi-ssid", help="Wi-Fi network to join.")],
    host: Annotated[str, typer.Option("--host", help="Server name to dial (≤ 33 chars).")],
    wifi_pass: Annotated[
        str, typer.Option("--wifi-pass", envvar="EDGENT_WIFI_PASS", help="Its password.")
    ] = "",
    port: Annotated[
        int, typer.Option("--port", help="Binary-protocol TLS port to dial.")
    ] = DEFAULT_DEVICE_PORT,
) -> None:
    """Write a copy of FIRMWARE whose blnkopt block holds Wi-Fi, token and server (§2.6): the
    board connects on its first boot, without its access point."""
    with failures_reported():
        try:
            image = firmware.read_bytes()
        except OSError as error:
            _fail(f"cannot read {firmware}: {error.strerror}", EXIT_FAILURE)
        try:
            patched = patch_firmware(
                image, ssid=wifi_ssid, password=wifi_pass, token=token, host=host, port=port
            )
        except ValueError as error:
            _fail(f"{firmware}: {error}", EXIT_FAILURE)
        try:
            with output.open("xb") as written:  # never replaces a file, the input included
                written.write(patched.image)
        except OSError as error:
            _fail(f"cannot write {output}: {error.strerror}", EXIT_FAILURE)
    block = patched.block
    out.print(
        f"patched the blnkopt block at offset {block.offset:#x} ({block.capacity} bytes; "
        f"it was host {block.values.get('host', '?')}, port {block.values.get('port', '?')}): "
        f"Wi-Fi {wifi_ssid!r}, server {host}:{port}",
        markup=False,
    )
    if patched.esp32_image_at is None:
        out.print(
            "no ESP32 application image holds the block: no checksum was updated "
            "(ESP8266 and other formats are written as they are)",
            markup=False,
        )
    else:
        out.print(
            f"updated the checksum and SHA-256 of the ESP32 image at offset "
            f"{patched.esp32_image_at:#x}",
            markup=False,
        )
    out.print(f"wrote {output} ({len(patched.image)} bytes, as long as {firmware})", markup=False)


def _http_url(url: str, option: str) -> str:
    """``url`` without a trailing slash; exits 2 unless it is an http(s) URL with a host."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        _fail(f"{option} must be an http:// or https:// URL, not {url!r}", EXIT_CONFIGURATION)
    return url.rstrip("/")


def _fail(line: str, code: int) -> NoReturn:
    """One line on standard error and exit ``code`` (SystemExit: ``failures_reported`` would
    take click's ``Exit``, a RuntimeError, for an unexpected error)."""
    err.print(f"pinbase: {line}", markup=False)
    raise SystemExit(code)


class _RichReport:
    """The steps on standard output; questions on the terminal (or standard input)."""

    def step(self, number: int, text: str) -> None:
        out.print(f"[bold][{number}/{STEPS}][/bold] {escape(text)}")

    def detail(self, text: str) -> None:
        out.print(f"      {text}", markup=False)

    def networks(self, found: Sequence[WifiNetwork]) -> None:
        table = Table("#", "Network", "Signal", "Security", "Channel", title="Wi-Fi networks")
        for number, network in enumerate(found, start=1):
            table.add_row(
                str(number),
                escape(network.ssid),
                f"{network.rssi} dBm",
                escape(network.sec),
                str(network.ch),
            )
        out.print(table)

    def choose_network(self, found: Sequence[WifiNetwork]) -> str:
        answer = self._ask("Network for the device (number or name)", hide=False).strip()
        if answer.isdecimal() and 1 <= int(answer) <= len(found):
            return found[int(answer) - 1].ssid
        if not answer:
            raise EdgentError("no Wi-Fi network chosen: give --wifi-ssid")
        return answer

    def ask_password(self, ssid: str) -> str:
        return self._ask(f"Password of {ssid}", hide=True)

    @staticmethod
    def _ask(question: str, *, hide: bool) -> str:
        """A line from the terminal or standard input; the question goes to standard error,
        so standard output holds the steps only."""
        try:
            hidden = hide and sys.stdin.isatty()  # getpass warns on a pipe, which echoes nothing
            return Prompt.ask(
                question, console=err, password=hidden, default="", show_default=False
            )
        except EOFError:
            raise EdgentError(
                "no answer on standard input: give --wifi-ssid and --wifi-pass"
            ) from None
